"""All Prometheus metrics (CONTRACT §4) in one place, on an injected `CollectorRegistry`.

Counters and histograms are updated from domain effects. Live gauges are not set per event: the
collector in `stream.live` derives them at scrape time from the partitions this worker owns
(invariant 4), so a revoked partition's numbers disappear with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from stream.domain import effects as fx
from stream.domain.commerce import (
    ASSISTED_ORDERS,
    ASSISTED_REVENUE,
    CAMPAIGN_SHOWN,
    ORDERS,
    REVENUE,
    SELFSERVICE_SESSIONS,
)
from stream.domain.effects import Count, Effect, Observe
from stream.domain.engagement import AMOUNT_SCALE
from stream.domain.events import CHANNELS, PRIORITIES, REJECT_REASONS, TYPES_BY_STREAM
from stream.domain.sla_policy import TARGETS

EVENTS = "events"  # support_events_total, kept with the effect counters for the child cache
AUTHORS = ("agent", "customer", "bot")
RESOLVERS = ("agent", "bot", "self_service")
SCORES = ("1", "2", "3", "4", "5")

# Chat waits are seconds, e-mail first responses hours: one bucket set must cover both.
RESPONSE_BUCKETS = (
    5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400,
    172800,
)
RESOLUTION_BUCKETS = (
    60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200, 604800,
)
CHAT_WAIT_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200)

# `_created` series double the series count and no board or rule reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        queues: Sequence[str],
        currencies: Sequence[str] = ("EUR", "USD"),
    ) -> None:
        self.registry = registry
        self.queue_labels = (*queues, "other")
        self.currency_labels = (*currencies, "other")
        # Per stream, the occurred_at of the latest event processed (support_event_lag_seconds).
        self.last_event_at: dict[str, datetime] = {}

        def counter(name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
            return Counter(f"support_{name}", doc, labels, registry=registry)

        self.events = counter("events", "Events applied, by stream and type.", ("stream", "type"))
        self.rejected = counter("events_rejected", "Input rejected to the DLQ.", ("reason",))
        self.late = counter("events_late", "Events older than the state they change.", ("stream",))
        # Table recovery at assignment (stream/table_recovery.py); `start` is `snapshot` (a local
        # snapshot plus the changelog tail) or `beginning` (the whole changelog).
        self.recoveries = counter(
            "table_recoveries", "Table partitions recovered, by where the read started.",
            ("table", "start"),
        )
        self.recovery_records = counter(
            "table_recovery_records", "Changelog records read by table recoveries.",
            ("table", "start"),
        )
        self.recovery_seconds = Gauge(
            "support_table_recovery_seconds",
            "Seconds the last recovery of a table partition took (assignment to ready).",
            ("table", "partition"), registry=registry,
        )
        cp = ("channel", "priority")
        self.counters: dict[str, Counter | ExactCounter] = {
            fx.TICKETS_CREATED: counter("tickets_created", "Tickets created.", cp),
            fx.TICKETS_SOLVED: counter("tickets_solved", "Tickets solved.", cp),
            fx.TICKETS_SOLVED_ONE_TOUCH: counter(
                "tickets_solved_one_touch", "Tickets solved with one public agent reply.", cp
            ),
            fx.CHATS_REQUESTED: counter("chats_requested", "Chats requested.", ("queue",)),
            fx.CHATS_MISSED: counter(
                "chats_missed", "Chats abandoned before an answer.", ("queue",)
            ),
            fx.REPLIES: counter("replies", "Replies.", ("channel", "author", "template")),
            fx.RESOLUTIONS: counter("resolutions", "Resolutions.", ("channel", "resolver")),
            fx.CSAT: counter("csat_responses", "CSAT survey answers.", ("channel", "score")),
            fx.CES: counter("ces_responses", "Customer effort answers.", ("channel", "score")),
            fx.CAMPAIGN_CHATS: counter("campaign_chats", "Chats answering a campaign."),
            fx.CHAT_CONVERSIONS: counter("chat_conversions", "Chats converted into tickets."),
            CAMPAIGN_SHOWN: counter("campaign_shown", "Proactive chat campaigns shown."),
            SELFSERVICE_SESSIONS: counter(
                "selfservice_sessions", "Self-service sessions.", ("resolved",)
            ),
            ORDERS: counter(
                "orders", "Orders placed (all; guest: without a customer account).",
                ("currency", "guest"),
            ),
            REVENUE: ExactCounter(
                "support_revenue", "Revenue of all orders, summed exactly (not converted).",
                ("currency",), AMOUNT_SCALE, registry,
            ),
            ASSISTED_ORDERS: counter(
                "assisted_orders", "Orders after a support contact in the window.", ("currency",)
            ),
            ASSISTED_REVENUE: counter(
                "assisted_revenue", "Revenue of assisted orders.", ("currency",)
            ),
            fx.SLA_BREACHES: counter(
                "sla_breaches", "SLA targets breached.", ("channel", "priority", "target")
            ),
            fx.SLA_MET: counter(
                "sla_met", "SLA targets met before their deadline (per next-response cycle).",
                ("channel", "priority", "target"),
            ),
            fx.EVENTS_LATE: self.late,
            EVENTS: self.events,
        }
        self.histograms: dict[str, Histogram] = {
            fx.FIRST_RESPONSE_SECONDS: Histogram(
                "support_first_response_seconds", "Time to first public agent reply.", cp,
                buckets=RESPONSE_BUCKETS, registry=registry,
            ),
            fx.RESPONSE_SECONDS: Histogram(
                "support_response_seconds", "Time to every agent reply.", ("channel",),
                buckets=RESPONSE_BUCKETS, registry=registry,
            ),
            fx.RESOLUTION_SECONDS: Histogram(
                "support_resolution_seconds", "Creation to solved.", cp,
                buckets=RESOLUTION_BUCKETS, registry=registry,
            ),
            fx.CHAT_WAIT_SECONDS: Histogram(
                "support_chat_wait_seconds", "Chat request to accept.", ("queue",),
                buckets=CHAT_WAIT_BUCKETS, registry=registry,
            ),
        }
        # prometheus_client's .labels() costs a lock and a dict build; the hot path caches them.
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._initialise_series()

    def _initialise_series(self) -> None:
        """Create every bounded label combination at 0 so rates and boards have data at once."""
        for stream, types in TYPES_BY_STREAM.items():
            for type_name in types:
                self.events.labels(stream, type_name)
            self.late.labels(stream)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        for channel in CHANNELS:
            for priority in PRIORITIES:
                for name in (fx.TICKETS_CREATED, fx.TICKETS_SOLVED, fx.TICKETS_SOLVED_ONE_TOUCH):
                    self.counters[name].labels(channel, priority)
                for target in TARGETS:
                    self.counters[fx.SLA_BREACHES].labels(channel, priority, target)
                    self.counters[fx.SLA_MET].labels(channel, priority, target)
        for queue in self.queue_labels:
            self.counters[fx.CHATS_REQUESTED].labels(queue)
            self.counters[fx.CHATS_MISSED].labels(queue)
        for name in (fx.CAMPAIGN_CHATS, fx.CHAT_CONVERSIONS, CAMPAIGN_SHOWN):
            self.child(name, ()).inc(0)
        for resolved in ("yes", "no"):
            self.counters[SELFSERVICE_SESSIONS].labels(resolved)
        for currency in self.currency_labels:
            for name in (REVENUE, ASSISTED_ORDERS, ASSISTED_REVENUE):
                self.counters[name].labels(currency)
            for guest in ("yes", "no"):
                self.counters[ORDERS].labels(currency, guest)
        for channel in CHANNELS:
            for author in AUTHORS:
                for template in ("yes", "no"):
                    self.counters[fx.REPLIES].labels(channel, author, template)
            for resolver in RESOLVERS:
                self.counters[fx.RESOLUTIONS].labels(channel, resolver)
            for score in SCORES:
                self.counters[fx.CSAT].labels(channel, score)
                self.counters[fx.CES].labels(channel, score)

    def child(self, metric: str, labels: tuple[str, ...]) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            parent = self.counters.get(metric) or self.histograms[metric]
            child = parent.labels(*labels) if labels else parent
            self._children[key] = child
        return child

    def apply(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Count):
                self.child(effect.metric, effect.labels).inc(effect.amount)
            elif isinstance(effect, Observe):
                self.child(effect.metric, effect.labels).observe(effect.value)
            # Tally and Notice effects are handled by the partition and the pipeline.

    def event(self, stream: str, type_name: str, occurred_at: datetime) -> None:
        self.child(EVENTS, (stream, type_name)).inc()
        last = self.last_event_at.get(stream)
        if last is None or occurred_at > last:
            self.last_event_at[stream] = occurred_at

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()


class ExactCounter(Collector):
    """A counter of amounts in integer units of 1/scale: prometheus_client's Counter adds
    binary floats (0.1 + 0.2), these totals are Python ints, divided only at exposition."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], scale: int,
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = tuple(labels)
        self.scale = scale
        self.totals: dict[tuple[str, ...], _ExactChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> _ExactChild:
        child = self.totals.get(values)
        if child is None:
            child = self.totals[values] = _ExactChild()
        return child

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=list(self.label_names))

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for values, child in self.totals.items():
            family.add_metric(list(values), child.total / self.scale)
        yield family


class _ExactChild:
    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0

    def inc(self, amount: float = 1) -> None:
        if not isinstance(amount, int):
            raise TypeError(f"an exact counter adds ints, not {type(amount).__name__}")
        self.total += amount


def recovery_observer(metrics: Metrics, table: str) -> Callable[[int, float, int, bool], None]:
    """`ChangelogTable.on_recovered` for one table."""

    def observe(partition: int, seconds: float, records: int, from_snapshot: bool) -> None:
        start = "snapshot" if from_snapshot else "beginning"
        metrics.recoveries.labels(table, start).inc()
        metrics.recovery_records.labels(table, start).inc(records)
        metrics.recovery_seconds.labels(table, str(partition)).set(seconds)

    return observe
