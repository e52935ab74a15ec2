"""`supportpulse` command line (CONTRACT §6): the entry point and the list of commands.

`--json` output goes to stdout as one JSON document; errors go to stderr with a non-zero exit
(`stream.cli.output`). Each command lives with its subject and imports what it runs inside its
body, so `--help` and the quick commands do not pay for faust.
"""

from __future__ import annotations

import typer

from stream.cli import check_config, running, sla, staffing, traffic, webhooks, worker_views

app = typer.Typer(
    name="supportpulse",
    help="Real-time monitor for e-commerce customer support.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The order of `supportpulse --help`.
app.command()(running.worker)
app.command()(running.demo)
app.command()(traffic.simulate)
app.command()(traffic.produce)
app.add_typer(sla.sla_app, name="sla")
app.command("at-risk")(worker_views.at_risk)
app.command()(worker_views.agents)
app.command()(worker_views.top)
app.command()(staffing.staffing)
app.command()(webhooks.gateway)
app.command()(webhooks.translate)
app.command("check-config")(check_config.check_config)


def main() -> None:
    app()
