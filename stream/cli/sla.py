"""`supportpulse sla`: the SLA policy in force and the deadlines it gives (CONTRACT §3, §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stream.cli.output import fail, load_settings, print_json

sla_app = typer.Typer(help="SLA policy tools.", no_args_is_help=True)


def policy_in_force(path: Path | None) -> tuple[str, str]:
    """(name, text) of `path`, else of the policy the settings put in force."""
    from stream import shipped

    if path is not None:
        if not path.is_file():
            fail(f"{path}: no such file")
        return str(path), path.read_text(encoding="utf-8")
    found = shipped.source(load_settings().sla_policy_file, shipped.POLICY)
    if found is None:
        fail("SUPPORTPULSE_SLA_POLICY_FILE is none: no SLA policy in force (--policy FILE)")
    return found.name, found.text


@sla_app.command("show")
def sla_show() -> None:
    """Print the SLA policy in force (by default the shipped one): a start for your own."""
    name, text = policy_in_force(None)
    typer.echo(f"# in force: {name}", err=True)
    typer.echo(text, nl=False)


@sla_app.command("deadline")
def sla_deadline(
    channel: Annotated[str, typer.Option()],
    priority: Annotated[str, typer.Option()],
    created: Annotated[str, typer.Option(help="creation time, RFC 3339 with offset")],
    policy: Annotated[
        Path | None, typer.Option(help="SLA policy file (CONTRACT §3); default: the one in force")
    ] = None,
    queue: Annotated[str | None, typer.Option()] = None,
    request_type: Annotated[str | None, typer.Option()] = None,
    conversation: Annotated[
        str | None,
        typer.Option(help="ticket or chat (default: chat for --channel chat, else ticket; "
                          "a chat converted into a ticket is a ticket of channel chat)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The policy chosen and each target's deadline, as if the clock ran without pauses."""
    from stream.domain.events import CHANNELS, PRIORITIES, parse_timestamp
    from stream.domain.sla_clock import deadlines_for
    from stream.domain.sla_policy import (
        CONVERSATIONS,
        NoPolicyError,
        PolicyFileError,
        parse_policy_text,
    )

    if channel not in CHANNELS:
        fail(f"--channel must be one of {', '.join(CHANNELS)}")
    if priority not in PRIORITIES:
        fail(f"--priority must be one of {', '.join(PRIORITIES)}")
    if conversation is not None and conversation not in CONVERSATIONS:
        fail(f"--conversation must be one of {', '.join(CONVERSATIONS)}")
    at = parse_timestamp(created)
    if at is None:
        fail(f"--created {created!r} is not an RFC 3339 timestamp with an offset")
    try:
        book = parse_policy_text(*reversed(policy_in_force(policy)))
        chosen, deadlines = deadlines_for(
            book, channel, priority, queue, request_type, at, conversation
        )
    except PolicyFileError as exc:
        fail("\n".join(str(e) for e in exc.errors))
    except NoPolicyError as exc:
        fail(str(exc))
    stamps = {t: d.isoformat().replace("+00:00", "Z") for t, d in deadlines.items()}
    if json_output:
        print_json({"policy": chosen.name, "calendar": chosen.calendar.name, "deadlines": stamps})
        return
    typer.echo(f"policy {chosen.name} (calendar {chosen.calendar.name})")
    for target, stamp in stamps.items():
        typer.echo(f"  {target:<15} {stamp}")
