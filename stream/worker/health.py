"""Readiness and the Redis read model's health (invariant 7: Redis down degrades, never stops)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from stream.domain.partition import PartitionState
from stream.read_model import ReadModel
from stream.worker.state import SLA_STREAMS, Tables


class Health:
    def __init__(self, client: redis.asyncio.Redis, read_model: ReadModel, tables: Tables) -> None:
        self.client = client
        self.read_model = read_model
        self.tables = tables
        self.redis_up: bool | None = None  # None until the first check
        self._run_id: str | None = None
        self.assigned_once = False

    def redis_down(self) -> None:
        self.redis_up = False

    def is_ready(self) -> bool:
        return self.assigned_once and all(t.is_ready() for t in self.tables.values())

    async def check_redis(self) -> None:
        """A timer: ping Redis and rebuild the lists it lost."""
        was_up = self.redis_up
        restarted = False
        try:
            async with asyncio.timeout(2.0):
                # The server's run_id changes with every start (and on a failover): a restart
                # between two checks loses the lists without ever looking down to a ping.
                run_id = (await self.client.info("server")).get("run_id")
            restarted = self._run_id is not None and run_id not in (None, self._run_id)
            self._run_id = run_id or self._run_id
            self.redis_up = True
        except Exception:  # any failure is "down"; the reason is not worth a log line per tick
            self.redis_up = False
        if self.redis_up and (was_up is False or restarted) and self.assigned_once:
            # Back after an outage (or a restart that lost everything): rebuild every list.
            for stream in SLA_STREAMS:
                for ready in self.tables[stream].ready_partitions():
                    self.read_model.needs_rebuild.add((stream, ready.partition))
        if self.redis_up:
            for stream, p in sorted(self.read_model.needs_rebuild):
                owned = self.tables[stream].partitions.get(p)
                if owned is None:
                    self.read_model.needs_rebuild.discard((stream, p))
                elif not await self.read_model.rebuild(stream, p, owned):
                    break

    def rebuild_on_ready(
        self, stream: str
    ) -> Callable[[int, PartitionState[Any]], Awaitable[None]]:
        async def rebuild(partition: int, state: PartitionState[Any]) -> None:
            # After recovery the Redis list of this partition is replaced from the table.
            if not await self.read_model.rebuild(stream, partition, state):
                self.redis_up = False

        return rebuild
