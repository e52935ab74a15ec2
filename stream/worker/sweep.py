"""The sweep: a timer sends the keys whose next due instant has passed to the sla-due topic
(invariant 3: timers never write tables), and an agent on that topic evaluates them in their
partition and publishes what breached or came at risk. Due instants are SLA deadlines (tickets,
chats) and the instants a customer's order or contact leaves an engagement window (commerce)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from stream.domain.clock import Clock, EventClock
from stream.domain.effects import Effect
from stream.domain.partition import PartitionState
from stream.metrics import Metrics
from stream.worker.outputs import Outputs
from stream.worker.state import DUE_STREAMS, SLA_STREAMS, Tables

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0


class Sweep:
    def __init__(
        self, clock: Clock, tables: Tables, metrics: Metrics, outputs: Outputs, *, enabled: bool
    ) -> None:
        # No SLA policy in force: no SLA target is ever due (engagement windows still are).
        self.streams = DUE_STREAMS if enabled else tuple(
            s for s in DUE_STREAMS if s not in SLA_STREAMS)
        self.clock = clock
        self.tables = tables
        self.metrics = metrics
        self.outputs = outputs

    def _due_at(self, stream: str, part: PartitionState[Any], now: datetime) -> datetime:
        if (isinstance(self.clock, EventClock) and part.meta.watermark is not None
                and stream in SLA_STREAMS):
            # In event time a partition is only as far as its own events: another partition's
            # later events must not breach targets answered here. (Engagement windows move
            # with the clock itself: an order still in flight is counted when it arrives,
            # whatever the windows' end, and a notice is never at stake.)
            return min(now, part.meta.watermark)
        return now

    async def tick(self) -> None:
        """Send the keys that are due (O(due) per tick, invariant 8)."""
        now = self.clock.now()
        for stream in self.streams:
            for part in self.tables[stream].ready_partitions():
                if part.caught_up:
                    for key in part.pop_due(self._due_at(stream, part, now)):
                        await self.outputs.sla_due(key, stream, part.partition)

    async def evaluate(self, batch: Sequence[Any]) -> None:
        """Apply a batch of sla-due commands (the sla-due agent)."""
        touched: set[str] = set()
        notices: list[Effect] = []
        now = self.clock.now()
        for message in batch:
            name = message.value.decode() if message.value else ""
            if name not in self.streams:
                continue
            part = await self.tables[name].partition(message.partition)
            if part is None:
                continue
            try:
                effects = part.evaluate(message.key.decode(), self._due_at(name, part, now))
            except Exception as exc:  # never stop the SLA agent on one conversation
                log.error("SLA evaluation failed in partition %d: %s", message.partition,
                          type(exc).__name__)
                continue
            self.metrics.apply(effects)
            notices += effects
            touched.add(name)
        # Time-driven notices may come from replayed sweep commands: always check.
        await self.outputs.publish_notices(notices, now, check=True)  # before the changelog
        for name in touched:
            await self.outputs.flush(name)
