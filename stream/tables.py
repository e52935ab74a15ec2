"""Changelog-backed partition tables.

Why not `faust.Table`: (1) faust writes one changelog message per table write, which caps a
stateful agent at ≈3.4k events/s here; we write each changed key once per processed batch.
(2) faust's recovery drops the tail of a changelog partition on tansu (stream/changelog_io.py).

The table of one stream holds a `PartitionState` per owned source partition. Changelog records
go to partition p of `<app_id>-<stream>-changelog` for source partition p; they are sent through
faust's producer, which faust flushes before it commits source offsets, so a committed offset
never runs ahead of the state written for it. With local snapshots on (stream/snapshots.py), a
partition's recovery starts from its snapshot and reads only the changelog after it
(stream/table_recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, Generic, cast

from stream.changelog_io import ChangelogReader, Reader, source_end_offsets
from stream.domain.changelog import ChangelogCodec
from stream.domain.partition import Kind, PartitionState, S
from stream.snapshots import Snapshots
from stream.table_recovery import recover

log = logging.getLogger(__name__)

Send = Callable[[str, bytes, bytes | None, int], Awaitable[Any]]


class ChangelogTable(Generic[S]):
    def __init__(
        self,
        kind: Kind[S],
        topic: str,
        retention: timedelta,
        consumer_config: dict[str, Any],
        source_topic: str | None = None,
        snapshots: Snapshots[S] | None = None,
        reader: Callable[[dict[str, Any], str], Reader] = ChangelogReader,
    ) -> None:
        self.kind = kind
        self.topic = topic
        self.source_topic = source_topic
        self.retention = retention
        self.consumer_config = consumer_config
        self.partitions: dict[int, PartitionState[S]] = {}
        self._ready: dict[int, asyncio.Event] = {}
        self._recovering: dict[int, asyncio.Task[None]] = {}
        self.codec = ChangelogCodec(kind)
        self.snapshots = snapshots  # local snapshots (None: recovery reads whole changelogs)
        self.reader = reader
        # Called with (partition, seconds, changelog records read, restored from a snapshot).
        self.on_recovered: Callable[[int, float, int, bool], None] | None = None
        # Called with each partition once it is recovered (e.g. to rebuild a read model).
        self.on_ready: Callable[[int, PartitionState[S]], Awaitable[None]] | None = None

    # --- ownership ----------------------------------------------------------------------------
    def assign(self, partitions: Iterable[int]) -> None:
        """Own exactly `partitions`: drop the others, start recovering the new ones."""
        wanted = set(partitions)
        for p in list(self._ready):
            if p not in wanted:
                self._drop(p)
        new = sorted(p for p in wanted if p not in self._ready)
        for p in new:
            self._ready[p] = asyncio.Event()
        if new:
            task = asyncio.ensure_future(self._recover(new))
            for p in new:
                self._recovering[p] = task

    def own_empty(self, partitions: Iterable[int]) -> list[PartitionState[S]]:
        """Own `partitions` as if recovery had found their changelogs empty, without reading
        them (component tests and benchmarks that drive the pipeline without a broker)."""
        states = []
        for p in partitions:
            state: PartitionState[S] = PartitionState(p, self.kind, self.retention)
            state.rebuild()
            self.partitions[p] = state
            self._ready[p] = ready = asyncio.Event()
            ready.set()
            states.append(state)
        return states

    def _drop(self, p: int) -> None:
        task = self._recovering.pop(p, None)
        if task is not None and all(t is not task for t in self._recovering.values()):
            task.cancel()
        self._ready.pop(p, None)
        self.partitions.pop(p, None)
        if self.snapshots is not None:
            self.snapshots.drop(p)  # its file stays: a later assignment restores from it

    def owned(self) -> list[int]:
        return sorted(self._ready)

    def is_ready(self) -> bool:
        return all(event.is_set() for event in self._ready.values())

    def recovering(self) -> list[int]:
        return sorted(p for p, event in self._ready.items() if not event.is_set())

    async def partition(self, p: int) -> PartitionState[S] | None:
        """The ready state of partition p, waiting for its recovery; None if not owned."""
        ready = self._ready.get(p)
        if ready is None:
            return None
        if not ready.is_set():
            await ready.wait()
        return self.partitions.get(p)

    def ready_partitions(self) -> list[PartitionState[S]]:
        return [self.partitions[p] for p, ev in self._ready.items() if ev.is_set()]

    # --- writing --------------------------------------------------------------------------------
    async def flush(self, send: Send) -> dict[int, list[tuple[str, S | None]]]:
        """Send every change since the last flush, in the codec's order; returns the changes
        per partition."""
        changes: dict[int, list[tuple[str, S | None]]] = {}
        # A copy: recovery adds partitions and revocation drops them while the sends await.
        for p, state in list(self.partitions.items()):
            records, changed = self.codec.records(state)
            # Taken before any await: a snapshot captured now agrees with these records.
            capture = self.snapshots.drained(p, state, records) if self.snapshots else None
            delivery = None
            for key, value in records:
                delivery = await send(self.topic, key.encode(), value, p)
            if self.snapshots is not None:
                self.snapshots.sent(p, delivery, records[-1] if records else None, capture)
            if changed:
                changes[p] = changed
        return changes

    # --- local snapshots --------------------------------------------------------------------
    def snapshot_due(self) -> None:
        """The snapshot interval passed: bring every ready partition's snapshot up to date."""
        if self.snapshots is not None:
            self.snapshots.due(self.ready_partitions())

    async def settle_snapshots(self) -> None:
        if self.snapshots is not None:
            await self.snapshots.settle()

    # --- recovery -------------------------------------------------------------------------------
    async def _recover(self, partitions: list[int]) -> None:
        """Recover, retrying on errors: a partition that never becomes ready stalls its agent."""
        attempt = 0
        while True:
            try:
                await self._recover_once([p for p in partitions if p in self._ready])
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                attempt += 1
                log.exception("recovery of %s %s failed (attempt %d)", self.topic, partitions,
                              attempt)
                await asyncio.sleep(min(10.0, 0.5 * attempt))

    async def _recover_once(self, partitions: list[int]) -> None:
        if not partitions:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self.reader(self.consumer_config, self.topic) as reader:
            recovered = await recover(reader, self.codec, self.kind, self.retention, partitions,
                                      self.snapshots)
        if self.source_topic is not None:
            ends = await source_end_offsets(self.consumer_config, self.source_topic, partitions)
            for p, end in ends.items():
                recovered[p].state.catch_up_to = end - 1
        seconds = loop.time() - started
        ready = [(p, got) for p, got in recovered.items() if p in self._ready]  # not revoked
        for p, got in ready:
            self.partitions[p] = got.state
            if self.snapshots is not None:
                base = None if got.snapshot else cast(dict[str, bytes], got.latest)
                self.snapshots.track(p, got.end, got.last, got.state, base=base,
                                     tail=got.latest if got.snapshot else None)
            got.latest = {}
            self._ready[p].set()
            self._recovering.pop(p, None)
            if self.on_recovered is not None:
                self.on_recovered(p, seconds, got.records, got.snapshot)
        # Every partition is ready (and serving) before the first on_ready (a read model
        # rebuild) starts: one partition's rebuild does not hold the others' readiness.
        for p, got in ready:
            if self.on_ready is not None and self.partitions.get(p) is got.state:
                await self.on_ready(p, got.state)
        log.info(
            "recovered %s partitions %s in %.2fs: %d records read, %d from local snapshots",
            self.topic, partitions, seconds, sum(got.records for got in recovered.values()),
            sum(got.snapshot for got in recovered.values()),
        )
