"""The live gauges (CONTRACT §4 "live state"), derived at scrape time from what the worker owns.

Nothing here is set per event (invariant 4): the collector sums the owned partitions' gauge
counters when Prometheus scrapes, so a revoked partition's numbers leave with it. Names, labels
and help come from `stream.domain.gauges`; the sources are given at construction, so the
collector is complete when it is registered and `describe()` lets the registry refuse a second
collector of the same name.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stream.domain import gauges as g
from stream.domain.engagement import GUEST_LABELS, SEGMENTS, WINDOWS
from stream.domain.events import CHANNELS, PRIORITIES, TYPES_BY_STREAM
from stream.domain.partition import GaugeKey
from stream.domain.presence import STATUSES
from stream.domain.sla_policy import TARGETS

# Up to this many queue labels every (channel, priority, queue) combination of the backlog and
# SLA gauges is exported, zeros included (5 queues: 800 series); past it only those in use.
DENSE_QUEUES = 10


class LiveSources(Protocol):
    """What the worker owns, read at scrape time."""

    def gauges(self) -> Mapping[GaugeKey, int]: ...

    def oldest_waiting(self) -> Mapping[str, datetime]: ...

    def table_keys(self) -> Mapping[str, int]: ...

    def partitions_owned(self) -> int: ...

    def redis_up(self) -> bool: ...


def family(gauge: g.Gauge) -> GaugeMetricFamily:
    return GaugeMetricFamily(gauge.metric, gauge.help, labels=list(gauge.labels))


class LiveCollector(Collector):
    NAMES: ClassVar[tuple[str, ...]] = tuple(gauge.metric for gauge in g.LIVE)

    def __init__(
        self,
        queues: Sequence[str],
        sources: LiveSources,
        last_event_at: Mapping[str, datetime],
        now: Callable[[], datetime],
        currencies: Sequence[str] = ("EUR", "USD", "other"),
    ) -> None:
        self.queues = tuple(queues)
        self.sources = sources
        self.last_event_at = last_event_at
        self.now = now
        domains = {"channel": CHANNELS, "priority": PRIORITIES, "target": TARGETS,
                   "queue": self.queues, "status": STATUSES,
                   "window": tuple(name for name, _ in WINDOWS), "segment": SEGMENTS,
                   "guest": GUEST_LABELS, "currency": tuple(currencies)}
        # Every label combination of each partition gauge, in exposition order.
        self._combinations = {
            gauge.key: list(itertools.product(*(domains[label] for label in gauge.labels)))
            for gauge in g.LIVE if gauge.source == "partition"
        }

    def describe(self) -> Iterable[Metric]:
        return [family(gauge) for gauge in g.LIVE]

    def collect(self) -> Iterator[Metric]:
        values = self.sources.gauges()
        # Every combination at 0 while the queues are few (boards and rates have data at once);
        # with many queues the per-channel gauges only export the combinations in use, to stay
        # within the scrape budget.
        dense = len(self.queues) <= DENSE_QUEUES
        now = self.now()
        for gauge in g.LIVE:
            metric = family(gauge)
            if gauge.source == "partition":
                sparse = not dense and "channel" in gauge.labels
                scale = gauge.scale
                for labels in self._combinations[gauge.key]:
                    value = values.get((gauge.key, labels), 0)
                    if value or not sparse:
                        metric.add_metric(labels, value / scale if scale != 1 else value)
            else:
                for worker_labels, amount in self._worker_values(gauge, now):
                    metric.add_metric(worker_labels, amount)
            yield metric

    def _worker_values(
        self, gauge: g.Gauge, now: datetime
    ) -> Iterable[tuple[Sequence[str], float]]:
        if gauge is g.CHAT_QUEUE_OLDEST_WAIT:
            waiting = self.sources.oldest_waiting()
            return [((queue,), _age(now, waiting.get(queue))) for queue in self.queues]
        if gauge is g.EVENT_LAG:
            return [((stream,), _age(now, self.last_event_at.get(stream)))
                    for stream in TYPES_BY_STREAM]
        if gauge is g.TABLE_KEYS:
            return [((table,), n) for table, n in sorted(self.sources.table_keys().items())]
        if gauge is g.PARTITIONS_OWNED:
            return [((), self.sources.partitions_owned())]
        if gauge is g.REDIS_UP:
            return [((), float(self.sources.redis_up()))]
        raise AssertionError(f"no source for {gauge.metric}")


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0
