"""Every panel query of the committed dashboards, ready to run against a real Prometheus.

Standard library only, so an end-to-end test can use it without grafana-foundation-sdk. It reads
the committed `grafana/dashboards/*.json` (what Grafana actually loads; the unit test keeps them
equal to `grafana/dashboards.py`'s output) and replaces the dashboard variables the way Grafana
would with every variable at "All":

    $queue, $channel      → .*     (the variables' custom all-value; used as `=~"$queue"`)
    $__rate_interval      → rate_interval (default 1m; choose ≥ 4 × the scrape interval)
    $__range              → range_ (default 1h; the dashboard time range of the stat panels)

Use from a test (the `grafana/` directory is not a package):

    import importlib.util, pathlib
    path = pathlib.Path("grafana/panel_queries.py")
    spec = importlib.util.spec_from_file_location("panel_queries", path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    for q in mod.panel_queries(rate_interval="30s"):
        ...  # GET /api/v1/query?query=q.expr, assert data.result is not empty

or list them: `python grafana/panel_queries.py [--rate-interval 30s] [--range 15m]`.

Counters only exist after their first increment: a query over `support_events_rejected_total`,
`support_events_late_total`, `support_chats_missed_total`, `support_sla_breaches_total`,
`support_campaign_*`, `support_selfservice_sessions_total` or `support_assisted_*` returns data only
when the scenario produced such an event. Range functions also need two samples inside the window.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"

ALL = ".*"
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


class PanelQuery(NamedTuple):
    dashboard: str  # dashboard title
    uid: str  # dashboard uid
    panel: str  # panel title
    ref_id: str
    expr: str  # variables substituted
    raw_expr: str  # as stored in the dashboard
    instant: bool  # the panel asks for an instant (stat, bar gauge, pie) rather than a range


def substitute(
    expr: str,
    *,
    queue: str = ALL,
    channel: str = ALL,
    rate_interval: str = "1m",
    range_: str = "1h",
) -> str:
    """Replace the dashboard and Grafana built-in variables; raise on any other `$var`."""
    values = {
        "queue": queue,
        "channel": channel,
        "__rate_interval": rate_interval,
        "__range": range_,
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name.isdigit():  # a label_replace capture group such as "$1", not a variable
            return match.group(0)
        if name not in values:
            raise ValueError(f"unknown variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def _panels(panels: list[dict[str, object]]) -> Iterator[dict[str, object]]:
    for panel in panels:
        yield panel
        nested = panel.get("panels")  # collapsed rows keep their panels inside
        if isinstance(nested, list):
            yield from _panels(nested)


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> list[dict[str, object]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def panel_queries(
    directory: Path = DASHBOARDS_DIR,
    *,
    queue: str = ALL,
    channel: str = ALL,
    rate_interval: str = "1m",
    range_: str = "1h",
) -> list[PanelQuery]:
    """(dashboard, panel title, expr) for every target of every panel, variables substituted."""
    out: list[PanelQuery] = []
    for board in load_dashboards(directory):
        panels = board.get("panels", [])
        assert isinstance(panels, list)
        for panel in _panels(panels):
            targets = panel.get("targets") or []
            assert isinstance(targets, list)
            for target in targets:
                raw = target.get("expr", "")
                out.append(
                    PanelQuery(
                        dashboard=str(board["title"]),
                        uid=str(board["uid"]),
                        panel=str(panel.get("title", "")),
                        ref_id=str(target.get("refId", "")),
                        expr=substitute(
                            raw,
                            queue=queue,
                            channel=channel,
                            rate_interval=rate_interval,
                            range_=range_,
                        ),
                        raw_expr=raw,
                        instant=bool(target.get("instant", False)),
                    )
                )
    return out


def annotation_queries(directory: Path = DASHBOARDS_DIR) -> list[tuple[str, str, str]]:
    """(dashboard title, annotation name, expr) of the Prometheus annotations (firing alerts)."""
    out = []
    for board in load_dashboards(directory):
        annotations = board.get("annotations", {})
        assert isinstance(annotations, dict)
        for annotation in annotations.get("list", []):
            if annotation.get("expr"):
                out.append((str(board["title"]), annotation["name"], annotation["expr"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="List every panel query, variables substituted.")
    parser.add_argument("--rate-interval", default="1m")
    parser.add_argument("--range", dest="range_", default="1h")
    args = parser.parse_args()
    for q in panel_queries(rate_interval=args.rate_interval, range_=args.range_):
        print(f"{q.dashboard}\t{q.panel}\t{q.ref_id}\t{q.expr}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
