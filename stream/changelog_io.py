"""Reading changelog and source partitions from the broker, right on tansu too.

faust's recovery stops at the high-water mark that ListOffsets reports, and the tansu broker used
on bare machines reports the *last batch's base offset* + 1 there, so faust silently drops the
tail of a changelog partition (measured: 1998 of 2000 updates recovered). Every end offset here is
found by fetching the last batch (`true_end_offsets`).

`ChangelogReader` is what a table's recovery needs: each partition's bounds, the record at one
offset (to check that a local snapshot's anchor is still in this changelog) and the records from
given offsets to the ends. Component tests give the table a list-backed reader instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self

from aiokafka import AIOKafkaConsumer, TopicPartition

# (partition, offset, key, value): value None is a tombstone.
Entry = tuple[int, int, str, bytes | None]


@dataclass(frozen=True)
class Bounds:
    begin: int  # the first offset the broker still has
    end: int  # one past the last record


class Reader(Protocol):
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def bounds(self, partitions: list[int]) -> dict[int, Bounds]: ...
    async def record_at(self, partition: int, offset: int) -> tuple[str, bytes | None] | None: ...
    def read(self, starts: Mapping[int, int], ends: Mapping[int, int]) -> AsyncIterator[Entry]: ...


class ChangelogReader:
    """One changelog topic through a group-less consumer (nothing is committed)."""

    def __init__(self, consumer_config: dict[str, Any], topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            **consumer_config,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )

    async def __aenter__(self) -> Self:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    def _tps(self, partitions: list[int]) -> list[TopicPartition]:
        tps = [TopicPartition(self.topic, p) for p in partitions]
        # Assign once (`bounds` assigns them all): assigning again while the fetcher is still
        # resetting the old assignment's positions leaves a task that stop() waits on forever.
        if not set(tps) <= self.consumer.assignment():
            self.consumer.assign(sorted({*tps, *self.consumer.assignment()}))
        return tps

    async def bounds(self, partitions: list[int]) -> dict[int, Bounds]:
        tps = self._tps(partitions)
        begin = await self.consumer.beginning_offsets(tps)
        end = await true_end_offsets(self.consumer, tps)
        return {tp.partition: Bounds(begin[tp], end[tp]) for tp in tps}

    async def record_at(self, partition: int, offset: int) -> tuple[str, bytes | None] | None:
        """The record at `offset`, None if the broker has none there."""
        (tp,) = self._tps([partition])
        self.consumer.seek(tp, offset)
        deadline = asyncio.get_running_loop().time() + 10.0
        while asyncio.get_running_loop().time() < deadline:
            batch = await self.consumer.getmany(tp, timeout_ms=500, max_records=10000)
            for message in batch.get(tp, []):  # a fetch returns the whole batch holding it
                if message.offset == offset:
                    return message.key.decode(), message.value
                if message.offset > offset:
                    return None  # gone (retention) or never there: aiokafka reset to the start
        return None

    async def read(
        self, starts: Mapping[int, int], ends: Mapping[int, int]
    ) -> AsyncIterator[Entry]:
        """Every record from `starts[p]` up to `ends[p]`, in offset order per partition."""
        tps = self._tps(sorted(starts))
        remaining = {tp for tp in tps if ends[tp.partition] > starts[tp.partition]}
        for tp in remaining:
            self.consumer.seek(tp, starts[tp.partition])
        while remaining:
            batch = await self.consumer.getmany(*remaining, timeout_ms=500, max_records=10000)
            for tp, messages in batch.items():
                start, stop = starts[tp.partition], ends[tp.partition]
                for message in messages:
                    if message.offset >= stop:
                        break
                    if message.offset >= start:  # a fetch may begin inside an earlier batch
                        yield tp.partition, message.offset, message.key.decode(), message.value
                if messages and messages[-1].offset >= stop - 1:
                    remaining.discard(tp)


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
