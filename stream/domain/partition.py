"""The state of one source partition: conversations, derived live gauges, retention index.

This is the exactly-once core (DESIGN invariant 2), kept pure so it can be tested without Kafka:
- an event at or below the partition's applied offset, or at or below the offset stored on its
  key, is not applied again (replays after a crash are no-ops);
- live gauges are *derived*: every stored value contributes to a set of gauge keys, and applying
  an event swaps the old value's contributions for the new one's, so after a recovery
  `rebuild()` gives exactly what incremental processing had (invariant 4);
- terminal conversations are deleted once the partition's event-time watermark passes their end
  plus the retention, so replays delete the same keys at the same offsets (invariants 6, 8);
- every change is recorded as dirty so the adapter can write one changelog record per key per
  batch instead of one per event.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

import msgspec

from stream.domain.effects import Effect, Notice
from stream.domain.events import Decoded, Event

GaugeKey = tuple[str, tuple[str, ...]]


class Stored(Protocol):
    offset: int
    updated_at: datetime


S = TypeVar("S", bound=Stored)


class Kind(Protocol[S]):
    """How one stream's conversations behave: the pure rules the partition needs."""

    name: str
    value_type: type[S]

    def apply(
        self, state: S | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[S | None, list[Effect]]: ...

    def contributions(self, state: S) -> Iterable[GaugeKey] | Mapping[GaugeKey, int]:
        """Gauge keys this value counts in (an iterable counts 1 each; a mapping gives weights)."""

    def waiting_since(self, state: S) -> tuple[str, datetime] | None:
        """(queue label, since) for conversations whose wait age is a gauge."""

    def ended_at(self, state: S) -> datetime | None:
        """When the conversation reached a terminal state (retention starts), else None."""

    def evaluate(self, state: S, now: datetime) -> tuple[S | None, list[Effect]]:
        """Time-driven transitions (SLA at risk / breached) at `now`; (None, []) if none."""

    def next_due(self, state: S) -> datetime | None:
        """The next instant at which `evaluate` may change this value, if any."""


class PartitionMeta(msgspec.Struct, array_like=True):
    applied_offset: int = -1
    watermark: datetime | None = None


META_KEY = "\x00meta"


class PartitionState(Generic[S]):
    def __init__(self, partition: int, kind: Kind[S], retention: timedelta) -> None:
        self.partition = partition
        self.kind = kind
        self.retention = retention
        self.values: dict[str, S] = {}
        self.meta = PartitionMeta()
        self.gauges: Counter[GaugeKey] = Counter()
        # queue label → {conversation key: waiting since}; small (bounded by abandonment).
        self.waiting: dict[str, dict[str, datetime]] = {}
        self._expiry: list[tuple[datetime, str]] = []
        # Earliest SLA due instant per value: the sweep pops only what is due, so its cost per
        # tick does not grow with the number of open conversations (invariant 8).
        self._due: list[tuple[datetime, str]] = []
        self._dirty: dict[str, S | None] = {}
        self._meta_dirty = False
        # The last source offset that existed when this partition was assigned. Time-driven
        # transitions wait until it is applied: judging "now" against half-replayed state would
        # breach targets whose answers are still in the backlog.
        self.catch_up_to = -1

    @property
    def caught_up(self) -> bool:
        return self.meta.applied_offset >= self.catch_up_to

    # --- processing -------------------------------------------------------------------------
    def skip(self, offset: int) -> bool:
        """Record a message that changes no state (rejected input). False if seen before."""
        if offset <= self.meta.applied_offset:
            return False
        self.meta.applied_offset = offset
        self._meta_dirty = True
        return True

    def apply(self, key: str, offset: int, decoded: Decoded) -> list[Effect] | None:
        """Apply an event; None when this offset was applied before (a replay after a crash)."""
        if not self.skip(offset):
            return None
        at = decoded.occurred_at
        if self.meta.watermark is None or at > self.meta.watermark:
            self.meta.watermark = at
        old = self.values.get(key)
        if old is not None and offset <= old.offset:
            return None
        new, effects = self.kind.apply(old, decoded.event, at, offset)
        if new is not None:
            self._store(key, old, new)
        self._expire_due()
        return _with_conversation(effects, key)

    def pop_due(self, now: datetime, limit: int = 10000) -> list[str]:
        """Keys whose next SLA instant has passed (each once). Cost: O(due · log n)."""
        keys: dict[str, None] = {}
        heap = self._due
        while heap and heap[0][0] <= now and len(keys) < limit:
            keys[heapq.heappop(heap)[1]] = None
        return list(keys)

    def evaluate(self, key: str, now: datetime) -> list[Effect]:
        """Apply time-driven transitions to one key (the sweep's command, invariant 3)."""
        old = self.values.get(key)
        if old is None:
            return []
        new, effects = self.kind.evaluate(old, now)
        if new is None:
            # Nothing changed: the entry that woke us may be stale; keep the real next instant.
            due = self.kind.next_due(old)
            if due is not None:
                heapq.heappush(self._due, (due, key))
            return []
        self._store(key, old, new)
        return _with_conversation(effects, key)

    def _store(self, key: str, old: S | None, new: S) -> None:
        self.values[key] = new
        self._dirty[key] = new
        self._swap(key, old, new)
        ended = self.kind.ended_at(new)
        if ended is not None and (old is None or self.kind.ended_at(old) != ended):
            heapq.heappush(self._expiry, (ended + self.retention, key))
        due = self.kind.next_due(new)
        if due is not None and (old is None or self.kind.next_due(old) != due):
            heapq.heappush(self._due, (due, key))

    def _swap(self, key: str, old: S | None, new: S | None) -> None:
        if old is not None:
            self.gauges.subtract(self.kind.contributions(old))
            waiting = self.kind.waiting_since(old)
            if waiting is not None:
                self.waiting.get(waiting[0], {}).pop(key, None)
        if new is not None:
            self.gauges.update(self.kind.contributions(new))
            waiting = self.kind.waiting_since(new)
            if waiting is not None:
                self.waiting.setdefault(waiting[0], {})[key] = waiting[1]

    def _expire_due(self) -> None:
        watermark = self.meta.watermark
        heap = self._expiry
        while heap and watermark is not None and heap[0][0] <= watermark:
            due, key = heapq.heappop(heap)
            state = self.values.get(key)
            if state is None:
                continue
            ended = self.kind.ended_at(state)
            # Lazy deletion: a reopened or changed conversation left a stale heap entry.
            if ended is None or ended + self.retention != due:
                continue
            del self.values[key]
            self._dirty[key] = None
            self._swap(key, state, None)

    # --- persistence ------------------------------------------------------------------------
    def drain(self) -> Iterator[tuple[str, S | None]]:
        """Changes since the last drain; the meta record comes last (it commits the batch)."""
        dirty, self._dirty = self._dirty, {}
        yield from dirty.items()

    def meta_if_dirty(self) -> PartitionMeta | None:
        if not self._meta_dirty:
            return None
        self._meta_dirty = False
        return self.meta

    def load(self, key: str, value: S | None) -> None:
        """Recovery: the latest changelog record of a key (None = tombstone)."""
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value

    def load_meta(self, meta: PartitionMeta) -> None:
        self.meta = meta

    def rebuild(self) -> None:
        """Derive gauges and the retention index from the stored values (after recovery)."""
        self.gauges = Counter()
        self.waiting = {}
        self._expiry = []
        self._due = []
        for key, state in self.values.items():
            self._swap(key, None, state)
            ended = self.kind.ended_at(state)
            if ended is not None:
                self._expiry.append((ended + self.retention, key))
            due = self.kind.next_due(state)
            if due is not None:
                self._due.append((due, key))
        heapq.heapify(self._expiry)
        heapq.heapify(self._due)

    def oldest_waiting(self) -> dict[str, datetime]:
        return {queue: min(keys.values()) for queue, keys in self.waiting.items() if keys}


def _with_conversation(effects: list[Effect], key: str) -> list[Effect]:
    return [e._replace(conversation=key) if isinstance(e, Notice) else e for e in effects]


def sum_gauges(partitions: Iterable[PartitionState[S]]) -> Counter[GaugeKey]:
    total: Counter[GaugeKey] = Counter()
    for state in partitions:
        total.update(state.gauges)
    return total


LabelOf = Callable[[str | None], str]
