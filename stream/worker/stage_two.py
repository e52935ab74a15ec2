"""Stage two (invariant 5): partial rollups out every interval, cluster-wide signals in, the
contact rate from Redis, and the staffing events on `support.staffing`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import redis.asyncio

from stream.domain.clock import Clock
from stream.domain.partition import PartitionState
from stream.rollups import SignalOwner, build_partials
from stream.worker.customers import CustomerDays
from stream.worker.outputs import Outputs
from stream.worker.state import Tables


class StageTwo:
    def __init__(
        self, clock: Clock, tables: Tables, signals: SignalOwner, customers: CustomerDays,
        outputs: Outputs,
    ) -> None:
        self.clock = clock
        self.tables = tables
        self.signals = signals
        self.customers = customers
        self.outputs = outputs

    async def send_rollups(self) -> None:
        """A timer: this worker's partials, one per (key, owned partition)."""
        owned: dict[int, list[PartitionState[Any]]] = {}
        for name in ("tickets", "chats", "agents"):
            for part in self.tables[name].ready_partitions():
                owned.setdefault(part.partition, []).append(part)
        for key, rollup in build_partials(owned, self.signals.queues, self.clock.now()):
            await self.outputs.rollup(key, rollup)

    async def receive(self, batch: Sequence[Any]) -> None:
        """The rollups agent: partials of the keys this worker owns."""
        for message in batch:
            key = message.key.decode()
            try:
                self.signals.receive(key, message.partition, message.value)
            except msgspec.DecodeError:
                continue
            if key == "global":
                await self._update_contact_rate()

    async def _update_contact_rate(self) -> None:
        try:
            self.signals.contact_rate = await self.customers.contact_rate(self.clock.now())
        except (redis.RedisError, OSError):
            return  # the last value stands until Redis answers again

    async def publish_staffing(self) -> None:
        """A timer: one staffing event per queue whose signals this worker owns."""
        now = self.clock.now()
        for queue in self.signals.queues:
            signals = self.signals.queue(queue)
            if signals is not None:
                await self.outputs.staffing(queue, signals.to_event(queue, now))
