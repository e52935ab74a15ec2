"""Stage two (invariant 5): partial rollups out, cluster-wide signals in.

`build_partials` turns the partitions a worker owns into one `Partial` per (key, partition);
the pipeline sends them to `<app>-rollups` keyed by `queue:<q>`, `channel:<c>` or `global`.
`SignalOwner` keeps, for the keys of the rollup partitions this worker owns, the latest partial
of every source partition, and exposes the signals as gauges. Exactly one worker owns a key, so
the sum of a signal over all workers is its value. Nothing here needs a changelog: partials
are re-sent every interval, so a new owner is complete after one interval.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import msgspec
import yaml
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from stream.domain import effects as fx
from stream.domain import gauges as g
from stream.domain.conversations import SLA_DUE
from stream.domain.events import CHANNELS
from stream.domain.partition import PartitionState
from stream.domain.signals import (
    HORIZONS,
    RATE_WINDOWS,
    ChannelSignals,
    Forecast,
    Partial,
    QueueSignals,
    StaffingTargets,
    channel_signals,
    queue_signals,
)
from stream.live import family
from stream.shipped import ConfigSource

QUEUE_FIELDS = (
    fx.ARRIVALS_QUEUE, fx.CHAT_ARRIVALS, fx.TICKET_ARRIVALS, fx.HANDLE_SUM, fx.HANDLE_N,
    fx.WAIT_SUM, fx.ABANDONED,
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def build_partials(
    partitions: dict[int, list[PartitionState[Any]]],
    queues: Sequence[str],
    now: datetime,
) -> Iterator[tuple[str, Partial]]:
    """(key, partial) for every queue/channel key and every owned partition number."""
    minute = int(now.timestamp() // 60)
    hour = minute // 60
    for p, parts in partitions.items():
        gauges: dict[tuple[str, tuple[str, ...]], int] = {}
        minutes: dict[int, dict[str, float]] = {}
        hours: dict[int, dict[str, float]] = {}
        for part in parts:
            for key, value in part.all_counts():
                gauges[key] = gauges.get(key, 0) + value
            for m, bucket in part.minutes.items():
                if m >= minute - 60:
                    merged = minutes.setdefault(m, {})
                    for field, v in bucket.items():
                        merged[field] = merged.get(field, 0.0) + v
            for h, bucket in part.hours.items():
                if (hour - h) % 168 == 0 and h < hour:
                    merged = hours.setdefault(h, {})
                    for field, v in bucket.items():
                        merged[field] = merged.get(field, 0.0) + v
        # (queue, kind) → {deadline minute: open targets} within the longest horizon.
        due: dict[tuple[str, str], dict[int, float]] = {}
        for (name, labels), n in gauges.items():
            if name == SLA_DUE and n and minute <= int(labels[2]) < minute + 60:
                due.setdefault((labels[0], labels[1]), {})[int(labels[2])] = n
        for queue in queues:
            wanted = {f"{f}|{queue}" for f in QUEUE_FIELDS}
            yield f"queue:{queue}", Partial(
                partition=p,
                minutes={
                    m: {f: v for f, v in bucket.items() if f in wanted}
                    for m, bucket in minutes.items()
                },
                online=gauges.get((g.AGENTS.key, (queue, "online")), 0),
                capacity=gauges.get((g.AGENT_CHAT_CAPACITY.key, (queue,)), 0),
                due=due.get((queue, "ticket"), {}),
                chat_due=due.get((queue, "chat"), {}),
            )
        for channel in CHANNELS:
            field = f"{fx.ARRIVALS_CHANNEL}|{channel}"
            yield f"channel:{channel}", Partial(
                partition=p,
                minutes={
                    m: {field: bucket[field]}
                    for m, bucket in minutes.items()
                    if m >= hour * 60 and field in bucket
                },
                hours={h: bucket[field] for h, bucket in hours.items() if field in bucket},
            )
        yield "global", Partial(partition=p)


def load_forecast(source: ConfigSource | None, multiplier: float) -> Forecast:
    """A baseline profile file: `weekly: {mon: {"9": {email: 40, chat: 60}}}`, optional
    `multiplier` (e.g. 3 for last year's Black Friday × 3); the setting multiplies on top."""
    if source is None:
        return Forecast({}, multiplier)
    try:
        data = yaml.safe_load(source.text) or {}
        weekly: dict[tuple[int, int, str], float] = {}
        for day, hours in (data.get("weekly") or {}).items():
            for hour, channels in (hours or {}).items():
                for channel, value in (channels or {}).items():
                    weekly[(WEEKDAYS.index(str(day)), int(hour), str(channel))] = float(value)
        return Forecast(weekly, multiplier * float(data.get("multiplier", 1.0)))
    except (yaml.YAMLError, AttributeError, TypeError, ValueError) as exc:
        raise ForecastFileError(f"{source.name}: not a forecast baseline: {exc}") from exc


class ForecastFileError(ValueError):
    """A forecast baseline file that cannot be read as one."""


class SignalOwner(Collector):
    def __init__(
        self,
        queues: Sequence[str],
        targets: StaffingTargets,
        queue_targets: dict[str, StaffingTargets],
        forecast: Forecast,
        timezone: str,
        now: Any,
        stale_after: float,
    ) -> None:
        self.queues = [*queues, "other"]
        self.targets = targets
        self.queue_targets = queue_targets
        self.forecast = forecast
        self.tz = ZoneInfo(timezone)
        self.now = now
        self.stale_after = stale_after
        # key → (rollup partition, {source partition: (received, partial)})
        self.keys: dict[str, tuple[int, dict[int, tuple[float, Partial]]]] = {}
        self.contact_rate: float | None = None
        self._decoder = msgspec.json.Decoder(Partial)

    def receive(self, key: str, rollup_partition: int, payload: bytes) -> None:
        partial = self._decoder.decode(payload)
        _, by_partition = self.keys.setdefault(key, (rollup_partition, {}))
        by_partition[partial.partition] = (time.monotonic(), partial)
        self.keys[key] = (rollup_partition, by_partition)

    def assign(self, rollup_partitions: Iterable[int]) -> None:
        """Drop keys whose rollup partition moved to another worker (no stale gauges)."""
        owned = set(rollup_partitions)
        for key in [k for k, (p, _) in self.keys.items() if p not in owned]:
            del self.keys[key]

    def partials(self, key: str) -> list[Partial] | None:
        entry = self.keys.get(key)
        if entry is None:
            return None
        cutoff = time.monotonic() - self.stale_after
        fresh = [partial for received, partial in entry[1].values() if received >= cutoff]
        return fresh or None

    def queue(self, queue: str) -> QueueSignals | None:
        partials = self.partials(f"queue:{queue}")
        if not partials:
            return None
        targets = self.queue_targets.get(queue, self.targets)
        return queue_signals(queue, partials, self.now(), targets)

    def channel(self, channel: str) -> ChannelSignals | None:
        partials = self.partials(f"channel:{channel}")
        if not partials:
            return None
        now = self.now()
        return channel_signals(channel, partials, now, now.astimezone(self.tz), self.forecast)

    def owns_global(self) -> bool:
        return self.partials("global") is not None

    NAMES: ClassVar[tuple[str, ...]] = tuple(gauge.metric for gauge in g.SIGNALS)

    def describe(self) -> Iterable[Metric]:
        return [family(gauge) for gauge in g.SIGNALS]

    def collect(self) -> Iterator[Metric]:
        out = {gauge: family(gauge) for gauge in g.SIGNALS}
        staffing = {
            g.STAFFING_REQUIRED: "required_agents", g.STAFFING_AVAILABLE: "available_agents",
            g.STAFFING_GAP: "gap_agents", g.STAFFING_WAIT: "predicted_wait_seconds",
            g.STAFFING_SERVICE_LEVEL: "predicted_service_level_ratio",
        }
        for queue in self.queues:
            signals = self.queue(queue)
            if signals is None:
                continue
            for window in RATE_WINDOWS:
                out[g.ARRIVAL_RATE].add_metric([queue, window], signals.arrival_rate[window])
            for gauge, field in staffing.items():
                out[gauge].add_metric([queue], float(getattr(signals, field)))
            for horizon in HORIZONS:
                out[g.SLA_BREACHES_PROJECTED].add_metric(
                    [queue, horizon], signals.breaches_projected[horizon]
                )
        for channel in CHANNELS:
            signals_c = self.channel(channel)
            if signals_c is None:
                continue
            out[g.VOLUME_ACTUAL].add_metric([channel], signals_c.actual)
            out[g.VOLUME_PROJECTED].add_metric([channel], signals_c.projected)
            if signals_c.forecast is not None:
                out[g.VOLUME_FORECAST].add_metric([channel], signals_c.forecast)
        if self.owns_global() and self.contact_rate is not None:
            out[g.CONTACT_RATE].add_metric([], self.contact_rate)
        yield from out.values()
