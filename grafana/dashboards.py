"""Support Pulse Grafana dashboards, built as code with grafana-foundation-sdk.

    python grafana/dashboards.py --write   # regenerate grafana/dashboards/*.json
    python grafana/dashboards.py --check   # exit 1 if the committed JSON is stale

Grafana loads the committed JSON (grafana/provisioning/dashboards/supportpulse.yml); this module
is the source of truth and `tests/unit/test_dashboards.py` fails when the two differ.

Every query is raw PromQL over the metric names of CONTRACT.md §4, not recording rules, so the
boards work against any Prometheus scraping the workers, with or without deploy/prometheus/rules.
Aggregation follows DESIGN.md: per-partition live gauges are summed across workers; stage-two
signals (staffing, arrival rate, volume, projections) have one owner per value, so `max by` shows
it without double counting a value briefly reported by two workers during a rebalance.

Dashboard template variables used inside queries: `$queue`, `$channel` (multi-select, "All" =
`.*`), plus Grafana's `$__rate_interval` and `$__range`. `grafana/panel_queries.py` lists every
panel query with those substituted, for running against a real Prometheus.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import bargauge, piechart, stat, timeseries
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
    ScaleDistributionConfig,
    StackingConfig,
    VizLegendOptions,
    VizTooltipOptions,
)
from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    QueryVariable,
    Row,
    ThresholdsConfig,
    TimePicker,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    GraphThresholdsStyleMode,
    LegendDisplayMode,
    LegendPlacement,
    ScaleDistribution,
    SortOrder,
    StackingMode,
    TooltipDisplayMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.piechart import PieChartLegendValues, PieChartType

HERE = Path(__file__).resolve().parent
OUTPUT_DIR = HERE / "dashboards"
ALERT_RULES = HERE.parent / "deploy" / "prometheus" / "rules" / "alerts.yml"

DATASOURCE_UID = "prometheus"  # fixed by grafana/provisioning/datasources/prometheus.yml
DS = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
TAG = "supportpulse"

# Variable matchers. "All" is `.*` (not Grafana's default alternation of the listed values), so a
# queue or channel that only one metric has seen is never filtered out by the selection.
Q = 'queue=~"$queue"'
C = 'channel=~"$channel"'
NOT_CHAT = 'channel!="chat"'
# Panels that do not filter by a variable say so (tests/unit/test_dashboards.py checks).
IGNORES_QUEUE = "Ignores $queue: SLA breaches carry no queue label, so this is every queue."
RATE = "$__rate_interval"
RANGE = "$__range"

ALERTS_EXPR = 'ALERTS{alertstate="firing"}'
# Only Support Pulse's own scrape jobs: a shared Prometheus scrapes many more.
UP = 'up{job=~"supportpulse|supportpulse-gateway"}'


# --------------------------------------------------------------------------------------------
# PromQL helpers
# --------------------------------------------------------------------------------------------


def sel(metric: str, *matchers: str) -> str:
    """`metric{m1,m2}` (no braces when there are no matchers)."""
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def agg(op: str, inner: str, by: str = "") -> str:
    return f"{op} by ({by}) ({inner})" if by else f"{op}({inner})"


def total(metric: str, *matchers: str, window: str, by: str = "") -> str:
    """`sum [by (...)] (increase(metric{...}[window]))`."""
    return agg("sum", f"increase({sel(metric, *matchers)}[{window}])", by)


def per_second(metric: str, *matchers: str, window: str = RATE, by: str = "") -> str:
    return agg("sum", f"rate({sel(metric, *matchers)}[{window}])", by)


def share(numerator: str, denominator: str) -> str:
    """numerator / denominator, where a group missing from the numerator counts as 0.

    Counter series only exist once incremented: without the `or 0 * ...` a channel with
    responses but no satisfied one would vanish from a CSAT panel instead of showing 0 %. A zero
    denominator gives no data rather than NaN. Both sides must be aggregated to the same label
    set. Same shape as the recording rules in deploy/prometheus/rules/recording.yml.
    """
    return f"({numerator} or 0 * {denominator}) / ({denominator} > 0)"


def share_of_total(part: str, whole: str) -> str:
    """Each group's share of a total without that label; no data (not NaN) when it is 0."""
    return f"{part} / ignoring(channel) group_left() ({whole} > 0)"


def quantile(q: float, metric: str, *matchers: str, by: str) -> str:
    buckets = per_second(f"{metric}_bucket", *matchers, by=f"{by}, le" if by else "le")
    return f"histogram_quantile({q}, {buckets})"


# {channel="chat"} when "chat" is among the selected channels, else a series without `channel`:
# chats have no channel label, so their SLA clocks join the "chat" channel only when selected.
CHAT_SELECTED = (
    'label_replace(label_replace(vector(1), "selected", "chat", "", ""), '
    '"channel", "$1", "selected", "($channel)")'
)


def opportunities(target: str, window: str, by: str = "") -> str:
    """SLA clocks started in the window, as in deploy/prometheus/rules/recording.yml.

    first_response: tickets created + chats requested (under channel "chat"); next_response:
    customer replies; resolution: tickets solved. Over every queue: breaches carry no queue
    label, so a queue filter here divided all queues' breaches by one queue's chats (> 100 %).
    """
    if target == "first_response":
        chats = (
            f"label_replace(increase(support_chats_requested_total[{window}]), "
            f'"channel", "chat", "", "") and on (channel) {CHAT_SELECTED}'
        )
        tickets = f"increase({sel('support_tickets_created_total', C)}[{window}])"
        return agg("sum", f"{tickets} or ({chats})", by)
    if target == "next_response":
        return total("support_replies_total", C, 'author="customer"', window=window, by=by)
    if target == "resolution":
        return total("support_tickets_solved_total", C, window=window, by=by)
    raise ValueError(target)


def contacts(window: str, by: str = "") -> str:
    """New contacts by channel: tickets created (not the tickets chats are converted into:
    follow-up work, not a contact) and live chats requested, under channel "chat"."""
    tickets = f"increase({sel('support_tickets_created_total', C, NOT_CHAT)}[{window}])"
    chats = (
        f"label_replace(increase({sel('support_chats_requested_total', Q)}[{window}]), "
        f'"channel", "chat", "", "") and on (channel) {CHAT_SELECTED}'
    )
    return agg("sum", f"{tickets} or ({chats})", by)


def alert_threshold(alert: str) -> float:
    """The number an alert rule compares with (`… > 120`): panels colour and draw lines at the
    alert's own threshold, so the two cannot drift apart."""
    for group in yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                # The first comparison: `… > 120 and on (…) rate(…) > 0` compares lag with 120.
                found = re.search(r"[<>]=?\s*([0-9.]+)", rule["expr"])
                if found:
                    return float(found.group(1))
    raise KeyError(f"no alert {alert!r} with a numeric threshold in {ALERT_RULES}")


def compliance(target: str, window: str, by: str = "") -> str:
    """1 − breaches ÷ SLA clocks started in the window, clamped to 0..1 (a rate approximation:
    a breach is counted at its deadline, its opportunity at creation)."""
    breaches = total("support_sla_breaches_total", C, f'target="{target}"', window=window, by=by)
    return f"1 - clamp_max({share(breaches, opportunities(target, window, by))}, 1)"


# --------------------------------------------------------------------------------------------
# Panel helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = "__auto"


def _targets(queries: Sequence[Query], *, instant: bool) -> list[Builder[variants.Dataquery]]:
    out: list[Builder[variants.Dataquery]] = []
    for i, q in enumerate(queries):
        target = Dataquery().expr(q.expr).legend_format(q.legend).ref_id(chr(ord("A") + i))
        target = target.datasource(DS)
        out.append(target.instant() if instant else target.range())
    return out


def _thresholds(*steps: tuple[float | None, str]) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


GREEN_ONLY = _thresholds((None, "green"))
LOW_IS_BAD_RATIO = _thresholds((None, "red"), (0.8, "yellow"), (0.9, "green"))
ZERO_IS_GOOD = _thresholds((None, "green"), (1, "red"))
UP_DOWN = [
    ValueMap(
        options={
            "0": ValueMappingResult(text="DOWN", color="red", index=0),
            "1": ValueMappingResult(text="UP", color="green", index=1),
        }
    )
]


def ts(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    description: str = "",
    w: int = 12,
    h: int = 8,
    stacked: bool = False,
    min_val: float | None = 0,
    max_val: float | None = None,
    dashed: str | None = None,
    no_value: str | None = None,
    log_scale: bool = False,
    target_line: float | None = None,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(_targets(queries, instant=False))
        .unit(unit)
        .span(w)
        .height(h)
        .fill_opacity(20 if stacked else 8)
        .line_width(1)
        .legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING))
        .thresholds(GREEN_ONLY)
    )
    if stacked:
        panel = panel.stacking(StackingConfig().mode(StackingMode.NORMAL))
    if min_val is not None:
        panel = panel.min(min_val)
    if max_val is not None:
        panel = panel.max(max_val)
    if dashed is not None:
        # Forecasts and projections as dashed lines next to the measured series.
        panel = panel.override_by_regexp(
            dashed,
            [
                DynamicConfigValue(
                    id_val="custom.lineStyle", value={"dash": [10, 10], "fill": "dash"}
                )
            ],
        )
    if no_value is not None:
        panel = panel.no_value(no_value)
    if log_scale:
        # Hours next to minutes: a linear axis flattens the short ones.
        panel = panel.scale_distribution(
            ScaleDistributionConfig().type(ScaleDistribution.LOG).log(2)
        ).min(1)
    if target_line is not None:
        line = GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)
        panel = panel.thresholds(_thresholds((None, "green"), (target_line, "red")))
        panel = panel.thresholds_style(line)
    return panel


def single(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    description: str = "",
    w: int = 6,
    h: int = 5,
    thresholds: ThresholdsConfig = GREEN_ONLY,
    decimals: float | None = None,
    mappings: list[Any] | None = None,
    no_value: str | None = None,
    min_val: float | None = None,
    max_val: float | None = None,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(_targets(queries, instant=True))
        .unit(unit)
        .span(w)
        .height(h)
        .thresholds(thresholds)
        .color_mode(BigValueColorMode.VALUE)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    if mappings is not None:
        panel = panel.mappings(mappings)
    if no_value is not None:
        panel = panel.no_value(no_value)
    if min_val is not None:
        panel = panel.min(min_val)
    if max_val is not None:
        panel = panel.max(max_val)
    return panel


def bars(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    description: str = "",
    w: int = 12,
    h: int = 8,
    thresholds: ThresholdsConfig = GREEN_ONLY,
    min_val: float | None = 0,
) -> bargauge.Panel:
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(_targets(queries, instant=True))
        .unit(unit)
        .span(w)
        .height(h)
        .thresholds(thresholds)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if min_val is not None:
        panel = panel.min(min_val)
    return panel


def pie(
    title: str,
    queries: Sequence[Query],
    *,
    unit: str,
    description: str = "",
    w: int = 8,
    h: int = 8,
) -> piechart.Panel:
    return (
        piechart.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(_targets(queries, instant=True))
        .unit(unit)
        .span(w)
        .height(h)
        .pie_type(PieChartType.DONUT)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .legend(
            piechart.PieChartLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.RIGHT)
            .show_legend(True)
            .values([PieChartLegendValues.PERCENT])
        )
    )


# --------------------------------------------------------------------------------------------
# Dashboard skeleton
# --------------------------------------------------------------------------------------------


def _variable(name: str, label: str, metric: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(DS)
        .query(f"label_values({metric}, {name})")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def _skeleton(uid: str, title: str, description: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("browser")
        .time("now-6h", "now")
        .refresh("30s")
        .timepicker(TimePicker().refresh_intervals(["10s", "30s", "1m", "5m", "15m"]))
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(_variable("queue", "Queue", "support_chat_queue_waiting"))
        .with_variable(_variable("channel", "Channel", "support_tickets_open"))
        .annotation(
            AnnotationQuery()
            .name("Firing alerts")
            .datasource(DS)
            .enable(True)
            .icon_color("red")
            .expr(ALERTS_EXPR)
        )
        .link(
            DashboardLink("Support Pulse")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


# Fields the SDK's AnnotationQuery model does not carry but Grafana's Prometheus annotation
# editor uses: one marker per firing alert, titled by the alert, tagged by its routing labels
# (deploy/prometheus/rules/alerts.yml: severity, team, plus queue/channel/priority/target).
# ALERTS series carry labels only, not annotations, so the text is built from labels too.
_ANNOTATION_EXTRAS = {
    "step": "60s",
    "titleFormat": "{{alertname}}",
    "textFormat": "{{severity}} {{queue}} {{channel}} {{priority}} {{target}}",
    "tagKeys": "severity,team,queue,channel,priority,target",
    "useValueForTime": False,
}


# Panel ids by board and title. Alert rules link to panels by id (the `dashboard` annotation in
# deploy/prometheus/rules/alerts.yml) and so can bookmarks: an id never changes and is never
# reused. A new panel takes the board's next free number; a removed panel's number stays retired.
PANEL_IDS: dict[str, dict[str, int]] = {
    "supportpulse-live-floor": {
        "Chat queue": 1,
        "Chats waiting": 2,
        "Oldest chat wait": 3,
        "Missed chats (1h)": 4,
        "Chat queue waiting": 5,
        "Oldest chat wait over time": 6,
        "Active chats vs chat capacity": 7,
        "Tickets": 8,
        "Open tickets": 9,
        "Awaiting first response": 10,
        "Open tickets and awaiting first response by channel": 11,
        "Agents and staffing": 12,
        "Agents by status": 13,
        "Chat capacity per queue": 14,
        "Staffing gap": 15,
        "Staffing: required vs available": 16,
        "Predicted service level": 17,
        "Predicted wait": 18,
        "Volume": 19,
        "Arrivals vs forecast and projection (current hour)": 20,
        "Arrival rate per queue (5m)": 21,
        "Channel mix (1h)": 22,
    },
    "supportpulse-sla": {
        "Now": 1,
        "At risk now": 2,
        "Breached, still open": 3,
        "SLA compliance (1h)": 4,
        "Breaches projected": 5,
        "At risk and breached": 6,
        "At risk by target, channel and priority": 7,
        "Breached open by target, channel and priority": 8,
        "Breaches per hour": 9,
        "Breaches projected by queue": 10,
        "Compliance and response times": 11,
        "First response SLA compliance by channel (1h)": 12,
        "Resolution SLA compliance by channel (1h)": 13,
        "Ticket first response p50 / p90 by channel": 14,
        "Resolution time p50 / p90 by channel": 15,
        "Chat first response (wait) p50 / p90 by queue": 16,
        "Agent response time p90 by channel": 17,
    },
    "supportpulse-quality": {
        "Quality (selected time range)": 1,
        "CSAT": 2,
        "CES": 3,
        "One-touch resolution": 4,
        "Automation rate": 5,
        "Self-service deflection": 6,
        "Template use": 7,
        "Campaign response": 8,
        "Contact rate (today)": 9,
        "Missed chat rate": 10,
        "Assisted revenue": 11,
        "Trends (trailing hour)": 12,
        "CSAT by channel": 13,
        "CES by channel": 14,
        "One-touch, automation and template use": 15,
        "Deflection, campaign response and contact rate": 16,
        "Revenue": 17,
        "Assisted orders per hour by currency": 18,
        "Assisted revenue per hour by currency": 19,
    },
    "supportpulse-pipeline": {
        "Now": 1,
        "Events/s": 2,
        "Max event lag": 3,
        "Redis up": 4,
        "Scrape targets up": 5,
        "Throughput": 6,
        "Events/s by stream and type": 7,
        "Rejected events/s by reason": 8,
        "Late events/s by stream": 9,
        "Workers": 10,
        "Event lag by stream": 11,
        "Partitions owned per instance": 12,
        "Redis up by instance": 13,
        "Scrape up": 14,
        "Webhook gateway": 15,
        "Gateway answers/s by source and code": 16,
        "Gateway request time p99 by source": 17,
        "Gateway events/s by type, dead letters by reason": 18,
        "Gateway broker reachable": 19,
        "Events/s per worker": 20,
    },
}


def _finish(dashboard: Dashboard) -> dict[str, Any]:
    """Encode, then give panels their stable ids (the SDK leaves them unset) and annotation
    extras."""
    data: dict[str, Any] = json.loads(JSONEncoder().encode(dashboard.build()))
    ids = PANEL_IDS[data["uid"]]
    for panel in data["panels"]:
        if panel["title"] not in ids:
            raise KeyError(f"{data['uid']}: give panel {panel['title']!r} an id in PANEL_IDS")
        panel["id"] = ids[panel["title"]]
    for annotation in data["annotations"]["list"]:
        if annotation.get("expr") == ALERTS_EXPR:
            annotation.update(_ANNOTATION_EXTRAS)
    return data


# --------------------------------------------------------------------------------------------
# Boards
# --------------------------------------------------------------------------------------------


def live_floor() -> Dashboard:
    waiting = agg("sum", sel("support_chat_queue_waiting", Q), "queue")
    oldest = agg("max", sel("support_chat_queue_oldest_wait_seconds", Q), "queue")
    mix_1h = share_of_total(contacts("1h", "channel"), contacts("1h"))
    return (
        _skeleton(
            "supportpulse-live-floor",
            "Support Pulse / Live floor",
            "What the floor looks like right now: chat queues, backlog, agents, staffing and "
            "arrivals against the forecast.",
        )
        .with_row(Row("Chat queue"))
        .with_panel(
            single(
                "Chats waiting",
                [Query(waiting, "{{queue}}")],
                unit="none",
                description="Chats requested and not yet accepted, ended or abandoned.",
                w=8,
                thresholds=_thresholds((None, "green"), (5, "yellow"), (15, "red")),
            )
        )
        .with_panel(
            single(
                "Oldest chat wait",
                [Query(oldest, "{{queue}}")],
                unit="s",
                description="Age of the longest-waiting chat per queue. Customers expect an "
                "answer within 45–90 s.",
                w=8,
                thresholds=_thresholds((None, "green"), (45, "yellow"), (90, "red")),
            )
        )
        .with_panel(
            single(
                "Missed chats (1h)",
                [
                    Query(
                        total("support_chats_missed_total", Q, window="1h", by="queue"), "{{queue}}"
                    )
                ],
                unit="none",
                description="Chats abandoned before an agent accepted them. The ideal is zero.",
                w=8,
                thresholds=ZERO_IS_GOOD,
                no_value="0",
                decimals=0,
            )
        )
        .with_panel(
            ts(
                "Chat queue waiting",
                [Query(waiting, "{{queue}}")],
                unit="none",
                description="sum by (queue) (support_chat_queue_waiting)",
                w=8,
            )
        )
        .with_panel(
            ts(
                "Oldest chat wait over time",
                [Query(oldest, "{{queue}}")],
                unit="s",
                w=8,
            )
        )
        .with_panel(
            ts(
                "Active chats vs chat capacity",
                [
                    Query(agg("sum", sel("support_chats_active", Q), "queue"), "{{queue}} active"),
                    Query(
                        agg("sum", sel("support_agent_chat_capacity", Q), "queue"),
                        "{{queue}} capacity",
                    ),
                ],
                unit="none",
                description="Accepted chats not yet ended against the sum of max_chats of online "
                "agents (dashed).",
                w=8,
                dashed=".* capacity",
            )
        )
        .with_row(Row("Tickets"))
        .with_panel(
            single(
                "Open tickets",
                [Query(agg("sum", sel("support_tickets_open", C), "channel"), "{{channel}}")],
                unit="none",
                description="Backlog: tickets not solved or closed.",
                w=12,
            )
        )
        .with_panel(
            single(
                "Awaiting first response",
                [
                    Query(
                        agg("sum", sel("support_tickets_awaiting_first_response", C), "channel"),
                        "{{channel}}",
                    )
                ],
                unit="none",
                description="Open tickets without a public agent reply yet.",
                w=12,
            )
        )
        .with_panel(
            ts(
                "Open tickets and awaiting first response by channel",
                [
                    Query(
                        agg("sum", sel("support_tickets_open", C), "channel"), "{{channel}} open"
                    ),
                    Query(
                        agg("sum", sel("support_tickets_awaiting_first_response", C), "channel"),
                        "{{channel}} awaiting first response",
                    ),
                ],
                unit="none",
                description="A backlog that keeps growing means arrivals exceed resolution "
                "capacity.",
                w=24,
            )
        )
        .with_row(Row("Agents and staffing"))
        .with_panel(
            bars(
                "Agents by status",
                [
                    Query(
                        agg("sum", sel("support_agents", Q), "queue, status"),
                        "{{queue}} {{status}}",
                    )
                ],
                unit="none",
                description="An agent counts in every queue it serves.",
                w=8,
            )
        )
        .with_panel(
            bars(
                "Chat capacity per queue",
                [Query(agg("sum", sel("support_agent_chat_capacity", Q), "queue"), "{{queue}}")],
                unit="none",
                description="Sum of max_chats of online agents.",
                w=8,
            )
        )
        .with_panel(
            single(
                "Staffing gap",
                [
                    Query(
                        agg("max", sel("support_staffing_gap_agents", Q), "queue"),
                        "{{queue}}",
                    )
                ],
                unit="none",
                description="Required − available agents per queue; negative means spare capacity.",
                w=8,
                h=8,
                thresholds=_thresholds((None, "green"), (1, "yellow"), (3, "red")),
                decimals=0,
            )
        )
        .with_panel(
            ts(
                "Staffing: required vs available",
                [
                    Query(
                        agg("max", sel("support_staffing_required_agents", Q), "queue"),
                        "{{queue}} required",
                    ),
                    Query(
                        agg("max", sel("support_staffing_available_agents", Q), "queue"),
                        "{{queue}} available",
                    ),
                    Query(
                        agg("max", sel("support_staffing_gap_agents", Q), "queue"),
                        "{{queue}} gap",
                    ),
                ],
                unit="none",
                description="Erlang staffing for each queue's service-level target (stage-two "
                "signal: one owner per queue).",
                w=12,
                min_val=None,
                dashed=".* required",
            )
        )
        .with_panel(
            ts(
                "Predicted service level",
                [
                    Query(
                        agg(
                            "max",
                            sel("support_staffing_predicted_service_level_ratio", Q),
                            "queue",
                        ),
                        "{{queue}} service level",
                    ),
                ],
                unit="percentunit",
                description="Predicted share answered within target with the agents available now.",
                w=6,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Predicted wait",
                [
                    Query(
                        agg("max", sel("support_staffing_predicted_wait_seconds", Q), "queue"),
                        "{{queue}}",
                    )
                ],
                unit="s",
                description="Predicted average wait with the agents available now.",
                w=6,
            )
        )
        .with_row(Row("Volume"))
        .with_panel(
            ts(
                "Arrivals vs forecast and projection (current hour)",
                [
                    Query(
                        agg("max", sel("support_volume_actual", C), "channel"),
                        "{{channel}} actual",
                    ),
                    Query(
                        agg("max", sel("support_volume_forecast", C), "channel"),
                        "{{channel}} forecast",
                    ),
                    Query(
                        agg("max", sel("support_volume_projected", C), "channel"),
                        "{{channel}} projected",
                    ),
                ],
                unit="none",
                description="Arrivals so far this hour (event time), the forecast for the hour "
                "and the run-rate projection (dashed).",
                w=12,
                dashed=".* (forecast|projected)",
            )
        )
        .with_panel(
            ts(
                "Arrival rate per queue (5m)",
                [
                    Query(
                        agg("max", sel("support_arrival_rate", Q, 'window="5m"'), "queue"),
                        "{{queue}}",
                    )
                ],
                unit="reqps",
                description="New conversations per second over the last 5 minutes of event time.",
                w=6,
            )
        )
        .with_panel(
            pie(
                "Channel mix (1h)",
                [Query(mix_1h, "{{channel}}")],
                unit="percentunit",
                description="Share of new contacts per channel over the last hour: tickets "
                "created (not converted chats) and live chats requested. Empty, not NaN, "
                "without traffic.",
                w=6,
            )
        )
    )


def sla() -> Dashboard:
    at_risk = "support_sla_at_risk"
    breached = "support_sla_breached_open"
    return (
        _skeleton(
            "supportpulse-sla",
            "Support Pulse / SLA",
            "SLA targets at risk and breached, breach trends, compliance and response-time "
            "percentiles.",
        )
        .with_row(Row("Now"))
        .with_panel(
            single(
                "At risk now",
                [Query(agg("sum", sel(at_risk, C), "target"), "{{target}}")],
                unit="none",
                description="Open targets inside their warning window, not yet breached.",
                w=6,
                thresholds=_thresholds((None, "green"), (1, "yellow"), (10, "orange")),
                no_value="0",
            )
        )
        .with_panel(
            single(
                "Breached, still open",
                [Query(agg("sum", sel(breached, C), "target"), "{{target}}")],
                unit="none",
                description="Open conversations whose target is already breached.",
                w=6,
                thresholds=ZERO_IS_GOOD,
                no_value="0",
            )
        )
        .with_panel(
            single(
                "SLA compliance (1h)",
                [
                    Query(compliance("first_response", "1h"), "first response"),
                    Query(compliance("next_response", "1h"), "next response"),
                    Query(compliance("resolution", "1h"), "resolution"),
                ],
                unit="percentunit",
                description="1 − breaches ÷ SLA clocks started in the last hour (first response: "
                "tickets created + chats requested; next response: customer replies; resolution: "
                f"tickets solved). {IGNORES_QUEUE}",
                w=6,
                thresholds=_thresholds((None, "red"), (0.85, "yellow"), (0.95, "green")),
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Breaches projected",
                [
                    Query(
                        agg("sum", agg("max", sel("support_sla_breaches_projected", Q),
                                       "queue, horizon"), "horizon"),
                        "next {{horizon}}",
                    )
                ],
                unit="none",
                description="Breaches expected soon if nothing changes, summed over the "
                "selected queues (each queue's value has one owner: max per queue first).",
                w=6,
                thresholds=ZERO_IS_GOOD,
                decimals=0,
            )
        )
        .with_row(Row("At risk and breached"))
        .with_panel(
            ts(
                "At risk by target, channel and priority",
                [
                    Query(
                        agg("sum", sel(at_risk, C), "target, channel, priority"),
                        "{{target}} {{channel}}/{{priority}}",
                    )
                ],
                unit="none",
                w=12,
                stacked=True,
            )
        )
        .with_panel(
            ts(
                "Breached open by target, channel and priority",
                [
                    Query(
                        agg("sum", sel(breached, C), "target, channel, priority"),
                        "{{target}} {{channel}}/{{priority}}",
                    )
                ],
                unit="none",
                w=12,
                stacked=True,
            )
        )
        .with_panel(
            ts(
                "Breaches per hour",
                [
                    Query(
                        total("support_sla_breaches_total", C, window="1h", by="target, channel"),
                        "{{target}} {{channel}}",
                    )
                ],
                unit="none",
                description="SLA breaches in the trailing hour.",
                w=12,
                stacked=True,
                no_value="0",
            )
        )
        .with_panel(
            ts(
                "Breaches projected by queue",
                [
                    Query(
                        agg("max", sel("support_sla_breaches_projected", Q), "queue, horizon"),
                        "{{queue}} next {{horizon}}",
                    )
                ],
                unit="none",
                w=12,
            )
        )
        .with_row(Row("Compliance and response times"))
        .with_panel(
            ts(
                "First response SLA compliance by channel (1h)",
                [
                    Query(
                        compliance("first_response", "1h", "channel"),
                        "{{channel}}",
                    )
                ],
                unit="percentunit",
                description=IGNORES_QUEUE,
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Resolution SLA compliance by channel (1h)",
                [
                    Query(
                        compliance("resolution", "1h", "channel"),
                        "{{channel}}",
                    )
                ],
                unit="percentunit",
                description=IGNORES_QUEUE,
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Ticket first response p50 / p90 by channel",
                [
                    Query(
                        quantile(0.5, "support_first_response_seconds", C, NOT_CHAT,
                                 by="channel"),
                        "{{channel}} p50",
                    ),
                    Query(
                        quantile(0.9, "support_first_response_seconds", C, NOT_CHAT,
                                 by="channel"),
                        "{{channel}} p90",
                    ),
                ],
                unit="s",
                description="Tickets only (hours; email target 4 business hours, social 2); "
                "live chats (seconds) are on the chat wait panel. Channel chat is left out: it "
                "mixes live chats with the tickets chats are converted into.",
                w=12,
                log_scale=True,
            )
        )
        .with_panel(
            ts(
                "Resolution time p50 / p90 by channel",
                [
                    Query(
                        quantile(0.5, "support_resolution_seconds", C, by="channel"),
                        "{{channel}} p50",
                    ),
                    Query(
                        quantile(0.9, "support_resolution_seconds", C, by="channel"),
                        "{{channel}} p90",
                    ),
                ],
                unit="s",
                w=12,
            )
        )
        .with_panel(
            ts(
                "Chat first response (wait) p50 / p90 by queue",
                [
                    Query(quantile(0.5, "support_chat_wait_seconds", Q, by="queue"),
                          "{{queue}} p50"),
                    Query(quantile(0.9, "support_chat_wait_seconds", Q, by="queue"),
                          "{{queue}} p90"),
                ],
                unit="s",
                description="Live chats, request → accept. The line is the chat target "
                "(alert ChatWaitOverTarget); customers expect 45–90 s.",
                w=12,
                target_line=alert_threshold("ChatWaitOverTarget"),
            )
        )
        .with_panel(
            ts(
                "Agent response time p90 by channel",
                [
                    Query(
                        quantile(0.9, "support_response_seconds", C, by="channel"),
                        "{{channel}}",
                    )
                ],
                unit="s",
                description="Every agent reply, not only the first.",
                w=12,
            )
        )
    )


def _ratio_by_channel(metric: str, matcher: str, window: str, by: str = "") -> str:
    """Share of `metric` (restricted to the channel variable) that also matches `matcher`."""
    return share(
        total(metric, C, matcher, window=window, by=by), total(metric, C, window=window, by=by)
    )


def _csat(window: str, by: str = "") -> str:
    return _ratio_by_channel("support_csat_responses_total", 'score=~"4|5"', window, by)


def _ces(window: str, by: str = "") -> str:
    metric = "support_ces_responses_total"
    responses = total(metric, C, window=window, by=by)
    easy = total(metric, C, 'score="1"', window=window, by=by)
    hard = total(metric, C, 'score="5"', window=window, by=by)
    return f"100 * (({easy} or 0 * {responses}) - ({hard} or 0 * {responses})) / ({responses} > 0)"


def _one_touch(window: str, by: str = "") -> str:
    return share(
        total("support_tickets_solved_one_touch_total", C, window=window, by=by),
        total("support_tickets_solved_total", C, window=window, by=by),
    )


def _automation(window: str, by: str = "") -> str:
    return _ratio_by_channel(
        "support_resolutions_total", 'resolver=~"bot|self_service"', window, by
    )


def _deflection(window: str) -> str:
    return share(
        total("support_selfservice_sessions_total", 'resolved="yes"', window=window),
        total("support_selfservice_sessions_total", window=window),
    )


def _templates(window: str, by: str = "") -> str:
    return share(
        total("support_replies_total", C, 'author="agent"', 'template="yes"', window=window, by=by),
        total("support_replies_total", C, 'author="agent"', window=window, by=by),
    )


def _campaign(window: str) -> str:
    return share(
        total("support_campaign_chats_total", window=window),
        total("support_campaign_shown_total", window=window),
    )


def quality() -> Dashboard:
    pct = "percentunit"
    return (
        _skeleton(
            "supportpulse-quality",
            "Support Pulse / Quality & revenue",
            "Customer satisfaction and effort, first-contact resolution, automation, deflection, "
            "templates, campaigns and revenue from assisted orders. Stats cover the selected "
            "time range.",
        )
        .with_row(Row("Quality (selected time range)"))
        .with_panel(
            single(
                "CSAT",
                [Query(_csat(RANGE), "CSAT")],
                unit=pct,
                description="Share of survey answers 4 or 5. E-commerce average ≈ 75 %; red "
                "flag below 80 % in the peak.",
                w=4,
                thresholds=LOW_IS_BAD_RATIO,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "CES",
                [Query(_ces(RANGE), "CES")],
                unit="none",
                description="Customer effort score: % very easy (1) − % very hard (5), −100…100.",
                w=4,
                thresholds=_thresholds((None, "red"), (0, "yellow"), (30, "green")),
                decimals=0,
                min_val=-100,
                max_val=100,
            )
        )
        .with_panel(
            single(
                "One-touch resolution",
                [Query(_one_touch(RANGE), "one-touch")],
                unit=pct,
                description="Tickets solved with exactly one public agent reply ÷ tickets solved.",
                w=4,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Automation rate",
                [Query(_automation(RANGE), "automation")],
                unit=pct,
                description="Resolutions by bot or self-service ÷ all resolutions.",
                w=4,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Self-service deflection",
                [Query(_deflection(RANGE), "deflection")],
                unit=pct,
                description="Self-service sessions resolved without contacting support. Holiday "
                "target 20–30 %.",
                w=4,
                thresholds=_thresholds((None, "yellow"), (0.2, "green")),
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Template use",
                [Query(_templates(RANGE), "templates")],
                unit=pct,
                description="Agent replies that used a macro/saved reply. An overused macro "
                "points at missing information elsewhere.",
                w=4,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Campaign response",
                [Query(_campaign(RANGE), "campaign response")],
                unit=pct,
                description="Chats answering a proactive campaign ÷ campaigns shown.",
                w=6,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Contact rate (today)",
                [Query("max(support_contact_rate_ratio)", "contact rate")],
                unit=pct,
                description="Distinct customers who contacted support today ÷ distinct customers "
                "seen today.",
                w=6,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Missed chat rate",
                [
                    Query(
                        share(
                            total("support_chats_missed_total", Q, window=RANGE),
                            total("support_chats_requested_total", Q, window=RANGE),
                        ),
                        "missed",
                    )
                ],
                unit=pct,
                description="Chats abandoned before an agent accepted ÷ chats requested.",
                w=6,
                thresholds=_thresholds((None, "green"), (0.05, "yellow"), (0.1, "red")),
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Assisted revenue",
                [
                    Query(
                        total("support_assisted_revenue_total", window=RANGE, by="currency"),
                        "{{currency}}",
                    )
                ],
                unit="none",
                description="Order value attributed to customers' recent support contacts, per "
                "currency (not converted).",
                w=6,
                decimals=0,
            )
        )
        .with_row(Row("Trends (trailing hour)"))
        .with_panel(
            ts(
                "CSAT by channel",
                [Query(_csat("1h", "channel"), "{{channel}}")],
                unit=pct,
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "CES by channel",
                [Query(_ces("1h", "channel"), "{{channel}}")],
                unit="none",
                w=12,
                min_val=-100,
                max_val=100,
            )
        )
        .with_panel(
            ts(
                "One-touch, automation and template use",
                [
                    Query(_one_touch("1h"), "one-touch"),
                    Query(_automation("1h"), "automation"),
                    Query(_templates("1h"), "template use"),
                ],
                unit=pct,
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Deflection, campaign response and contact rate",
                [
                    Query(_deflection("1h"), "self-service deflection"),
                    Query(_campaign("1h"), "campaign response"),
                    Query("max(support_contact_rate_ratio)", "contact rate (today)"),
                ],
                unit=pct,
                w=12,
                max_val=1,
            )
        )
        .with_row(Row("Revenue"))
        .with_panel(
            ts(
                "Assisted orders per hour by currency",
                [
                    Query(
                        total("support_assisted_orders_total", window="1h", by="currency"),
                        "{{currency}}",
                    )
                ],
                unit="none",
                w=12,
            )
        )
        .with_panel(
            ts(
                "Assisted revenue per hour by currency",
                [
                    Query(
                        total("support_assisted_revenue_total", window="1h", by="currency"),
                        "{{currency}}",
                    )
                ],
                unit="none",
                w=12,
            )
        )
    )


def pipeline() -> Dashboard:
    return (
        _skeleton(
            "supportpulse-pipeline",
            "Support Pulse / Pipeline health",
            "Throughput, rejects, late events, lag, partition ownership, Redis and scrape "
            "health of the stream workers.",
        )
        .with_row(Row("Now"))
        .with_panel(
            single(
                "Events/s",
                [Query(per_second("support_events_total"), "events/s")],
                unit="reqps",
                w=6,
                decimals=1,
            )
        )
        .with_panel(
            single(
                "Max event lag",
                [Query("max(support_event_lag_seconds)", "lag")],
                unit="s",
                description="now − occurred_at of the last event processed, worst stream. Red at "
                "the PipelineLagging alert's threshold.",
                w=6,
                thresholds=_thresholds((None, "green"), (30, "yellow"),
                                       (alert_threshold("PipelineLagging"), "red")),
            )
        )
        .with_panel(
            single(
                "Redis up",
                [Query("min by (instance) (support_redis_up)", "{{instance}}")],
                unit="none",
                description="Redis is a read model: down means degraded extras (at-risk lists, "
                "distinct customers), never a stopped pipeline.",
                w=6,
                thresholds=_thresholds((None, "red"), (1, "green")),
                mappings=UP_DOWN,
            )
        )
        .with_panel(
            single(
                "Scrape targets up",
                [Query(f"min by (job, instance) ({UP})", "{{job}} {{instance}}")],
                unit="none",
                w=6,
                thresholds=_thresholds((None, "red"), (1, "green")),
                mappings=UP_DOWN,
            )
        )
        .with_row(Row("Throughput"))
        .with_panel(
            ts(
                "Events/s by stream and type",
                [
                    Query(
                        per_second("support_events_total", by="stream, type"),
                        "{{stream}} {{type}}",
                    )
                ],
                unit="reqps",
                w=24,
                stacked=True,
            )
        )
        .with_panel(
            ts(
                "Rejected events/s by reason",
                [Query(per_second("support_events_rejected_total", by="reason"), "{{reason}}")],
                unit="reqps",
                description="Bad input goes to support.dlq with the reason in its headers.",
                w=12,
                stacked=True,
                no_value="0",
            )
        )
        .with_panel(
            ts(
                "Late events/s by stream",
                [Query(per_second("support_events_late_total", by="stream"), "{{stream}}")],
                unit="reqps",
                description="Events older than the state they would change.",
                w=12,
                no_value="0",
            )
        )
        .with_panel(
            ts(
                "Events/s per worker",
                [Query(agg("sum", 'rate(support_events_total{job="supportpulse"}[' + RATE + "])",
                           "instance"), "{{instance}}")],
                unit="reqps",
                description="A worker that owns partitions and stays at 0 while others move is "
                "stalled (alert PipelineStalled).",
                w=24,
            )
        )
        .with_row(Row("Workers"))
        .with_panel(
            ts(
                "Event lag by stream",
                [Query("max by (stream) (support_event_lag_seconds)", "{{stream}}")],
                unit="s",
                w=12,
            )
        )
        .with_panel(
            bars(
                "Partitions owned per instance",
                [Query("sum by (instance) (support_partitions_owned)", "{{instance}}")],
                unit="none",
                description="Changes here are rebalances.",
                w=12,
            )
        )
        .with_panel(
            ts(
                "Redis up by instance",
                [Query("min by (instance) (support_redis_up)", "{{instance}}")],
                unit="none",
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Scrape up",
                [Query(f"min by (job, instance) ({UP})", "{{job}} {{instance}}")],
                unit="none",
                w=12,
                max_val=1,
            )
        )
        .with_row(Row("Webhook gateway"))
        .with_panel(
            ts(
                "Gateway answers/s by source and code",
                [
                    Query(
                        per_second("support_gateway_requests_total", by="source, code"),
                        "{{source}} {{code}}",
                    )
                ],
                unit="reqps",
                description="202 = stored (or dead-lettered); 401 = bad signature or token, "
                "stale timestamp; 413 = over 256 KiB; 503 = the broker did not acknowledge, the "
                "helpdesk retries (Chatwoot account webhooks do not: those events are lost).",
                w=6,
                stacked=True,
            )
        )
        .with_panel(
            ts(
                "Gateway broker reachable",
                [Query("min by (instance) (support_gateway_broker_up)", "{{instance}}")],
                unit="none",
                description="The gateway's broker check (its /readyz): 0 = every webhook is "
                "answered 503. Alert GatewayBrokerUnreachable.",
                w=6,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Gateway request time p99 by source",
                [Query(quantile(0.99, "support_gateway_request_seconds", by="source"),
                       "{{source}}")],
                unit="s",
                description="Until the answer, including the broker's acknowledgement.",
                w=6,
            )
        )
        .with_panel(
            ts(
                "Gateway events/s by type, dead letters by reason",
                [
                    Query(per_second("support_gateway_events_total", by="type"), "{{type}}"),
                    Query(
                        per_second("support_gateway_dead_letters_total", by="source, reason"),
                        "dead letter {{source}} {{reason}}",
                    ),
                ],
                unit="reqps",
                description="Dead letters are signed webhooks that could not be translated; "
                "their raw body is in support.dlq with `source` and `reason` headers.",
                w=6,
                no_value="0",
            )
        )
    )


BOARDS = {
    "live-floor": live_floor,
    "sla": sla,
    "quality-revenue": quality,
    "pipeline-health": pipeline,
}


def render() -> dict[str, str]:
    """File name → JSON text (sorted keys, 2-space indent, trailing newline)."""
    return {
        f"{name}.json": json.dumps(_finish(build()), sort_keys=True, indent=2, ensure_ascii=False)
        + "\n"
        for name, build in BOARDS.items()
    }


def stale(directory: Path = OUTPUT_DIR) -> list[str]:
    """File names that are missing, different or no longer generated."""
    wanted = render()
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    out = [
        name
        for name, text in wanted.items()
        if name not in present or (directory / name).read_text(encoding="utf-8") != text
    ]
    return sorted(out + [name for name in present if name not in wanted])


def write(directory: Path = OUTPUT_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = render()
    for name, text in wanted.items():
        (directory / name).write_text(text, encoding="utf-8")
    for path in directory.glob("*.json"):
        if path.name not in wanted:
            path.unlink()
    return sorted(wanted)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate grafana/dashboards/*.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if the JSON is out of date")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.write:
        for name in write():
            print(f"wrote {OUTPUT_DIR / name}")
        return 0
    outdated = stale()
    for name in outdated:
        print(f"out of date: {OUTPUT_DIR / name}", file=sys.stderr)
    if outdated:
        print("run: python grafana/dashboards.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
