"""All Prometheus metrics (CONTRACT §4) in one place, on an injected `CollectorRegistry`.

Counters and histograms are updated from domain effects. Live gauges are not set per event: a
custom collector derives them at scrape time from the partitions this worker owns (invariant 4),
so a revoked partition's numbers disappear with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stream.domain import effects as fx
from stream.domain.commerce import (
    ASSISTED_ORDERS,
    ASSISTED_REVENUE,
    CAMPAIGN_SHOWN,
    ORDERS,
    SELFSERVICE_SESSIONS,
)
from stream.domain.effects import Count, Effect, Observe
from stream.domain.events import CHANNELS, PRIORITIES, REJECT_REASONS, TYPES_BY_STREAM

EVENTS = "events"  # support_events_total, kept with the effect counters for the child cache
AUTHORS = ("agent", "customer", "bot")
TARGETS = ("first_response", "next_response", "resolution")
RESOLVERS = ("agent", "bot", "self_service")
SCORES = ("1", "2", "3", "4", "5")
STREAMS = tuple(TYPES_BY_STREAM)

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


@dataclass
class LiveView:
    """What the live collector reads at scrape time (filled in by the pipeline)."""

    gauges: Callable[[], Mapping[tuple[str, tuple[str, ...]], int]] = dict
    oldest_waiting: Callable[[], Mapping[str, datetime]] = dict
    now: Callable[[], datetime] | None = None
    last_event_at: dict[str, datetime] = field(default_factory=dict)
    partitions_owned: Callable[[], int] = lambda: 0
    table_keys: Callable[[], Mapping[str, int]] = dict
    redis_up: Callable[[], bool] = lambda: False


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
        self.live = LiveView()

        def counter(name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
            return Counter(f"support_{name}", doc, labels, registry=registry)

        self.events = counter("events", "Events applied, by stream and type.", ("stream", "type"))
        self.rejected = counter("events_rejected", "Input rejected to the DLQ.", ("reason",))
        self.late = counter("events_late", "Events older than the state they change.", ("stream",))
        cp = ("channel", "priority")
        self.counters: dict[str, Counter] = {
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
            ORDERS: counter("orders", "Orders placed (all, for conversion rates).", ("currency",)),
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
        registry.register(LiveCollector(self))

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
        self.counters[fx.CAMPAIGN_CHATS].inc(0)
        self.counters[fx.CHAT_CONVERSIONS].inc(0)
        self.counters[CAMPAIGN_SHOWN].inc(0)
        for resolved in ("yes", "no"):
            self.counters[SELFSERVICE_SESSIONS].labels(resolved)
        for currency in self.currency_labels:
            for name in (ORDERS, ASSISTED_ORDERS, ASSISTED_REVENUE):
                self.counters[name].labels(currency)
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

    def event(self, stream: str, type_name: str) -> None:
        self.child(EVENTS, (stream, type_name)).inc()

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()


# Up to this many queue labels every (channel, priority, queue) combination of the backlog and
# SLA gauges is exported, zeros included (5 queues: 800 series); past it only those in use.
DENSE_QUEUES = 10


def described(names: Iterable[str]) -> list[Metric]:
    """Sample-less gauge families: what a custom collector's describe() gives the registry for
    its duplicate-name check without collecting."""
    return [GaugeMetricFamily(name, name) for name in names]


class LiveCollector(Collector):
    """Gauges derived at scrape time from owned partitions and pipeline health."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    # What collect() exposes, named here because collect() needs the pipeline's live sources,
    # which do not exist yet when the collector is registered. Declaring the names lets the
    # registry refuse a second collector of the same name (tests/component keep the two equal).
    NAMES: ClassVar[tuple[str, ...]] = (
        "support_sla_at_risk", "support_sla_breached_open", "support_tickets_open",
        "support_tickets_awaiting_first_response", "support_chat_queue_waiting",
        "support_chats_active", "support_agents", "support_agent_chat_capacity",
        "support_chat_queue_oldest_wait_seconds", "support_event_lag_seconds",
        "support_table_keys", "support_partitions_owned", "support_redis_up",
    )

    def describe(self) -> Iterable[Metric]:
        return described(self.NAMES)

    def collect(self) -> Iterator[Metric]:
        live = self.metrics.live
        queues = self.metrics.queue_labels
        cp = ("channel", "priority")
        families = {
            "tickets_open": GaugeMetricFamily(
                "support_tickets_open", "Tickets not solved or closed (backlog).",
                labels=[*cp, "queue"],
            ),
            "tickets_awaiting_first_response": GaugeMetricFamily(
                "support_tickets_awaiting_first_response",
                "Open tickets without a public agent reply.",
                labels=[*cp, "queue"],
            ),
            "chat_queue_waiting": GaugeMetricFamily(
                "support_chat_queue_waiting", "Chats requested, not yet answered.", labels=["queue"]
            ),
            "chats_active": GaugeMetricFamily(
                "support_chats_active", "Accepted chats not yet ended.", labels=["queue"]
            ),
        }
        values = live.gauges()
        # Every combination at 0 while the queues are few (boards and rates have data at once);
        # with many queues only the combinations in use, to stay within the scrape budget.
        dense = len(queues) <= DENSE_QUEUES
        for channel in CHANNELS:
            for priority in PRIORITIES:
                for queue in queues:
                    for name in ("tickets_open", "tickets_awaiting_first_response"):
                        value = values.get((name, (channel, priority, queue)), 0)
                        if dense or value:
                            families[name].add_metric([channel, priority, queue], value)
        for queue in queues:
            for name in ("chat_queue_waiting", "chats_active"):
                families[name].add_metric([queue], values.get((name, (queue,)), 0))
        sla = {
            name: GaugeMetricFamily(f"support_{name}", doc, labels=[*cp, "target", "queue"])
            for name, doc in (
                ("sla_at_risk", "Open targets at risk, not yet breached."),
                ("sla_breached_open", "Open conversations whose target is breached."),
            )
        }
        for channel in CHANNELS:
            for priority in PRIORITIES:
                for target in TARGETS:
                    for queue in queues:
                        for name, family in sla.items():
                            value = values.get((name, (channel, priority, target, queue)), 0)
                            if dense or value:
                                family.add_metric([channel, priority, target, queue], value)
        yield from sla.values()
        agents = GaugeMetricFamily(
            "support_agents", "Agents by presence, in every queue they serve.",
            labels=["queue", "status"],
        )
        capacity = GaugeMetricFamily(
            "support_agent_chat_capacity", "Sum of max_chats of online agents.", labels=["queue"]
        )
        for queue in queues:
            for status in ("online", "away", "offline"):
                agents.add_metric([queue, status], values.get(("agents", (queue, status)), 0))
            capacity.add_metric([queue], values.get(("agent_chat_capacity", (queue,)), 0))
        yield from families.values()
        yield agents
        yield capacity

        now = live.now() if live.now else None
        oldest = GaugeMetricFamily(
            "support_chat_queue_oldest_wait_seconds",
            "Age of the longest-waiting chat (0 when none).",
            labels=["queue"],
        )
        waiting = live.oldest_waiting()
        for queue in queues:
            since = waiting.get(queue)
            age = max(0.0, (now - since).total_seconds()) if since and now else 0.0
            oldest.add_metric([queue], age)
        yield oldest

        lag = GaugeMetricFamily(
            "support_event_lag_seconds",
            "Now minus occurred_at of the last event processed.",
            labels=["stream"],
        )
        for stream in STREAMS:
            last = live.last_event_at.get(stream)
            lag.add_metric([stream], max(0.0, (now - last).total_seconds()) if last and now else 0)
        yield lag
        keys = GaugeMetricFamily(
            "support_table_keys", "Keys held in this worker's tables (state size).",
            labels=["table"],
        )
        for table, count in sorted(live.table_keys().items()):
            keys.add_metric([table], count)
        yield keys
        yield GaugeMetricFamily(
            "support_partitions_owned",
            "Input partitions this worker owns.",
            value=live.partitions_owned(),
        )
        yield GaugeMetricFamily(
            "support_redis_up", "1 when the Redis read model is reachable.", value=live.redis_up()
        )
