"""Grafana dashboards as code: committed JSON up to date, queries only use the contract.

The committed JSON in grafana/dashboards/ is what Grafana loads; grafana/dashboards.py generates
it. Every panel query may only use metric names and labels of CONTRACT.md §4 (kept below as
CONTRACT_METRICS), so a renamed metric or label breaks this test before it blanks a board.
Whether each query returns data is checked end to end against a real Prometheus elsewhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.scripts import load
from tests.unit.conftest import SHIPPED_POLICY

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"


dashboards = load("grafana/dashboards.py")
panel_queries = load("grafana/panel_queries.py")

# CONTRACT.md §4: metric → labels. Histograms are listed by base name (`_bucket` adds `le`).
CONTRACT_METRICS: dict[str, frozenset[str]] = {
    name: frozenset(labels)
    for name, labels in {
        # live state
        "support_tickets_open": ("channel", "priority", "queue"),
        "support_tickets_awaiting_first_response": ("channel", "priority", "queue"),
        "support_chat_queue_waiting": ("queue",),
        "support_chat_queue_oldest_wait_seconds": ("queue",),
        "support_chats_active": ("queue",),
        "support_sla_at_risk": ("channel", "priority", "target", "queue"),
        "support_sla_breached_open": ("channel", "priority", "target", "queue"),
        "support_agents": ("queue", "status"),
        "support_agent_chat_capacity": ("queue",),
        # counters
        "support_events_total": ("stream", "type"),
        "support_events_rejected_total": ("reason",),
        "support_events_late_total": ("stream",),
        "support_tickets_created_total": ("channel", "priority"),
        "support_tickets_solved_total": ("channel", "priority"),
        "support_tickets_solved_one_touch_total": ("channel", "priority"),
        "support_chats_requested_total": ("queue",),
        "support_chats_missed_total": ("queue",),
        "support_sla_breaches_total": ("channel", "priority", "target"),
        "support_csat_responses_total": ("channel", "score"),
        "support_ces_responses_total": ("channel", "score"),
        "support_replies_total": ("channel", "author", "template"),
        "support_resolutions_total": ("channel", "resolver"),
        "support_campaign_shown_total": (),
        "support_campaign_chats_total": (),
        "support_selfservice_sessions_total": ("resolved",),
        "support_assisted_orders_total": ("currency",),
        "support_assisted_revenue_total": ("currency",),
        # engagement (second round)
        "support_window_orders": ("window", "segment", "guest", "currency"),
        "support_window_revenue": ("window", "segment", "currency"),
        "support_window_customers": ("window", "segment"),
        "support_window_repeat_customers": ("window", "segment"),
        "support_orders_total": ("currency", "guest"),
        "support_revenue_total": ("currency",),
        # signals
        "support_arrival_rate": ("queue", "window"),
        "support_staffing_required_agents": ("queue",),
        "support_staffing_available_agents": ("queue",),
        "support_staffing_gap_agents": ("queue",),
        "support_staffing_predicted_wait_seconds": ("queue",),
        "support_staffing_predicted_service_level_ratio": ("queue",),
        "support_volume_forecast": ("channel",),
        "support_volume_actual": ("channel",),
        "support_volume_projected": ("channel",),
        "support_sla_breaches_projected": ("queue", "horizon"),
        "support_contact_rate_ratio": (),
        # pipeline health
        "support_event_lag_seconds": ("stream",),
        "support_partitions_owned": (),
        "support_redis_up": (),
        # the webhook gateway (CONTRACT §7; dead letters are an extension)
        "support_gateway_requests_total": ("source", "code"),
        "support_gateway_events_total": ("source", "type"),
        "support_gateway_dead_letters_total": ("source", "reason"),
        "support_gateway_broker_up": (),
    }.items()
}
CONTRACT_HISTOGRAMS: dict[str, frozenset[str]] = {
    "support_first_response_seconds": frozenset({"channel", "priority"}),
    "support_response_seconds": frozenset({"channel"}),
    "support_resolution_seconds": frozenset({"channel", "priority"}),
    "support_chat_wait_seconds": frozenset({"queue"}),
    "support_gateway_request_seconds": frozenset({"source"}),
}
# Series Prometheus itself provides, and the labels it attaches to every scraped series.
PROMETHEUS_METRICS = {
    "up": frozenset({"job", "instance"}),
    "ALERTS": frozenset({"alertname", "alertstate", "severity", "team"}),
}
TARGET_LABELS = frozenset({"job", "instance"})


def allowed_labels(metric: str) -> frozenset[str] | None:
    if metric in CONTRACT_METRICS:
        return CONTRACT_METRICS[metric]
    if metric in PROMETHEUS_METRICS:
        return PROMETHEUS_METRICS[metric]
    for base, labels in CONTRACT_HISTOGRAMS.items():
        if metric == f"{base}_bucket":
            return labels | {"le"}
        if metric in (f"{base}_sum", f"{base}_count"):
            return labels
    return None


PROMQL_FUNCTIONS = {
    "sum", "max", "min", "avg", "count", "topk", "bottomk", "quantile",
    "rate", "irate", "increase", "delta", "deriv", "histogram_quantile", "label_replace",
    "clamp_max", "clamp_min", "clamp", "vector", "scalar", "abs", "round", "time",
    "max_over_time", "min_over_time", "avg_over_time", "absent",
}  # fmt: skip
PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset",
}  # fmt: skip
IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
RANGE = re.compile(r"\[[^\]]*\]")
SELECTOR = re.compile(rf"({IDENT})?\s*\{{([^}}]*)\}}")
MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\"\"")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


class Parsed:
    """The metric names, selector label matchers and grouping labels of a PromQL expression."""

    def __init__(self, expr: str) -> None:
        text = RANGE.sub("", STRING.sub('""', expr))
        self.selectors: list[tuple[str, set[str]]] = [
            (m.group(1) or "", set(MATCHER.findall(m.group(2)))) for m in SELECTOR.finditer(text)
        ]
        self.grouping: set[str] = {
            label.strip()
            for m in GROUPING.finditer(text)
            for label in m.group(2).split(",")
            if label.strip()
        }
        rest = GROUPING.sub(" ", SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text))
        self.functions: set[str] = set()
        self.metrics: set[str] = {name for name, _ in self.selectors if name}
        for m in re.finditer(rf"({IDENT})\s*(\()?", rest):
            name, call = m.group(1), m.group(2)
            if name in PROMQL_KEYWORDS or re.fullmatch(r"\d+[a-z]*", name):
                continue
            if call:
                self.functions.add(name)
            else:
                self.metrics.add(name)


def _boards() -> list[dict[str, Any]]:
    return panel_queries.load_dashboards()


def _all_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows included, and the panels inside collapsed rows (walked like panel_queries does)."""
    return list(panel_queries._panels(board["panels"]))


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in _all_panels(board) if p["type"] != "row"]


def _board(uid: str) -> dict[str, Any]:
    return next(b for b in _boards() if b["uid"] == uid)


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in _all_panels(board) if p["title"] == title)


def _column_units(panel: dict[str, Any]) -> dict[str, str]:
    """A table's refId → unit of the column its value lands in (organize renames the value
    field `Value #<refId>` to the header; an override by that header sets the unit)."""
    organize = next(t for t in panel["transformations"] if t["id"] == "organize")
    headers = organize["options"]["renameByName"]
    units = {
        o["matcher"]["options"]: p["value"]
        for o in panel["fieldConfig"]["overrides"]
        if o["matcher"]["id"] == "byName"
        for p in o["properties"]
        if p["id"] == "unit"
    }
    out = {}
    for target in panel["targets"]:
        field = f"Value #{target['refId']}" if len(panel["targets"]) > 1 else "Value"
        if field in headers:
            out[target["refId"]] = units[headers[field]]
    return out


def _exprs() -> list[tuple[str, str, str]]:
    return [
        (board["title"], panel["title"], target["expr"])
        for board in _boards()
        for panel in _panels(board)
        for target in panel.get("targets", [])
    ]


# --------------------------------------------------------------------------------------------


def test_committed_json_is_up_to_date() -> None:
    assert dashboards.stale() == [], "run: python grafana/dashboards.py --write"


def test_generation_is_deterministic() -> None:
    assert dashboards.render() == dashboards.render()


def test_four_boards_with_fixed_unique_uids() -> None:
    boards = {b["uid"]: b["title"] for b in _boards()}
    assert boards == {
        "supportpulse-live-floor": "Support Pulse / Live floor",
        "supportpulse-sla": "Support Pulse / SLA",
        "supportpulse-quality": "Support Pulse / Quality & revenue",
        "supportpulse-pipeline": "Support Pulse / Pipeline health",
    }


PER_HOUR = "suffix:/h"


def test_every_panel_has_a_prometheus_query_and_a_unit() -> None:
    for board in _boards():
        ids = [p["id"] for p in _all_panels(board)]
        assert len(ids) == len(set(ids)), board["title"]
        for panel in _panels(board):
            where = f"{board['title']} / {panel['title']}"
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, where
            targets = panel.get("targets", [])
            assert targets and all(t.get("expr", "").strip() for t in targets), where
            ref_ids = [t["refId"] for t in targets]
            assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), where
            assert panel["fieldConfig"]["defaults"].get("unit") in {
                "none", "s", "percentunit", "reqps", PER_HOUR,
            }, where  # fmt: skip
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, where


def _expected_unit(expr: str) -> str | None:
    if "histogram_quantile" in expr or re.match(r"^max(?: by \(\w+\))? \(\w+_seconds\{?", expr):
        return "s"
    if expr.startswith("100 *"):  # customer effort score: percentage points, -100..100
        return "none"
    # Quotients of two different quantities are plain numbers, not shares: average order value
    # (revenue ÷ orders) and purchase frequency (orders ÷ customers).
    if re.fullmatch(r"sum by \([\w, ]+\) \(support_window_(revenue|orders)\) / \(.* > 0\)", expr):
        return "none"
    if "_ratio" in expr or " > 0)" in expr:  # shares built with `share()`
        return "percentunit"
    if re.match(r"^sum(?: by \([\w, ]+\))? \(rate\(", expr):
        return "reqps"
    # Counts in the trailing hour, and per-second rates scaled to an hour: per hour, not req/s.
    if re.fullmatch(r"sum(?: by \([\w, ]+\))? \(increase\([^\[]+\[1h\]\)\)", expr):
        return PER_HOUR
    if expr.startswith("3600 * "):
        return PER_HOUR
    return None


def test_units_match_what_is_measured() -> None:
    checked = 0
    for board in _boards():
        for panel in _panels(board):
            if panel["type"] == "table":  # each value column has its own unit
                columns = _column_units(panel)
                for target in panel["targets"]:
                    expected = _expected_unit(target["expr"])
                    if expected and target["refId"] in columns:
                        checked += 1
                        assert columns[target["refId"]] == expected, (panel["title"], target)
                continue
            units = {_expected_unit(t["expr"]) for t in panel["targets"]} - {None}
            if units:
                checked += 1
                assert units == {panel["fieldConfig"]["defaults"]["unit"]}, panel["title"]
    assert checked >= 25


def test_nothing_counted_per_hour_is_shown_per_second() -> None:
    for board in _boards():
        for panel in _panels(board):
            if "per hour" in panel["title"].lower():
                assert panel["fieldConfig"]["defaults"]["unit"] == PER_HOUR, panel["title"]


def test_queries_use_only_contract_metrics_and_labels() -> None:
    all_labels = frozenset().union(
        *CONTRACT_METRICS.values(), *CONTRACT_HISTOGRAMS.values(), TARGET_LABELS, {"le"}
    )
    for board, panel, expr in _exprs():
        where = f"{board} / {panel}: {expr}"
        parsed = Parsed(expr)
        assert parsed.metrics, where
        assert parsed.functions <= PROMQL_FUNCTIONS, where
        for metric in parsed.metrics:
            assert allowed_labels(metric) is not None, f"unknown metric {metric!r} in {where}"
        for metric, labels in parsed.selectors:
            allowed = allowed_labels(metric)
            # Prometheus' target labels (job, instance) may select too: a shared Prometheus.
            assert allowed is not None and labels <= allowed | TARGET_LABELS, (
                f"{metric} {labels} in {where}"
            )
        in_scope = frozenset().union(*(allowed_labels(m) or () for m in parsed.metrics))
        assert parsed.grouping <= in_scope | TARGET_LABELS, where
        assert parsed.grouping <= all_labels, where


def test_parser_catches_unknown_names() -> None:
    parsed = Parsed('sum by (queue) (rate(support_chats_missed{queue=~"$queue"}[5m]))')
    assert parsed.metrics == {"support_chats_missed"}
    assert allowed_labels("support_chats_missed") is None
    assert Parsed('sum by (agent_id) (support_agents{agent="x"})').grouping == {"agent_id"}
    assert Parsed('support_agents{agent="x"}').selectors == [("support_agents", {"agent"})]


def test_variables_queue_and_channel_where_they_filter() -> None:
    for board in _boards():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        used = json.dumps(board["panels"])
        # Shown exactly where a panel uses it: a filter that filters nothing misleads.
        assert set(variables) == {n for n in ("queue", "channel") if f"${n}" in used}, (
            board["title"])
        if board["uid"] != "supportpulse-pipeline":
            assert set(variables) == {"queue", "channel"}, board["title"]
        for name in variables:
            var = variables[name]
            assert var["type"] == "query"
            assert var["multi"] is True and var["includeAll"] is True
            assert var["allValue"] == ".*"
            assert var["datasource"]["uid"] == "prometheus"
            match = re.fullmatch(rf"label_values\(({IDENT}), {name}\)", var["query"])
            assert match, var["query"]
            assert name in (allowed_labels(match.group(1)) or ()), var["query"]


def test_variables_filter_every_selector_of_a_metric_with_that_label() -> None:
    # Unless the panel says it ignores the variable (SLA compliance: breaches have no queue).
    ignoring = {(board["title"], panel["title"]): {
        name for name in ("queue", "channel") if f"Ignores ${name}" in panel.get("description", "")
    } for board in _boards() for panel in _panels(board)}
    for board, panel, expr in _exprs():
        exempt = ignoring[(board, panel)]
        for metric, labels in Parsed(expr).selectors:
            for name in ("queue", "channel"):
                if name in exempt:
                    continue
                if name in (allowed_labels(metric) or ()):
                    assert f'{name}=~"${name}"' in expr and name in labels, (
                        f"{board} / {panel}: {metric} not filtered by ${name}"
                    )
        for metric in Parsed(expr).metrics:
            for name in ("queue", "channel"):
                if name in (allowed_labels(metric) or ()) and name not in exempt:
                    assert re.search(rf"{metric}\{{[^}}]*{name}=~\"\${name}\"", expr), (
                        f"{board} / {panel}: {metric} not filtered by ${name}"
                    )


def test_each_variable_is_used_somewhere() -> None:
    exprs = " ".join(expr for _, _, expr in _exprs())
    assert '=~"$queue"' in exprs and '=~"$channel"' in exprs


def test_alert_annotations_on_every_board() -> None:
    for board in _boards():
        annotations = [
            a
            for a in board["annotations"]["list"]
            if a.get("expr") == 'ALERTS{alertstate="firing"}'
        ]
        assert len(annotations) == 1, board["title"]
        annotation = annotations[0]
        assert annotation["enable"] is True
        assert annotation["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        assert annotation["titleFormat"] == "{{alertname}}"


def test_required_panels_present() -> None:
    by_board = {
        b["uid"]: " ".join(t["expr"] for p in _panels(b) for t in p["targets"]) for b in _boards()
    }
    live = by_board["supportpulse-live-floor"]
    for needle in (
        'sum by (queue) (support_chat_queue_waiting{queue=~"$queue"})',
        'max by (queue) (support_chat_queue_oldest_wait_seconds{queue=~"$queue"})',
        "support_chats_active", "support_tickets_open", "support_tickets_awaiting_first_response",
        "support_agents", "support_agent_chat_capacity",
        "max by (queue) (support_staffing_required_agents",
        "max by (queue) (support_staffing_available_agents",
        "max by (queue) (support_staffing_gap_agents",
        "support_volume_actual", "support_volume_forecast", "support_volume_projected",
        'support_arrival_rate{queue=~"$queue",window="5m"}',
        "support_tickets_created_total",
    ):  # fmt: skip
        assert needle in live, needle
    sla = by_board["supportpulse-sla"]
    for needle in (
        "support_sla_at_risk", "support_sla_breached_open", "support_sla_breaches_total",
        "histogram_quantile(0.5, sum by (channel, le) (rate(support_first_response_seconds_bucket",
        "histogram_quantile(0.9, sum by (channel, le) (rate(support_first_response_seconds_bucket",
        "histogram_quantile(0.9, sum by (channel, le) (rate(support_resolution_seconds_bucket",
        "histogram_quantile(0.9, sum by (queue, le) (rate(support_chat_wait_seconds_bucket",
        "support_sla_breaches_projected",
    ):  # fmt: skip
        assert needle in sla, needle
    quality = by_board["supportpulse-quality"]
    for needle in (
        'score=~"4|5"', 'score="1"', 'score="5"', "support_tickets_solved_one_touch_total",
        'resolver=~"bot|self_service"', 'resolved="yes"', 'template="yes"',
        "support_campaign_chats_total", "support_assisted_orders_total",
        "support_assisted_revenue_total", "support_contact_rate_ratio",
        "sum by (window, segment, currency) (support_window_revenue)",
        "sum by (window, segment) (support_window_repeat_customers)",
        "sum by (window, segment) (support_window_customers)",
        'support_window_orders{guest="yes"}',
    ):  # fmt: skip
        assert needle in quality, needle
    pipeline = by_board["supportpulse-pipeline"]
    for needle in (
        "sum by (stream, type) (rate(support_events_total", "support_events_rejected_total",
        "support_events_late_total", "support_event_lag_seconds", "support_partitions_owned",
        "support_redis_up", '(up{job=~"supportpulse|supportpulse-gateway"})',
    ):  # fmt: skip
        assert needle in pipeline, needle


def test_panel_queries_substitute_every_variable() -> None:
    queries = panel_queries.panel_queries(rate_interval="30s", range_="15m")
    assert len(queries) == len(_exprs())
    for q in queries:
        assert re.sub(r'"\$\d+"', "", q.expr).count("$") == 0, q.expr
        assert "[30s]" in q.expr or "$__rate_interval" not in q.raw_expr
        assert "[15m]" in q.expr or "$__range" not in q.raw_expr
    assert panel_queries.substitute('x{queue=~"$queue"}') == 'x{queue=~".*"}'
    assert panel_queries.substitute('x{queue=~"${queue}"}', queue="(a|b)") == 'x{queue=~"(a|b)"}'
    with pytest.raises(ValueError, match="unknown variable"):
        panel_queries.substitute("x[$__interval]")


def test_panel_count_per_board() -> None:
    counts = {b["uid"]: len(_panels(b)) for b in _boards()}
    assert all(n >= 8 for n in counts.values()), counts


def test_provisioning_points_at_the_dashboards() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )
    prometheus = [d for d in datasources["datasources"] if d["type"] == "prometheus"]
    assert [d["uid"] for d in prometheus] == ["prometheus"]
    assert prometheus[0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (GRAFANA / "provisioning/dashboards/supportpulse.yml").read_text(encoding="utf-8")
    )
    paths = [p["options"]["path"] for p in providers["providers"]]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = {
        target: source
        for volume in compose["services"]["grafana"]["volumes"]
        for source, target, *_ in [volume.split(":")]
    }
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert [mounts[p] for p in paths] == ["./grafana/dashboards"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_parses_every_query(tmp_path: Path) -> None:
    """Syntax only: each query (variables substituted) as a recording rule for promtool."""
    queries = [q.expr for q in panel_queries.panel_queries()]
    queries += [expr for _, _, expr in panel_queries.annotation_queries()]
    rules = [{"record": f"grafana:panel_{i}:query", "expr": e} for i, e in enumerate(queries)]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", "--lint=none", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_json_is_valid_and_sorted() -> None:
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert (
            text
            == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        )


def test_panel_ids_are_explicit_and_unique_per_board() -> None:
    # Alert rules link to panels by id (deploy/prometheus/rules/alerts.yml `dashboard`). Every
    # panel, collapsed rows' panels included, has the id PANEL_IDS gives its title, and no two
    # panels of a board share one.
    for uid, ids in dashboards.PANEL_IDS.items():
        assert len(set(ids.values())) == len(ids), uid
    for path in (GRAFANA / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        expected = dashboards.PANEL_IDS[board["uid"]]
        panels = _all_panels(board)
        assert len({p["id"] for p in panels}) == len(panels), path.name
        assert {p["title"]: p["id"] for p in panels} == expected, path.name


def test_retired_panel_ids_are_never_reused() -> None:
    for uid, retired in dashboards.RETIRED_PANEL_IDS.items():
        live = dashboards.PANEL_IDS[uid]
        assert not set(retired) & set(live.values()), uid
        assert not set(retired.values()) & set(live), f"{uid}: a retired title is back"
    # Numbers run without holes: each id is either in use or retired.
    for uid, live in dashboards.PANEL_IDS.items():
        taken = set(live.values()) | set(dashboards.RETIRED_PANEL_IDS.get(uid, {}))
        assert taken == set(range(1, max(taken) + 1)), uid


# --------------------------------------------------------------------------------------------
# The live floor is a wallboard (a 1080p TV in kiosk mode shows about 24-28 grid rows).

LIVE_FLOOR = "supportpulse-live-floor"
FIRST_SCREEN_ROWS = 24
STATS = (
    "Chats waiting", "Longest wait", "Chat service level (30m)", "Abandoned (15m)",
    "Agents short", "Breaches projected (30m)", "At risk now (urgent + high)",
    "Breached open (urgent + high)",
)  # fmt: skip
FIRST_SCREEN = (*STATS, "Queues", "Firing floor alerts", "Tickets by channel",
                "Created vs solved per hour", "Volume vs forecast (current hour)")


def test_live_floor_first_screen_fits_a_tv() -> None:
    board = _board(LIVE_FLOOR)
    top = {p["title"]: p for p in board["panels"]}
    for title in FIRST_SCREEN:
        grid = top[title]["gridPos"]  # on the board itself, not inside a row
        assert grid["y"] + grid["h"] <= FIRST_SCREEN_ROWS, (title, grid)
    # The eight stats side by side in one row at the top.
    stats = [top[title] for title in STATS]
    assert [p["type"] for p in stats] == ["stat"] * 8
    assert {p["gridPos"]["y"] for p in stats} == {0}
    assert sum(p["gridPos"]["w"] for p in stats) == 24
    assert top["Queues"]["type"] == "table"
    # Nothing else on the first screen; the rest waits in collapsed rows below it.
    for panel in board["panels"]:
        if panel["title"] not in FIRST_SCREEN:
            assert panel["type"] == "row" and panel["collapsed"] is True, panel["title"]
            assert panel["gridPos"]["y"] >= FIRST_SCREEN_ROWS, panel["title"]
    assert sum(len(p.get("panels", [])) for p in board["panels"] if p["type"] == "row") >= 9


def _seconds(interval: str) -> float:
    match = re.fullmatch(r"(\d+)([smh])", interval)
    assert match, interval
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def test_refresh_and_time_range() -> None:
    for board in _boards():
        if board["uid"] == LIVE_FLOOR:
            assert _seconds(board["refresh"]) <= 15
            assert board["time"] == {"from": "now-3h", "to": "now"}
        else:
            assert board["refresh"] == "1m", board["title"]
            assert board["time"] == {"from": "now-6h", "to": "now"}, board["title"]
        assert board["refresh"] in board["timepicker"]["refresh_intervals"], board["title"]


def _alert_condition(alert: str, after: str = "") -> tuple[str, float]:
    """Read from the rules file independently of grafana/dashboards.py."""
    rules = yaml.safe_load(dashboards.ALERT_RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                expr = " ".join(rule["expr"].split())
                # The comparison right after `after`, else the one the expression ends with.
                match = (
                    re.match(r" (>=|>) ([0-9.]+)", expr.split(after, 1)[1]) if after
                    else re.search(r" (>=|>) ([0-9.]+)$", expr)
                )
                assert match, (alert, expr)
                return match.group(1), float(match.group(2))
    raise KeyError(alert)


def _red_from(thresholds: dict[str, Any]) -> float:
    reds = [s["value"] for s in thresholds["steps"] if s["color"] == "red"]
    assert len(reds) == 1, thresholds
    return float(reds[0])


def _column_thresholds(panel: dict[str, Any], header: str) -> dict[str, Any]:
    return next(
        p["value"]
        for o in panel["fieldConfig"]["overrides"]
        if o["matcher"] == {"id": "byName", "options": header}
        for p in o["properties"]
        if p["id"] == "thresholds"
    )


# Panel (or table column) → the alert whose threshold it mirrors, the text before the
# comparison when the alert has several, and whether the value is a whole number (a count).
MIRRORS: dict[tuple[str, str | None], tuple[str, str, bool]] = {
    ("Longest wait", None): ("ChatWaitOverTarget", "", False),
    ("Abandoned (15m)", None): ("MissedChats", "queue:support_chats_missed:ratio_rate15m", False),
    ("Agents short", None): ("StaffingGap", "", True),
    ("Breaches projected (30m)", None): ("BreachesProjected", "", True),
    ("At risk now (urgent + high)", None): ("SLABreachImminent", "", True),
    ("Breached open (urgent + high)", None): ("SLABreached", "", True),
    ("Queues", "Oldest wait"): ("ChatWaitOverTarget", "", False),
    ("Queues", "Gap"): ("StaffingGap", "", True),
    ("Queues", "Missed 15m"): ("MissedChats", "queue:support_chats_missed:increase15m", True),
    ("Queues", "Breaches 30m"): ("BreachesProjected", "", True),
}


def test_thresholds_equal_the_alert_thresholds_they_mirror() -> None:
    # Red from the first value that fires the alert: `> 120` (seconds) → 120; `>= 1` → 1;
    # `> 0` on a count → 1 (Grafana colours values at or above a step).
    board = _board(LIVE_FLOOR)
    for (title, column), (alert, after, whole) in MIRRORS.items():
        op, value = _alert_condition(alert, after)
        expected = value + 1 if op == ">" and whole else value
        panel = _panel(board, title)
        thresholds = (
            _column_thresholds(panel, column) if column
            else panel["fieldConfig"]["defaults"]["thresholds"]
        )
        assert _red_from(thresholds) == expected, (title, column, alert)
    # The longest wait turns yellow at 90 s, before the alert.
    steps = _panel(board, "Longest wait")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert {"color": "yellow", "value": 90} in steps


def test_chat_service_level_counts_within_the_chat_target() -> None:
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from stream.domain.durations import parse_duration
    from stream.metrics import CHAT_WAIT_BUCKETS

    policy = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    chat = next(p for p in policy["policies"] if p["name"] == "chat")
    target = parse_duration(chat["targets"]["first_response"])
    assert target == dashboards.CHAT_TARGET_SECONDS == _alert_condition("ChatWaitOverTarget")[1]
    assert target in CHAT_WAIT_BUCKETS  # else no bucket counts "within target"
    # The bound as the worker's prometheus_client writes it (le="120.0"): a label matcher that
    # differs by a ".0" matches nothing, and the service level would silently read 0 %.
    registry = CollectorRegistry()
    Histogram("wait_seconds", "", buckets=CHAT_WAIT_BUCKETS, registry=registry).observe(1)
    le = f'le="{float(target)}"'
    assert le in generate_latest(registry).decode()
    expr = _panel(_board(LIVE_FLOOR), "Chat service level (30m)")["targets"][0]["expr"]
    assert f'support_chat_wait_seconds_bucket{{queue=~"$queue",{le}}}[30m]' in expr
    assert "support_chat_wait_seconds_count" in expr and "support_chats_missed_total" in expr


def test_live_floor_tables_merge_instant_queries_by_label() -> None:
    board = _board(LIVE_FLOOR)
    for title, label in (("Queues", "queue"), ("Tickets by channel", "channel")):
        panel = _panel(board, title)
        assert all(t["instant"] and t["format"] == "table" for t in panel["targets"]), title
        assert panel["transformations"][0]["id"] == "merge", title
        for target in panel["targets"]:
            assert f"by ({label})" in target["expr"], (title, target["expr"])
    queues = _panel(board, "Queues")
    links = [
        p["value"]
        for o in queues["fieldConfig"]["overrides"]
        for p in o["properties"]
        if p["id"] == "links"
    ]
    assert links and links[0][0]["url"].startswith(
        "/d/supportpulse-sla?var-queue=${__data.fields.queue}"
    )
    # Coloured cells: every column with thresholds has a colour-background cell.
    for override in queues["fieldConfig"]["overrides"]:
        ids = {p["id"] for p in override["properties"]}
        if "thresholds" in ids:
            assert "custom.cellOptions" in ids, override["matcher"]
    alerts = _panel(board, "Firing floor alerts")
    assert alerts["targets"][0]["expr"] == 'ALERTS{alertstate="firing",team="floor"}'


def test_all_zero_series_are_hidden_by_grafana_not_by_promql() -> None:
    board = _board(LIVE_FLOOR)
    for title in ("Open tickets and awaiting first response by channel",
                  "Arrivals vs forecast and projection (current hour)"):
        panel = _panel(board, title)
        matchers = [o["matcher"] for o in panel["fieldConfig"]["overrides"]]
        assert {"id": "byValue",
                "options": {"reducer": "allIsZero", "op": "gte", "value": 0}} in matchers, title
        assert all(" > 0" not in t["expr"] for t in panel["targets"]), title


def test_trends_repeat_per_queue() -> None:
    rows = [p for p in _board(LIVE_FLOOR)["panels"] if p["type"] == "row"]
    per_queue = [r for r in rows if r.get("repeat") == "queue"]
    assert per_queue and all("$queue" in r["title"] for r in per_queue)
    for row in per_queue:
        for panel in row["panels"]:
            assert all('queue=~"$queue"' in t["expr"] for t in panel["targets"]), panel["title"]


def test_a_panel_that_ignores_a_variable_really_does() -> None:
    for board in _boards():
        for panel in _panels(board):
            if "Ignores $queue" in panel.get("description", ""):
                for target in panel["targets"]:
                    assert "$queue" not in target["expr"], (board["title"], panel["title"])
