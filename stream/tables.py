"""Changelog-backed partition tables.

Why not `faust.Table`: (1) faust writes one changelog message per table write, which caps a
stateful agent at ≈3.4k events/s here; we write each changed key once per processed batch.
(2) faust's recovery stops at the high-water mark that ListOffsets reports, and the tansu broker
used on bare machines reports the *last batch's base offset* + 1 there, so faust silently drops
the tail of a changelog partition (measured: 1998 of 2000 updates recovered). Recovery here
finds the true end by fetching the last batch.

The table of one stream holds a `PartitionState` per owned source partition. Changelog records
go to partition p of `<app_id>-<stream>-changelog` for source partition p; they are sent through
faust's producer, which faust flushes before it commits source offsets, so a committed offset
never runs ahead of the state written for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, Generic

from aiokafka import AIOKafkaConsumer, TopicPartition

from stream.domain.changelog import ChangelogCodec
from stream.domain.partition import Kind, PartitionState, S

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
        self.recovered_records = 0
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

    def owned(self) -> list[int]:
        return sorted(self._ready)

    def is_ready(self) -> bool:
        return all(event.is_set() for event in self._ready.values())

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
            for key, value in records:
                await send(self.topic, key.encode(), value, p)
            if changed:
                changes[p] = changed
        return changes

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
        states = {p: PartitionState(p, self.kind, self.retention) for p in partitions}
        # Only the last record of a key counts, so only that one is decoded: a key written
        # many times (a customer's contacts: ≈ 10 records per key in the benchmarks; tansu
        # does not compact) costs one decode instead of one per record. The raw bytes of each
        # key's last record are held until the end of the read.
        latest: dict[int, dict[str, bytes | None]] = {p: {} for p in partitions}
        records = 0
        async for p, key, value in read_changelog(self.consumer_config, self.topic, partitions):
            latest[p][key] = value
            records += 1
        for p, last in latest.items():
            state = states[p]
            for n, (key, value) in enumerate(last.items(), 1):
                if n % 20_000 == 0:
                    await asyncio.sleep(0)  # let the web server and other agents run
                self.codec.load(state, key, value)
            last.clear()
        if self.source_topic is not None:
            ends = await source_end_offsets(self.consumer_config, self.source_topic, partitions)
            for p, end in ends.items():
                states[p].catch_up_to = end - 1
        for p, state in states.items():
            state.rebuild()
            if p in self._ready:  # not revoked meanwhile
                self.partitions[p] = state
                self._ready[p].set()
                self._recovering.pop(p, None)
                if self.on_ready is not None:
                    await self.on_ready(p, state)
        self.recovered_records += records
        log.info(
            "recovered %s partitions %s: %d records, %d keys in %.2fs",
            self.topic, partitions, records,
            sum(len(s.values) for s in states.values()), loop.time() - started,
        )


async def read_changelog(
    consumer_config: dict[str, Any], topic: str, partitions: list[int]
) -> Any:
    """Yield (partition, key, value) for every record from the start to the true end."""
    consumer = AIOKafkaConsumer(
        **consumer_config,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await true_end_offsets(consumer, tps)
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        for tp in remaining:
            consumer.seek(tp, begin[tp])
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=10000)
            for tp, messages in batch.items():
                stop = end[tp]
                for message in messages:
                    if message.offset >= stop:
                        break
                    yield tp.partition, message.key.decode(), message.value
                if messages and messages[-1].offset >= stop - 1:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def source_end_offsets(
    consumer_config: dict[str, Any], topic: str, partitions: list[int]
) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**consumer_config, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await true_end_offsets(consumer, tps)
        return {tp.partition: end for tp, end in ends.items()}
    finally:
        await consumer.stop()


async def true_end_offsets(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """End offsets that are right on tansu too (see the module docstring).

    Kafka reports last offset + 1; tansu may report an offset inside the last record batch.
    Fetching from (reported − 1) returns that whole batch, whose last offset + 1 is the end.
    """
    reported: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    result = dict(reported)
    probe = [tp for tp in tps if reported[tp] > 0]
    for tp in probe:
        consumer.seek(tp, reported[tp] - 1)
    pending = set(probe)
    deadline = asyncio.get_running_loop().time() + 10.0
    while pending and asyncio.get_running_loop().time() < deadline:
        batch = await consumer.getmany(*pending, timeout_ms=200)
        for tp, messages in batch.items():
            if messages:
                result[tp] = max(reported[tp], messages[-1].offset + 1)
                pending.discard(tp)
    if pending:
        raise RuntimeError(f"could not read the last record of {sorted(map(str, pending))}")
    return result
