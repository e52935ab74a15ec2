"""A changelog topic in memory, read through the same `Reader` interface as the broker's
(stream/changelog_io.py), so table recovery runs without a broker. Offsets are list positions
from `begin` on; `sent` counts what recovery read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, NamedTuple, Self

from stream.changelog_io import Bounds

Record = tuple[str, bytes | None]


class Metadata(NamedTuple):
    offset: int  # what the producer's delivery future gives (aiokafka RecordMetadata)


class FakeChangelog:
    def __init__(self, partitions: int = 1) -> None:
        self.logs: dict[int, list[Record]] = {p: [] for p in range(partitions)}
        self.begin: dict[int, int] = dict.fromkeys(range(partitions), 0)
        self.read_records = 0

    def reader(self, config: Any = None, topic: str = "") -> Self:
        return self

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def bounds(self, partitions: list[int]) -> dict[int, Bounds]:
        return {p: Bounds(self.begin[p], self.begin[p] + len(self.logs[p])) for p in partitions}

    async def record_at(self, partition: int, offset: int) -> Record | None:
        index = offset - self.begin[partition]
        log = self.logs[partition]
        return log[index] if 0 <= index < len(log) else None

    async def read(
        self, starts: Mapping[int, int], ends: Mapping[int, int]
    ) -> AsyncIterator[tuple[int, int, str, bytes | None]]:
        for p, start in starts.items():
            for offset in range(start, ends[p]):
                key, value = self.logs[p][offset - self.begin[p]]
                self.read_records += 1
                yield p, offset, key, value

    async def send(self, topic: str, key: bytes, value: bytes | None, p: int) -> Any:
        """A producer send: appends, and returns the delivery future with the offset."""
        self.logs[p].append((key.decode(), value))
        future: asyncio.Future[Metadata] = asyncio.get_running_loop().create_future()
        future.set_result(Metadata(self.begin[p] + len(self.logs[p]) - 1))
        return future
