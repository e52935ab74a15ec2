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
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from stream.domain.effects import ARRIVALS_CHANNEL, Effect, Notice, Tally
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


Heap = list[tuple[datetime, str]]


class Derived(msgspec.Struct, array_like=True):
    """What `rebuild()` derives from the values, as a local snapshot stores it: restoring it
    costs no decode per value. The indexes may hold stale entries (they are lazily deleted)."""

    gauges: list[tuple[GaugeKey, int]]
    rollup_counts: list[tuple[GaugeKey, int]]
    waiting: dict[str, dict[str, datetime]]
    due: Heap
    expiry: Heap


META_KEY = "\x00meta"
WINDOW_PREFIX = "\x00w:"
HOUR_PREFIX = "\x00h:"
WINDOW_MINUTES = 120
HISTORY_HOURS = 36 * 24  # five weeks of same-hour history for the forecast, plus a day


class PartitionState(Generic[S]):
    def __init__(self, partition: int, kind: Kind[S], retention: timedelta) -> None:
        self.partition = partition
        self.kind = kind
        self.retention = retention
        # A dict, or a snapshot's LazyValues (stream/domain/lazy_values.py) after a restore.
        self.values: MutableMapping[str, S] = {}
        self.meta = PartitionMeta()
        self.gauges: Counter[GaugeKey] = Counter()
        # A kind may name contribution keys no exported metric reads (per-minute deadline
        # counts for the stage-two rollups) in a class attribute `rollup_only`: they are
        # counted here, apart from the gauges /metrics merges on every scrape, and zero entries
        # are dropped (their labels, e.g. deadline minutes, are not a bounded set).
        self.rollup_counts: Counter[GaugeKey] = Counter()
        self._rollup_only: frozenset[str] = frozenset(getattr(kind, "rollup_only", ()))
        # queue label → {conversation key: waiting since}; small (bounded by abandonment).
        self.waiting: dict[str, dict[str, datetime]] = {}
        self._expiry: list[tuple[datetime, str]] = []
        # Earliest SLA due instant per value: the sweep pops only what is due, so its cost per
        # tick does not grow with the number of open conversations (invariant 8).
        self._due: list[tuple[datetime, str]] = []
        self._dirty: dict[str, S | None] = {}
        self._final: dict[str, S] = {}
        self._meta_dirty = False
        # Event-time windows: minute → {"metric|label": value}, and hour → arrivals per channel
        # (for forecasts from history). Counted under the same offset rules as the state, so a
        # replay gives the same numbers (invariant 6); kept for WINDOW_MINUTES / HISTORY_HOURS
        # of event time, then deleted.
        self.minutes: dict[int, dict[str, float]] = {}
        self.hours: dict[int, dict[str, float]] = {}
        self._dirty_windows: set[str] = set()
        self._expired_before = 0
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
            # Replayed onto a key written before a crash: still let the watermark expire keys,
            # exactly as the first pass did at this offset.
            self._expire_due()
            return None
        new, effects = self.kind.apply(old, decoded.event, at, offset)
        if new is not None:
            self._store(key, old, new)
        self._expire_due()
        self._tally(effects, offset)
        return _with_conversation(effects, key)

    def _tally(self, effects: list[Effect], offset: int) -> None:
        # Each bucket remembers the last offset added to it: a bucket written before a crash
        # whose meta record was lost must not count the replayed events twice.
        additions: dict[tuple[bool, int], list[tuple[str, float]]] = {}
        for effect in effects:
            if not isinstance(effect, Tally):
                continue
            minute = int(effect.at.timestamp() // 60)
            field = f"{effect.metric}|{effect.label}"
            if minute >= self._oldest_minute():
                additions.setdefault((False, minute), []).append((field, effect.amount))
            if effect.metric == ARRIVALS_CHANNEL and minute // 60 >= self._oldest_hour():
                additions.setdefault((True, minute // 60), []).append((field, effect.amount))
        for (hourly, index), fields in additions.items():
            buckets = self.hours if hourly else self.minutes
            bucket = buckets.setdefault(index, {})
            if bucket.get(BUCKET_OFFSET, -1.0) >= offset:
                continue  # this event was counted here before a crash
            for field, amount in fields:
                bucket[field] = bucket.get(field, 0.0) + amount
            bucket[BUCKET_OFFSET] = float(offset)
            self._dirty_windows.add(f"{HOUR_PREFIX if hourly else WINDOW_PREFIX}{index}")
        current = self._oldest_minute()
        if current > self._expired_before:
            self._expired_before = current
            self._expire_windows()

    def _oldest_minute(self) -> int:
        if self.meta.watermark is None:
            return 0
        return int(self.meta.watermark.timestamp() // 60) - WINDOW_MINUTES

    def _oldest_hour(self) -> int:
        if self.meta.watermark is None:
            return 0
        return int(self.meta.watermark.timestamp() // 3600) - HISTORY_HOURS

    def _expire_windows(self) -> None:
        oldest = self._oldest_minute()
        for minute in [m for m in self.minutes if m < oldest]:
            del self.minutes[minute]
            self._dirty_windows.add(f"{WINDOW_PREFIX}{minute}")
        oldest_hour = self._oldest_hour()
        for hour in [h for h in self.hours if h < oldest_hour]:
            del self.hours[hour]
            self._dirty_windows.add(f"{HOUR_PREFIX}{hour}")

    def window_sum(self, field: str, start_minute: int, end_minute: int) -> float:
        """Sum of a window field over minutes [start, end)."""
        return sum(
            bucket.get(field, 0.0)
            for minute, bucket in self.minutes.items()
            if start_minute <= minute < end_minute
        )

    def update(
        self, key: str, change: Callable[[S | None], tuple[S | None, list[Effect]]]
    ) -> list[Effect]:
        """Apply a change that does not come from this partition's source topic (a join side
        arriving by repartition); `change` must be idempotent, as such input may repeat."""
        old = self.values.get(key)
        new, effects = change(old)
        if new is not None:
            self._store(key, old, new)
        return effects

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
            self._compact_expiry()
        due = self.kind.next_due(new)
        if due is not None and (old is None or self.kind.next_due(old) != due):
            heapq.heappush(self._due, (due, key))
            self._compact_due()

    def _compact_due(self) -> None:
        """Lazy deletion leaves an entry per closed or changed conversation until its deadline
        passes; rebuild the index once those outnumber the live values (amortised O(1))."""
        if len(self._due) <= 2 * len(self.values) + 1024:
            return
        self._due = [
            (due, key)
            for key, value in self.values.items()
            if (due := self.kind.next_due(value)) is not None
        ]
        heapq.heapify(self._due)

    def _compact_expiry(self) -> None:
        """The same for the retention index: a value that keeps changing (a customer's every
        order moves its end) leaves one stale entry per change, for a whole retention (a year
        in the commerce table) unless the index is rebuilt."""
        if len(self._expiry) <= 2 * len(self.values) + 1024:
            return
        self._expiry = [
            (ended + self.retention, key)
            for key, value in self.values.items()
            if (ended := self.kind.ended_at(value)) is not None
        ]
        heapq.heapify(self._expiry)

    def _swap(self, key: str, old: S | None, new: S | None) -> None:
        if old is not None:
            self._count(self.kind.contributions(old), -1)
            waiting = self.kind.waiting_since(old)
            if waiting is not None:
                self.waiting.get(waiting[0], {}).pop(key, None)
        if new is not None:
            self._count(self.kind.contributions(new), 1)
            waiting = self.kind.waiting_since(new)
            if waiting is not None:
                self.waiting.setdefault(waiting[0], {})[key] = waiting[1]

    def _count(
        self, contributions: Iterable[GaugeKey] | Mapping[GaugeKey, int], sign: int
    ) -> None:
        if not self._rollup_only:
            if sign > 0:
                self.gauges.update(contributions)
            else:
                self.gauges.subtract(contributions)
            return
        # Kinds may return weighted contributions (Presence: chat capacity), like Counter.update.
        pairs = (
            contributions.items() if isinstance(contributions, Mapping)
            else ((k, 1) for k in contributions)
        )
        gauges, apart, names = self.gauges, self.rollup_counts, self._rollup_only
        for gauge, n in pairs:
            if gauge[0] in names:
                left = apart[gauge] + sign * n
                if left:
                    apart[gauge] = left
                else:
                    del apart[gauge]
            else:
                gauges[gauge] += sign * n

    def all_counts(self) -> Iterator[tuple[GaugeKey, int]]:
        """Gauges and rollup-only counts together (what stage-two rollups read)."""
        yield from self.gauges.items()
        yield from self.rollup_counts.items()

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
            if self._dirty.get(key) is not None:
                # Changed and expired in the same batch: its last value is still written
                # before the meta record, so a crash that loses the tombstone (written after
                # it) leaves the ended value, which expires again, never an older one.
                self._final[key] = state
            self._dirty[key] = None
            self._swap(key, state, None)

    # --- persistence ------------------------------------------------------------------------
    def drain(self) -> tuple[list[tuple[str, S]], list[str]]:
        """Changes since the last drain: (values written, keys deleted).

        The adapter writes values, then the meta record, then the deletions. A deletion
        carries no offset, so it must never land without the meta record that covers the
        events before it: replaying those onto a missing key would resurrect it. A deletion
        lost in a crash is harmless: the key expires again at the next event.
        """
        dirty, self._dirty = self._dirty, {}
        final, self._final = self._final, {}
        puts = [(k, v) for k, v in dirty.items() if v is not None]
        puts += [(k, v) for k, v in final.items() if dirty.get(k) is None]
        deletes = [k for k, v in dirty.items() if v is None]
        return puts, deletes

    def drain_windows(self) -> list[tuple[str, dict[str, float] | None]]:
        """Changed window buckets (None = expired), persisted like values."""
        dirty, self._dirty_windows = self._dirty_windows, set()
        result: list[tuple[str, dict[str, float] | None]] = []
        for key in sorted(dirty):
            if key.startswith(WINDOW_PREFIX):
                result.append((key, self.minutes.get(int(key[len(WINDOW_PREFIX):]))))
            else:
                result.append((key, self.hours.get(int(key[len(HOUR_PREFIX):]))))
        return result

    def load_window(self, key: str, value: dict[str, float] | None) -> None:
        target = self.minutes if key.startswith(WINDOW_PREFIX) else self.hours
        prefix = WINDOW_PREFIX if key.startswith(WINDOW_PREFIX) else HOUR_PREFIX
        index = int(key[len(prefix):])
        if value is None:
            target.pop(index, None)
        else:
            target[index] = value

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
        self.rollup_counts = Counter()
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
        # Deletions written after the meta record may have been lost in a crash: what was due
        # at the recovered watermark is deleted again now.
        self._expire_due()

    # --- local snapshots (stream/table_store.py) ---------------------------------------------
    @property
    def clean(self) -> bool:
        """Everything applied has been drained: values and derived state agree with the
        records written so far."""
        return not (self._dirty or self._final or self._dirty_windows or self._meta_dirty)

    def derived(self) -> Derived:
        """A copy of the derived state, taken between two events (the indexes are copied, not
        encoded, so this is cheap on the event loop)."""
        return Derived(
            list(self.gauges.items()), list(self.rollup_counts.items()),
            {queue: dict(keys) for queue, keys in self.waiting.items()},
            list(self._due), list(self._expiry),
        )

    def restore(self, values: MutableMapping[str, S], derived: Derived) -> None:
        """Take a snapshot's values and derived state instead of `rebuild()`; records of the
        changelog after the snapshot follow with `load_tail`, then `finish_tail`."""
        self.values = values
        self.gauges = Counter(dict(derived.gauges))
        self.rollup_counts = Counter(dict(derived.rollup_counts))
        self.waiting = derived.waiting
        self._due, self._expiry = derived.due, derived.expiry
        heapq.heapify(self._due)  # heaps when written; cheap to confirm (O(n), no decode)
        heapq.heapify(self._expiry)

    def load_tail(self, key: str, value: S | None) -> None:
        """A changelog record after the snapshot (the key's latest): swapped in as processing
        would, so the derived state follows it."""
        old = self.values.get(key)
        if value is None:
            if old is not None:
                del self.values[key]
                self._swap(key, old, None)
            return
        self.values[key] = value
        self._swap(key, old, value)
        ended = self.kind.ended_at(value)
        if ended is not None:
            heapq.heappush(self._expiry, (ended + self.retention, key))
        due = self.kind.next_due(value)
        if due is not None:
            heapq.heappush(self._due, (due, key))

    def finish_tail(self) -> None:
        """As at the end of `rebuild()`: what was due at the recovered watermark goes now."""
        self._expire_due()

    def oldest_waiting(self) -> dict[str, datetime]:
        return {queue: min(keys.values()) for queue, keys in self.waiting.items() if keys}


BUCKET_OFFSET = "_offset"


def _with_conversation(effects: list[Effect], key: str) -> list[Effect]:
    return [e._replace(conversation=key) if isinstance(e, Notice) else e for e in effects]


def sum_gauges(partitions: Iterable[PartitionState[Any]]) -> Counter[GaugeKey]:
    """Gauges summed over partitions of any tables (without the kinds' rollup-only counts): the
    one place live gauges are merged, so equal label sets from two tables add up."""
    total: Counter[GaugeKey] = Counter()
    for state in partitions:
        total.update(state.gauges)
    return total


LabelOf = Callable[[str | None], str]
