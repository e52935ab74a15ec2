"""Everything the worker sends: each outgoing wire format, and the order state writes go out in.

An ingest batch's outcome is written as: dead letters, then `support.sla` notices (awaited until
the broker has them), then the changelog records of the changed keys and the partition's meta
record, then the contacts re-keyed for the commerce join; Redis writes (read model, scorecards,
customer days) are queued behind them in the background writer (invariant 7).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec
import redis.asyncio

from stream.domain.commerce import ContactRecord
from stream.domain.effects import AgentStat, Effect, Notice
from stream.domain.events import Rejection
from stream.kafka_io import WorkerTopics
from stream.read_model import BackgroundWriter, ReadModel
from stream.scorecards import Scorecards
from stream.worker.customers import CustomerDays
from stream.worker.state import SLA_STREAMS, Tables

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What applying one batch of input produced, for `Outputs.write`."""

    stream: str
    effects: list[Effect] = field(default_factory=list)
    rejected: list[tuple[Any, Rejection]] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    seen_customers: list[tuple[str, datetime]] = field(default_factory=list)
    # Input that existed when its partition was assigned may have been processed before a
    # crash: its notices are checked against the sent-markers.
    replayed: bool = False


class Outputs:
    def __init__(
        self,
        producer: Callable[[], Any],
        topics: WorkerTopics,
        tables: Tables,
        read_model: ReadModel,
        scorecards: Scorecards,
        customers: CustomerDays,
        redis_down: Callable[[], None],
    ) -> None:
        self._producer = producer  # faust creates its producer late: look it up per send
        self.topics = topics
        self.tables = tables
        self.read_model = read_model
        self.scorecards = scorecards
        self.customers = customers
        self.redis_down = redis_down
        self.writer = BackgroundWriter()
        self._json = msgspec.json.Encoder()

    async def _send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None,
        headers: Any = None,
    ) -> Any:
        return await self._producer().send(topic, key, value, partition, None, headers)

    # --- one batch of input ------------------------------------------------------------------
    async def write(self, outcome: Outcome, now: datetime) -> None:
        for message, rejection in outcome.rejected:
            await self.dead_letter(outcome.stream, message, rejection)
        await self.publish_notices(outcome.effects, now, check=outcome.replayed)
        if outcome.stream in self.tables:
            await self.flush(outcome.stream)
        for contact in outcome.contacts:
            await self._send(self.topics.contacts, contact.customer_id.encode(),
                             self._json.encode(contact))
        if outcome.seen_customers:
            self.writer.submit(partial(self._record_customers, outcome.seen_customers,
                                       outcome.contacts))
        stats = [e for e in outcome.effects if isinstance(e, AgentStat)]
        if stats:
            self.writer.submit(partial(self._record_stats, stats))

    async def flush(self, stream: str) -> None:
        """The changed keys' changelog records, then the read model's update in the background."""
        changes = await self.tables[stream].flush(self._send)
        if stream in SLA_STREAMS and self.read_model.rules is not None:
            for partition, changed in changes.items():
                self.writer.submit(
                    partial(self._update_read_model, stream, partition, changed),
                    on_drop=partial(self.read_model.needs_rebuild.add, (stream, partition)),
                )

    async def dead_letter(self, stream: str, message: Any, rejection: Rejection) -> None:
        headers = [
            ("reason", rejection.reason.encode()),
            ("detail", rejection.detail.encode("utf-8", "replace")[:500]),
            ("source_topic", str(message.topic).encode()),
            ("source_partition", str(message.partition).encode()),
            ("source_offset", str(message.offset).encode()),
        ]
        await self._send(self.topics.dlq, message.key, message.value, headers=headers)

    # --- SLA notices ---------------------------------------------------------------------------
    async def publish_notices(
        self, effects: Sequence[Effect], now: datetime, *, check: bool
    ) -> None:
        """Send `support.sla` events, skipping those an earlier incarnation already sent, and
        return only once the broker has them and Redis has their markers.

        The changelog records that say a notice was sent are written after this returns. The
        producer does not deliver in send order across partitions (a partition with a request in
        flight waits while others go out), so without the wait a SIGKILL could land after the
        changelog records and before the notice: the replay would skip the input as applied and
        the notice would be lost. A failed delivery is retried, never dropped. The markers are
        written before the changelog too: a replay of a batch whose changelog records never
        arrived finds them and does not send the notices again. What is left is a SIGKILL
        between the broker's acknowledgement and the marker's write (one Redis round trip), or
        Redis being away: then a replay repeats the event, with the same `event_id`.

        Only input that may have been processed before a crash can repeat a notice (`check`):
        input up to the end offset its partition had when it was assigned, and sweep commands.
        Fresh input skips the Redis trip.
        """
        notices = [e for e in effects if isinstance(e, Notice)]
        if not notices:
            return
        ids = [(n.conversation, n.target, n.kind) for n in notices]
        sent = await self.read_model.already_sent(ids) if check else [False] * len(ids)
        pending = [(ident, self.notice(notice, ident, now))
                   for notice, ident, done in zip(notices, ids, sent, strict=True) if not done]
        delivered: list[tuple[str, str, str]] = []
        for attempt in itertools.count():
            futures = [await self._send(self.topics.sla, ident[0].encode(), payload)
                       for ident, payload in pending]
            await self._flush_producer()  # at once, rather than after the producer's linger
            results = await asyncio.gather(*futures, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            delivered += [i for (i, _), r in zip(pending, results, strict=True)
                          if not isinstance(r, BaseException)]
            if not errors:
                break
            pending = [p for p, r in zip(pending, results, strict=True)
                       if isinstance(r, BaseException)]
            log.warning("%d SLA events not delivered (%s); sending them again",
                        len(pending), type(errors[0]).__name__)
            await asyncio.sleep(min(5.0, 0.1 * 2**attempt))
        if delivered:
            await self.read_model.mark_sent(delivered)

    async def _flush_producer(self) -> None:
        try:
            await self._producer().flush()
        except Exception:  # a failed delivery shows in its future, which the caller reads
            log.debug("producer flush failed", exc_info=True)

    def notice(self, notice: Notice, ident: tuple[str, str, str], now: datetime) -> bytes:
        """A `support.sla` event (CONTRACT §3); event_id = the dedupe key."""
        id_field = "chat_id" if notice.channel == "chat" else "ticket_id"
        return self._json.encode({
            "type": notice.kind,
            "event_id": ":".join(ident),
            "occurred_at": rfc3339(now),
            id_field: notice.conversation,
            "target": notice.target,
            "deadline": rfc3339(notice.deadline) if notice.deadline else None,
            "policy": notice.policy,
            "channel": notice.channel,
            "priority": notice.priority,
            "queue": notice.queue,
        })

    # --- internal hops and stage two -----------------------------------------------------------
    async def sla_due(self, key: str, stream: str, partition: int) -> None:
        """A sweep command: the key's table and partition apply the evaluation (invariant 3)."""
        await self._send(self.topics.sla_due, key.encode(), stream.encode(), partition)

    async def rollup(self, key: str, rollup: Any) -> None:
        await self._send(self.topics.rollups, key.encode(), self._json.encode(rollup))

    async def staffing(self, queue: str, event: Any) -> None:
        await self._send(self.topics.staffing, queue.encode(), self._json.encode(event))

    # --- Redis, in the background ---------------------------------------------------------------
    async def _update_read_model(self, stream: str, partition: int, changed: Any) -> None:
        if not await self.read_model.update(stream, partition, changed):
            self.redis_down()

    async def _record_stats(self, stats: list[AgentStat]) -> None:
        try:
            await self.scorecards.record(stats)
        except (redis.RedisError, OSError):
            self.redis_down()  # the scorecard misses these; the pipeline goes on

    async def _record_customers(
        self, seen: list[tuple[str, datetime]], contacts: list[ContactRecord]
    ) -> None:
        if not await self.customers.record(seen, contacts):
            self.redis_down()


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
