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
from grafana_foundation_sdk.builders import table as tablepanel
from grafana_foundation_sdk.builders.common import (
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
    ScaleDistributionConfig,
    StackingConfig,
    TableSortByFieldState,
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
    TableCellHeight,
    TooltipDisplayMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    MatcherConfig,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.piechart import PieChartLegendValues, PieChartType
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

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
# PipelineLagging compares this with its threshold (then checks that events flow).
LAG = "max by (instance, job, stream) (support_event_lag_seconds)"
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


def or_zero(expr: str, like: str) -> str:
    """`expr`, or 0 for each group of `like` that `expr` lacks (same label set on both sides).

    Counter series only exist once incremented: a queue that never missed a chat has no
    `support_chats_missed_total` series at all, and would vanish from a panel instead of
    showing 0.
    """
    return f"({expr} or 0 * {like})"


def share(numerator: str, denominator: str) -> str:
    """numerator / denominator, where a group missing from the numerator counts as 0.

    Without the `or 0 * ...` (see `or_zero`) a channel with responses but no satisfied one would
    vanish from a CSAT panel instead of showing 0 %. A zero denominator gives no data rather than
    NaN. Both sides must be aggregated to the same label set. Same shape as the recording rules in
    deploy/prometheus/rules/recording.yml.
    """
    return f"{or_zero(numerator, denominator)} / ({denominator} > 0)"


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


# A comparison with a number: the alert's condition (`… > 120`, `… >= 3`).
_COMPARISON = r"(>=|<=|==|!=|>|<)\s*([0-9.]+)"


def alert_condition(alert: str, after: str = "") -> tuple[str, float]:
    """The comparison an alert rule fires on, e.g. (">", 120.0) for `… > 120`.

    By default the last comparison of the expression; with `after`, the one that directly
    follows that text (for an alert with several conditions, e.g. MissedChats' ratio `> 0.05`
    after `queue:support_chats_missed:ratio_rate15m`, its count `>= 3` after
    `queue:support_chats_missed:increase15m`). Panels colour and draw lines at the alert's own
    threshold, so the two cannot drift apart.
    """
    pattern = rf"{re.escape(after)}\s*{_COMPARISON}" if after else rf"{_COMPARISON}\s*$"
    for group in yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                found = re.search(pattern, " ".join(rule["expr"].split()))
                if found:
                    return found.group(1), float(found.group(2))
    raise KeyError(f"no alert {alert!r} with a numeric threshold in {ALERT_RULES}")


def alert_threshold(alert: str, after: str = "") -> float:
    """The number of `alert_condition`."""
    return alert_condition(alert, after)[1]


def fires_from(alert: str, after: str = "", *, whole: bool = False) -> float:
    """The smallest value that fires `alert`, as a Grafana threshold step.

    A step colours the values at or above it, an alert `> x` fires above x: for whole numbers
    (chats, agents, conversations) the first firing value is x + 1 (`> 0` → red from 1); for
    continuous values (seconds, ratios) it is x itself (120.0 s is as late as 120.1 s).
    """
    op, value = alert_condition(alert, after)
    if op not in (">", ">="):
        raise ValueError(f"{alert}: fires below {value}, not above: no red-from-here step")
    return value + 1 if op == ">" and whole else value


# The chat first-response target (stream/data/sla-policy.yaml, policy `chat`: 2m), which is also
# ChatWaitOverTarget's threshold. It must be a bucket bound of support_chat_wait_seconds
# (CHAT_WAIT_BUCKETS in stream/metrics.py; tests/unit/test_dashboards.py checks both).
CHAT_TARGET_SECONDS = alert_threshold("ChatWaitOverTarget")
# prometheus_client writes bucket bounds as Python floats: le="120.0", not le="120".
CHAT_TARGET_LE = f'le="{CHAT_TARGET_SECONDS!r}"'


def chat_service_level(window: str) -> str:
    """Chats accepted within the chat target ÷ (chats accepted + chats abandoned) in the window.

    Accepted chats are the observations of the wait histogram (request → accept), those within
    target its bucket at the target; abandoned chats never reach the histogram, so they are
    added from support_chats_missed_total (either side may not exist yet: `or_zero`).
    """
    bucket = "support_chat_wait_seconds_bucket"
    within = total(bucket, Q, CHAT_TARGET_LE, window=window)
    accepted = total("support_chat_wait_seconds_count", Q, window=window)
    abandoned = total("support_chats_missed_total", Q, window=window)
    offered = f"({or_zero(accepted, abandoned)} + {or_zero(abandoned, accepted)})"
    return share(within, offered)


def breaches_projected(*matchers: str, by: str = "") -> str:
    """SLA breaches projected, summed over the selected queues. Stage-two signal: each queue's
    value has one owner, so max per queue first (a rebalance briefly reports it twice)."""
    keep = f"queue, {by}" if by else "queue"
    return agg("sum", agg("max", sel("support_sla_breaches_projected", Q, *matchers), keep), by)


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


def _ref_id(index: int) -> str:
    return chr(ord("A") + index)


def _targets(
    queries: Sequence[Query], *, instant: bool, table: bool = False
) -> list[Builder[variants.Dataquery]]:
    out: list[Builder[variants.Dataquery]] = []
    for i, q in enumerate(queries):
        target = Dataquery().expr(q.expr).legend_format(q.legend).ref_id(_ref_id(i))
        target = target.datasource(DS)
        if table:
            # One row per series with its labels as columns, the value as "Value #<refId>".
            target = target.format(PromQueryFormat.TABLE)
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
CHATS_WAITING = _thresholds((None, "green"), (5, "yellow"), (15, "red"))

# Counts over the trailing hour (`increase(…[1h])`) and rates scaled to an hour: Grafana has no
# built-in per-hour unit, and "req/s" reads wrong for 40 tickets an hour.
PER_HOUR = "suffix:/h"

# Series whose every value is 0 (a channel without traffic) stay out of the graph, legend and
# tooltip: a Grafana override by value, so the query itself is unfiltered and a series appears
# the moment it is non-zero.
HIDE_ALL_ZERO = (
    MatcherConfig(id_val="byValue", options={"reducer": "allIsZero", "op": "gte", "value": 0}),
    [DynamicConfigValue(id_val="custom.hideFrom",
                        value={"legend": True, "tooltip": True, "viz": True})],
)
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
    hide_all_zero: bool = False,
    decimals: float | None = None,
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
    if hide_all_zero:
        panel = panel.with_override(*HIDE_ALL_ZERO)
    if decimals is not None:
        panel = panel.decimals(decimals)
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
    color_mode: BigValueColorMode = BigValueColorMode.VALUE,
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
        .color_mode(color_mode)
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
    max_val: float | None = None,
    decimals: float | None = None,
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
    if max_val is not None:
        panel = panel.max(max_val)
    if decimals is not None:
        panel = panel.decimals(decimals)
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


@dataclass(frozen=True)
class Column:
    """A value column of a `table`: an instant query aggregated to the table's label columns (one
    series per row), its header, unit, and the thresholds that colour its cells (None: plain).
    A header of None keeps the query for its labels only (ALERTS' value is always 1)."""

    header: str | None
    expr: str
    unit: str = "none"
    thresholds: ThresholdsConfig | None = None
    decimals: float | None = None


@dataclass(frozen=True)
class Label:
    """A label column of a `table`, shown before the values; `mappings` colour its cells."""

    name: str
    header: str
    mappings: list[Any] | None = None


COLOR_BACKGROUND = DynamicConfigValue(
    id_val="custom.cellOptions", value={"type": "color-background", "mode": "basic"}
)


def table(
    title: str,
    labels: Sequence[Label],
    columns: Sequence[Column],
    *,
    description: str = "",
    w: int = 12,
    h: int = 8,
    link: tuple[str, str] | None = None,
    sort_by: tuple[str, bool] | None = None,
    no_value: str | None = None,
) -> tablepanel.Panel:
    """One row per label set: each column's instant query (table format) merged into one frame.

    Grafana's Prometheus data source names a query's value field "Value #<refId>" when the panel
    has several queries and "Value" when it has one; `merge` joins the frames on their common
    label columns, `filterFieldsByName` keeps the listed labels and values (no Time, job,
    instance), `organize` orders and renames them. Overrides match the renamed headers (field
    display names). `link` = (title, url) is a data link on the first label's cells (the url may
    use `${__data.fields.<label>}`); `sort_by` = (header, descending); `no_value` is the message
    when the queries return nothing (empty cells show a dash instead: Grafana would print the
    panel's no-value text in every cell of a missing label or value).
    """

    def value_field(index: int) -> str:
        return f"Value #{_ref_id(index)}" if len(columns) > 1 else "Value"

    shown = [(value_field(i), c) for i, c in enumerate(columns) if c.header is not None]
    names = [label.name for label in labels] + [field for field, _ in shown]
    headers = {label.name: label.header for label in labels}
    headers.update({field: str(column.header) for field, column in shown})
    panel = (
        tablepanel.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .targets(_targets([Query(c.expr, "") for c in columns], instant=True, table=True))
        .unit("none")
        .span(w)
        .height(h)
        .thresholds(GREEN_ONLY)
        .cell_height(TableCellHeight.SM)
        .transformations(
            [
                DataTransformerConfig(id_val="merge", options={}),
                DataTransformerConfig(
                    id_val="filterFieldsByName", options={"include": {"names": names}}
                ),
                DataTransformerConfig(
                    id_val="organize",
                    options={
                        "excludeByName": {},
                        "indexByName": {name: i for i, name in enumerate(names)},
                        "renameByName": headers,
                    },
                ),
            ]
        )
    )
    empty_cell = [DynamicConfigValue(id_val="noValue", value="–")] if no_value is not None else []
    for label in labels:
        properties = list(empty_cell)
        if label.mappings is not None:
            properties += [DynamicConfigValue(id_val="mappings", value=label.mappings),
                           COLOR_BACKGROUND]
        if properties:
            panel = panel.override_by_name(label.header, properties)
    for _, column in shown:
        properties = [DynamicConfigValue(id_val="unit", value=column.unit), *empty_cell]
        if column.decimals is not None:
            properties.append(DynamicConfigValue(id_val="decimals", value=column.decimals))
        if column.thresholds is not None:
            properties += [
                DynamicConfigValue(id_val="thresholds", value=column.thresholds.build()),
                COLOR_BACKGROUND,
            ]
        panel = panel.override_by_name(str(column.header), properties)
    if link is not None:
        link_title, url = link
        panel = panel.override_by_name(
            labels[0].header,
            [DynamicConfigValue(id_val="links", value=[{"title": link_title, "url": url}])],
        )
    if sort_by is not None:
        header, descending = sort_by
        panel = panel.sort_by([TableSortByFieldState().display_name(header).desc(descending)])
    if no_value is not None:
        panel = panel.no_value(no_value)
    return panel


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


def _skeleton(
    uid: str, title: str, description: str, *, refresh: str = "1m", since: str = "now-6h"
) -> Dashboard:
    """A board with the shared variables, alert annotations and links; `refresh` is how often
    Grafana re-runs every query, `since` the start of the default time range (until now)."""
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("browser")
        .time(since, "now")
        .refresh(refresh)
        .timepicker(TimePicker().refresh_intervals(["15s", "30s", "1m", "5m", "15m"]))
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
# reused. A new panel takes the board's next free number (above every id in PANEL_IDS and
# RETIRED_PANEL_IDS); a renamed panel keeps its id (change the key); a removed panel's number
# moves to RETIRED_PANEL_IDS. Panels inside collapsed rows have ids too.
PANEL_IDS: dict[str, dict[str, int]] = {
    "supportpulse-live-floor": {
        # First screen (grid rows 0-23): the wallboard.
        "Chats waiting": 2,
        "Longest wait": 3,  # was "Oldest chat wait"
        "Chat service level (30m)": 23,
        "Abandoned (15m)": 24,
        "Agents short": 25,
        "Breaches projected (30m)": 26,
        "At risk now (urgent + high)": 27,
        "Breached open (urgent + high)": 28,
        "Queues": 29,
        "Firing floor alerts": 30,
        "Tickets by channel": 31,
        "Created vs solved per hour": 32,
        "Volume vs forecast (current hour)": 33,
        # Collapsed rows below it: the trends, one row per queue, then tickets and volume.
        "Queue $queue: trends": 1,  # was "Chat queue"
        "Chat queue waiting": 5,
        "Oldest chat wait over time": 6,
        "Active chats vs chat capacity": 7,
        "Staffing: required vs available": 16,
        "Predicted service level": 17,
        "Predicted wait": 18,
        "Agents by status": 13,
        "Arrival rate per queue (5m)": 21,
        "Tickets and volume: trends": 8,  # was "Tickets"
        "Open tickets and awaiting first response by channel": 11,
        "Arrivals vs forecast and projection (current hour)": 20,
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
        "Engagement (last 30 and 365 days)": 20,
        "Engagement by segment": 21,
        "Average order value by segment": 22,
        "Repeat purchase rate by segment": 23,
        "Orders per customer by segment": 24,
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


# Ids no panel may take again (a bookmark or an old alert link would open the wrong panel).
RETIRED_PANEL_IDS: dict[str, dict[int, str]] = {
    # The wallboard redesign: stats replaced by the first screen's stats and tables.
    "supportpulse-live-floor": {
        4: "Missed chats (1h)",  # → Abandoned (15m), the Queues table's missed 15m
        9: "Open tickets",  # → Tickets by channel
        10: "Awaiting first response",  # → Tickets by channel
        12: "Agents and staffing (row)",  # its panels → Queue $queue: trends
        14: "Chat capacity per queue",  # → Queues (occupancy), Active chats vs chat capacity
        15: "Staffing gap",  # → Agents short, Queues (gap)
        19: "Volume (row)",  # its panels → Tickets and volume: trends
    },
}


def all_panels(panels: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Every panel of an encoded board, rows included, and the panels inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels") or [])


def _stack_collapsed_rows(panels: list[dict[str, Any]]) -> None:
    """Put each collapsed row right below what precedes it, as Grafana saves it.

    The SDK places the next row below the positions of the previous row's hidden panels, which
    Grafana would only compact away when it loads the board. A row's panels keep their place
    relative to it (Grafana moves them under the row when it is expanded).
    """
    bottom = 0
    for panel in panels:
        grid = panel["gridPos"]
        if panel["type"] == "row" and panel.get("collapsed"):
            shift = bottom - grid["y"]
            grid["y"] = bottom
            for inner in panel.get("panels") or []:
                inner["gridPos"]["y"] += shift
            bottom += 1
        else:
            bottom = max(bottom, grid["y"] + grid["h"])


def _finish(dashboard: Dashboard) -> dict[str, Any]:
    """Encode, then give panels their stable ids (the SDK leaves them unset), stack collapsed
    rows and add the annotation extras."""
    data: dict[str, Any] = json.loads(JSONEncoder().encode(dashboard.build()))
    _stack_collapsed_rows(data["panels"])
    ids = PANEL_IDS[data["uid"]]
    for panel in all_panels(data["panels"]):
        if panel["title"] not in ids:
            raise KeyError(f"{data['uid']}: give panel {panel['title']!r} an id in PANEL_IDS")
        panel["id"] = ids[panel["title"]]
    for annotation in data["annotations"]["list"]:
        if annotation.get("expr") == ALERTS_EXPR:
            annotation.update(_ANNOTATION_EXTRAS)
    # A filter is shown only on a board whose panels it filters (the pipeline board has none).
    used = json.dumps(data["panels"])
    data["templating"]["list"] = [
        v for v in data["templating"]["list"]
        if f"${v['name']}" in used or f"${{{v['name']}" in used
    ]
    return data


# --------------------------------------------------------------------------------------------
# Boards
# --------------------------------------------------------------------------------------------


# Live floor thresholds that mirror an alert rule: red from the first value that fires it.
LONGEST_WAIT = _thresholds(
    (None, "green"), (90, "yellow"), (fires_from("ChatWaitOverTarget"), "red")
)
MISSED_SHARE = fires_from("MissedChats", "queue:support_chats_missed:ratio_rate15m")
MISSED_COUNT = fires_from("MissedChats", "queue:support_chats_missed:increase15m", whole=True)
GAP = _thresholds((None, "green"), (fires_from("StaffingGap", whole=True), "red"))
PROJECTED = _thresholds((None, "green"), (fires_from("BreachesProjected", whole=True), "red"))
# Actual arrivals ÷ the hour's forecast: yellow once the whole hour's forecast has arrived, red
# from VolumeAboveForecast's 120 % (the alert divides the projection by the forecast).
VOLUME_VS_FORECAST = _thresholds(
    (None, "green"),
    (1, "yellow"),
    (alert_threshold("VolumeAboveForecast", "(support_volume_forecast) >= 20) )"), "red"),
)
URGENT_HIGH = 'priority=~"urgent|high"'  # the priorities SLABreachImminent and SLABreached page
SEVERITIES = [
    ValueMap(
        options={
            "page": ValueMappingResult(color="red", index=0),
            "ticket": ValueMappingResult(color="orange", index=1),
            "info": ValueMappingResult(color="blue", index=2),
        }
    )
]
FLOOR_ALERTS = sel("ALERTS", 'alertstate="firing"', 'team="floor"')


def live_floor() -> Dashboard:
    """The wallboard: what an ops lead reads from across the room (a 1080p TV in kiosk mode
    shows grid rows 0-23), with the trends in collapsed rows below."""
    waiting = agg("sum", sel("support_chat_queue_waiting", Q), "queue")
    oldest = agg("max", sel("support_chat_queue_oldest_wait_seconds", Q), "queue")
    active = agg("sum", sel("support_chats_active", Q), "queue")
    capacity = agg("sum", sel("support_agent_chat_capacity", Q), "queue")
    gap = agg("max", sel("support_staffing_gap_agents", Q), "queue")
    missed, requested = "support_chats_missed_total", "support_chats_requested_total"
    open_tickets = agg("sum", sel("support_tickets_open", C, Q), "channel")
    awaiting = agg("sum", sel("support_tickets_awaiting_first_response", C, Q), "channel")
    mix_1h = share_of_total(contacts("1h", "channel"), contacts("1h"))
    stat_tile: dict[str, Any] = {"w": 3, "h": 5, "color_mode": BigValueColorMode.BACKGROUND}
    return (
        _skeleton(
            "supportpulse-live-floor",
            "Support Pulse / Live floor",
            "The floor right now, for a wallboard: chats waiting and the longest wait, chat "
            "service level, abandons, agents short, SLA breaches coming and open, every queue "
            "and channel at a glance and the floor's firing alerts; trends in the collapsed "
            "rows below.",
            refresh="15s",
            since="now-3h",
        )
        # Row of stats (grid rows 0-4): the numbers to read from across the room.
        .with_panel(
            single(
                "Chats waiting",
                [Query(agg("sum", sel("support_chat_queue_waiting", Q)), "waiting")],
                unit="none",
                description="Chats requested and not yet accepted, ended or abandoned, all "
                "selected queues.",
                thresholds=CHATS_WAITING,
                decimals=0,
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Longest wait",
                [Query(agg("max", sel("support_chat_queue_oldest_wait_seconds", Q)), "longest")],
                unit="s",
                description="Age of the longest-waiting chat in any selected queue. Customers "
                "expect an answer within 45–90 s; red at the ChatWaitOverTarget threshold "
                f"({CHAT_TARGET_SECONDS:.0f} s).",
                thresholds=LONGEST_WAIT,
                decimals=0,
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Chat service level (30m)",
                [Query(chat_service_level("30m"), "service level")],
                unit="percentunit",
                description=f"Chats accepted within {CHAT_TARGET_SECONDS:.0f} s (the chat "
                "first-response target) ÷ chats accepted or abandoned, over the last 30 minutes.",
                thresholds=LOW_IS_BAD_RATIO,
                decimals=0,
                no_value="no chats",
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Abandoned (15m)",
                [
                    Query(
                        share(total(missed, Q, window="15m"), total(requested, Q, window="15m")),
                        "abandoned",
                    )
                ],
                unit="percentunit",
                description="Chats abandoned before an agent accepted them ÷ chats requested, "
                "last 15 minutes: the MissedChats ratio over the selected queues. The alert "
                f"fires per queue above {MISSED_SHARE:.0%} with at least {MISSED_COUNT:.0f} "
                "missed (Queues table).",
                thresholds=_thresholds(
                    (None, "green"), (MISSED_SHARE / 2, "yellow"), (MISSED_SHARE, "red")
                ),
                decimals=1,
                no_value="no chats",
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Agents short",
                [Query(agg("sum", f"clamp_min({gap}, 0)"), "short")],
                unit="none",
                description="Agents missing to meet each queue's service-level target, summed "
                "over the queues that are short: spare agents in one queue do not cancel "
                "another's shortage (alert StaffingGap).",
                thresholds=GAP,
                decimals=0,
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Breaches projected (30m)",
                [Query(breaches_projected('horizon="30m"'), "next 30m")],
                unit="none",
                description="SLA breaches expected within 30 minutes if nothing changes, summed "
                "over the selected queues (alert BreachesProjected).",
                thresholds=PROJECTED,
                decimals=0,
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "At risk now (urgent + high)",
                [Query(agg("sum", sel("support_sla_at_risk", C, Q, URGENT_HIGH)), "at risk")],
                unit="none",
                description="Open urgent and high-priority targets inside their warning "
                "window, not yet breached: they page (SLABreachImminent) after a minute.",
                thresholds=_thresholds(
                    (None, "green"), (fires_from("SLABreachImminent", whole=True), "red")
                ),
                decimals=0,
                **stat_tile,
            )
        )
        .with_panel(
            single(
                "Breached open (urgent + high)",
                [Query(agg("sum", sel("support_sla_breached_open", C, Q, URGENT_HIGH)),
                       "breached")],
                unit="none",
                description="Open urgent and high-priority conversations past a deadline: "
                "they page at once (SLABreached).",
                thresholds=_thresholds(
                    (None, "green"), (fires_from("SLABreached", whole=True), "red")
                ),
                decimals=0,
                **stat_tile,
            )
        )
        # Grid rows 5-13: every queue, and what is firing.
        .with_panel(
            table(
                "Queues",
                [Label("queue", "Queue")],
                [
                    Column("Waiting", waiting, thresholds=CHATS_WAITING),
                    Column("Oldest wait", oldest, unit="s", thresholds=LONGEST_WAIT, decimals=0),
                    Column(
                        "Occupancy",
                        share(active, capacity),
                        unit="percentunit",
                        thresholds=_thresholds((None, "green"), (0.85, "yellow"), (1, "red")),
                        decimals=0,
                    ),
                    Column(
                        "Online",
                        agg("sum", sel("support_agents", Q, 'status="online"'), "queue"),
                    ),
                    Column(
                        "Required",
                        agg("max", sel("support_staffing_required_agents", Q), "queue"),
                    ),
                    Column("Gap", gap, thresholds=GAP, decimals=0),
                    Column(
                        "Predicted SL",
                        agg(
                            "max",
                            sel("support_staffing_predicted_service_level_ratio", Q),
                            "queue",
                        ),
                        unit="percentunit",
                        thresholds=LOW_IS_BAD_RATIO,
                        decimals=0,
                    ),
                    Column(
                        "Missed 15m",
                        or_zero(
                            total(missed, Q, window="15m", by="queue"),
                            total(requested, Q, window="15m", by="queue"),
                        ),
                        thresholds=_thresholds(
                            (None, "green"), (1, "yellow"), (MISSED_COUNT, "red")
                        ),
                        decimals=0,
                    ),
                    Column(
                        "Breaches 30m",
                        agg("max", sel("support_sla_breaches_projected", Q, 'horizon="30m"'),
                            "queue"),
                        thresholds=PROJECTED,
                        decimals=0,
                    ),
                ],
                description="Per queue: chats waiting and the oldest wait; occupancy = active "
                "chats ÷ the chat capacity (sum of max_chats) of online agents; agents online, "
                "required for the service-level target and the gap (required − available); "
                "predicted service level with the agents available; chats missed in 15 minutes; "
                "SLA breaches projected within 30 minutes. Click a queue for its SLA board.",
                w=16,
                h=9,
                link=(
                    "SLA board for queue ${__data.fields.queue}",
                    "/d/supportpulse-sla?var-queue=${__data.fields.queue}&${channel:queryparam}",
                ),
                sort_by=("Oldest wait", True),
            )
        )
        .with_panel(
            table(
                "Firing floor alerts",
                [
                    Label("alertname", "Alert"),
                    Label("severity", "Severity", SEVERITIES),
                    Label("queue", "Queue"),
                    Label("channel", "Channel"),
                    Label("priority", "Priority"),
                    Label("target", "Target"),
                ],
                [Column(None, FLOOR_ALERTS)],
                description="Alerts of team floor firing now (deploy/prometheus/rules/"
                "alerts.yml), whatever queue or channel is selected; page = the on-call pager.",
                w=8,
                h=9,
                sort_by=("Alert", False),
                no_value="No floor alert firing",
            )
        )
        # Grid rows 14-23: tickets, flow and volume.
        .with_panel(
            table(
                "Tickets by channel",
                [Label("channel", "Channel")],
                [
                    Column("Open", open_tickets),
                    Column("Awaiting first reply", awaiting),
                    Column(
                        "At risk",
                        agg("sum", sel("support_sla_at_risk", C, Q), "channel"),
                        thresholds=_thresholds((None, "green"), (1, "yellow")),
                    ),
                    Column(
                        "Breached open",
                        agg("sum", sel("support_sla_breached_open", C, Q), "channel"),
                        thresholds=ZERO_IS_GOOD,
                    ),
                ],
                description="Open tickets (backlog), those without a public agent reply yet, "
                "and the open SLA targets at risk and breached (every priority and target; "
                "channel chat includes live chats).",
                w=8,
                h=10,
                sort_by=("Open", True),
            )
        )
        .with_panel(
            ts(
                "Created vs solved per hour",
                [
                    Query(total("support_tickets_created_total", C, window="1h"), "created"),
                    Query(total("support_tickets_solved_total", C, window="1h"), "solved"),
                ],
                unit=PER_HOUR,
                description="Tickets created and solved in the trailing hour: created above "
                "solved means the backlog grows (alert BacklogGrowing).",
                w=8,
                h=10,
                decimals=0,
            )
        )
        .with_panel(
            bars(
                "Volume vs forecast (current hour)",
                [
                    Query(
                        share(
                            agg("max", sel("support_volume_actual", C), "channel"),
                            agg("max", sel("support_volume_forecast", C), "channel"),
                        ),
                        "{{channel}}",
                    )
                ],
                unit="percentunit",
                description="Arrivals so far this hour (event time) ÷ the forecast for the whole "
                "hour, per channel (no bar without a forecast): an hour on forecast ends at "
                "100 %. Red from VolumeAboveForecast's threshold; the run-rate projection is in "
                "the trends below.",
                w=8,
                h=10,
                thresholds=VOLUME_VS_FORECAST,
                max_val=1.5,
                decimals=0,
            )
        )
        # Below the first screen: trends per queue (one collapsed row per selected queue).
        .with_row(
            Row("Queue $queue: trends")
            .repeat("queue")
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
                    description="The line is ChatWaitOverTarget's threshold.",
                    w=8,
                    target_line=CHAT_TARGET_SECONDS,
                )
            )
            .with_panel(
                ts(
                    "Active chats vs chat capacity",
                    [
                        Query(active, "{{queue}} active"),
                        Query(capacity, "{{queue}} capacity"),
                    ],
                    unit="none",
                    description="Accepted chats not yet ended against the sum of max_chats of "
                    "online agents (dashed).",
                    w=8,
                    dashed=".* capacity",
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
                        Query(gap, "{{queue}} gap"),
                    ],
                    unit="none",
                    description="Erlang staffing for each queue's service-level target "
                    "(stage-two signal: one owner per queue).",
                    w=8,
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
                    description="Predicted share answered within target with the agents "
                    "available now.",
                    w=8,
                    max_val=1,
                )
            )
            .with_panel(
                ts(
                    "Predicted wait",
                    [
                        Query(
                            agg("max", sel("support_staffing_predicted_wait_seconds", Q),
                                "queue"),
                            "{{queue}}",
                        )
                    ],
                    unit="s",
                    description="Predicted average wait with the agents available now.",
                    w=8,
                )
            )
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
                    description="Now. An agent counts in every queue it serves.",
                    w=12,
                )
            )
            .with_panel(
                ts(
                    "Arrival rate per queue (5m)",
                    [
                        Query(
                            "3600 * "
                            + agg("max", sel("support_arrival_rate", Q, 'window="5m"'), "queue"),
                            "{{queue}}",
                        )
                    ],
                    unit=PER_HOUR,
                    description="New conversations over the last 5 minutes of event time, as "
                    "an hourly rate.",
                    w=12,
                    decimals=0,
                )
            )
        )
        .with_row(
            Row("Tickets and volume: trends")
            .with_panel(
                ts(
                    "Open tickets and awaiting first response by channel",
                    [
                        Query(open_tickets, "{{channel}} open"),
                        Query(awaiting, "{{channel}} awaiting first response"),
                    ],
                    unit="none",
                    description="A backlog that keeps growing means arrivals exceed resolution "
                    "capacity. Channels without tickets are hidden.",
                    w=9,
                    hide_all_zero=True,
                )
            )
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
                    description="Arrivals so far this hour (event time), the forecast for the "
                    "hour and the run-rate projection (dashed). Series that stay at 0 are "
                    "hidden.",
                    w=9,
                    dashed=".* (forecast|projected)",
                    hide_all_zero=True,
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
                [Query(agg("sum", sel(at_risk, C, Q), "target"), "{{target}}")],
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
                [Query(agg("sum", sel(breached, C, Q), "target"), "{{target}}")],
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
                    Query(breaches_projected(by="horizon"), "next {{horizon}}")
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
                        agg("sum", sel(at_risk, C, Q), "target, channel, priority"),
                        "{{target}} {{channel}}/{{priority}}",
                    )
                ],
                unit="none",
                w=12,
                stacked=True,
                hide_all_zero=True,
            )
        )
        .with_panel(
            ts(
                "Breached open by target, channel and priority",
                [
                    Query(
                        agg("sum", sel(breached, C, Q), "target, channel, priority"),
                        "{{target}} {{channel}}/{{priority}}",
                    )
                ],
                unit="none",
                w=12,
                stacked=True,
                hide_all_zero=True,
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
                unit=PER_HOUR,
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
                target_line=CHAT_TARGET_SECONDS,
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


# Engagement (CONTRACT §4, second round): exact event-time windows kept by the workers
# (`window` 30d/365d), so these panels read the gauges as they are and ignore the time range.
WINDOW_SEGMENT = "window, segment"
ENGAGEMENT_NOTE = (
    " Windows are the last 30 and 365 days of event time, kept exactly by the workers; the "
    "time range does not change them. Segments: all customers who ordered in the window, "
    "those with a support contact (ticket or chat) in it, those without."
)


def _engagement(metric: str, *matchers: str, by: str = WINDOW_SEGMENT) -> str:
    """A window gauge summed over workers (per partition, like every live gauge)."""
    return agg("sum", sel(f"support_window_{metric}", *matchers), by)


def _order_value() -> str:
    """Average order value: revenue ÷ orders, per currency (not converted)."""
    by = f"{WINDOW_SEGMENT}, currency"
    return f"{_engagement('revenue', by=by)} / ({_engagement('orders', by=by)} > 0)"


def _purchase_frequency() -> str:
    """Orders ÷ distinct customers who ordered."""
    return f"{_engagement('orders')} / ({_engagement('customers')} > 0)"


def _repeat_rate() -> str:
    """Customers with two or more orders ÷ customers who ordered."""
    return share(_engagement("repeat_customers"), _engagement("customers"))


def _guest_rate() -> str:
    """Orders placed without a customer account ÷ all orders."""
    return share(_engagement("orders", 'guest="yes"'), _engagement("orders"))


WINDOW_LABELS = [Label("window", "Window"), Label("segment", "Segment")]


def quality() -> Dashboard:
    pct = "percentunit"
    return (
        _skeleton(
            "supportpulse-quality",
            "Support Pulse / Quality & revenue",
            "Customer satisfaction and effort, first-contact resolution, automation, deflection, "
            "templates, campaigns, revenue from assisted orders and customer engagement "
            "(order value, purchase frequency, repeat and guest checkout rates, contacted vs "
            "not contacted). Stats cover the selected time range; engagement covers its own "
            "30- and 365-day windows.",
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
                unit=PER_HOUR,
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
                unit=PER_HOUR,
                w=12,
            )
        )
        .with_row(Row("Engagement (last 30 and 365 days)"))
        .with_panel(
            table(
                "Engagement by segment",
                WINDOW_LABELS,
                [
                    Column("Customers", _engagement("customers"), decimals=0),
                    Column("Orders per customer", _purchase_frequency(), decimals=2),
                    Column("Repeat purchase rate", _repeat_rate(), unit=pct, decimals=1),
                    Column("Guest checkout rate", _guest_rate(), unit=pct, decimals=1),
                ],
                description="Do customers who contacted support buy again? Customers who "
                "ordered, orders per customer (purchase frequency), the share with two or "
                "more orders (repeat purchase rate) and the share of orders placed without an "
                "account (guest checkout rate), per window and segment." + ENGAGEMENT_NOTE,
                w=12,
                no_value="No orders in the last 365 days",
            )
        )
        .with_panel(
            table(
                "Average order value by segment",
                [*WINDOW_LABELS, Label("currency", "Currency")],
                [
                    Column("Average order value", _order_value(), decimals=2),
                    Column("Orders", _engagement("orders", by=f"{WINDOW_SEGMENT}, currency"),
                           decimals=0),
                    Column("Revenue", _engagement("revenue", by=f"{WINDOW_SEGMENT}, currency"),
                           decimals=2),
                ],
                description="Revenue ÷ orders per currency (not converted), revenue summed "
                "exactly by the workers." + ENGAGEMENT_NOTE,
                w=12,
                no_value="No orders in the last 365 days",
            )
        )
        .with_panel(
            ts(
                "Repeat purchase rate by segment",
                [Query(_repeat_rate(), "{{window}} {{segment}}")],
                unit=pct,
                description="Customers with two or more orders in the window ÷ customers who "
                "ordered in it: contacted vs not contacted." + ENGAGEMENT_NOTE,
                w=12,
                max_val=1,
            )
        )
        .with_panel(
            ts(
                "Orders per customer by segment",
                [Query(_purchase_frequency(), "{{window}} {{segment}}")],
                unit="none",
                description="Purchase frequency: orders in the window ÷ customers who ordered "
                "in it." + ENGAGEMENT_NOTE,
                w=12,
                decimals=2,
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
                                       (alert_threshold("PipelineLagging", after=LAG), "red")),
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
