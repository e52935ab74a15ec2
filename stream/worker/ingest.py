"""Ingest: one batch of input messages → partition state → an `Outcome` for the outputs.

Thin by design (invariant 1): decode, check the key, hand the event to the pure partition core
and collect what it produced. Nothing is sent from here; `Outputs.write` sends the outcome in
the order exactly-once needs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec

from stream.domain import effects as fx
from stream.domain.clock import Clock
from stream.domain.commerce import Commerce, ContactRecord, CustomerState
from stream.domain.effects import Count, Effect
from stream.domain.events import Rejection, conversation_key, decode
from stream.domain.partition import PartitionState
from stream.metrics import Metrics
from stream.worker.outputs import Outcome
from stream.worker.state import Tables

log = logging.getLogger(__name__)

CONTACT_COUNTS = frozenset({fx.TICKETS_CREATED, fx.CHATS_REQUESTED})


class Ingest:
    def __init__(
        self, clock: Clock, tables: Tables, metrics: Metrics, commerce: Commerce, *,
        max_event_bytes: int, max_future_seconds: float,
    ) -> None:
        self.max_event_bytes = max_event_bytes
        self.max_future_seconds = max_future_seconds
        self.clock = clock
        self.tables = tables
        self.metrics = metrics
        self.commerce = commerce
        self._contact_decoder = msgspec.json.Decoder(ContactRecord)

    async def apply(self, stream: str, batch: Sequence[Any]) -> Outcome:
        """Apply a batch of one input topic's messages to the owned partitions.

        A message is anything with faust's `topic`, `partition`, `offset`, `key` and `value`.
        A partition revoked during a batch is left to its new owner; the consumer does not let
        a revocation finish while a batch it handed over is unacknowledged, so looking each
        partition up once per batch is enough.
        """
        table = self.tables.get(stream)
        metrics, clock = self.metrics, self.clock
        # Under the event clock, "now" for a future-dated check is still the wall clock.
        wall = _utcnow if repr(clock) == "event" else clock.now
        out = Outcome(stream)
        parts: dict[int, PartitionState[Any] | None] = {}
        for message in batch:
            decoded = decode(
                message.value, wall, stream=stream,
                max_bytes=self.max_event_bytes, max_future_seconds=self.max_future_seconds,
            )
            part: PartitionState[Any] | None = None
            if table is not None:
                p = message.partition
                part = parts[p] if p in parts else parts.setdefault(p, await table.partition(p))
                if part is None:
                    continue  # not owned (revoked): the new owner processes it
            if not isinstance(decoded, Rejection):
                key = conversation_key(decoded.event)
                if message.key is not None and message.key != key.encode():
                    decoded = Rejection("key_mismatch", f"message key is not the {stream} id")
            if isinstance(decoded, Rejection):
                if part is None or part.skip(message.offset):
                    out.rejected.append((message, decoded))
                    metrics.reject(decoded.reason)
                continue
            if part is not None:
                try:
                    effects = part.apply(key, message.offset, decoded)
                except Exception as exc:  # a domain bug must not stop the partition for good
                    # The offset is marked applied, so a replay skips it too; the raw message
                    # waits in the DLQ. No event content in the log (privacy).
                    log.error("%s event at %s[%d]@%d failed: %s", decoded.event.__class__.__name__,
                              message.topic, message.partition, message.offset,
                              type(exc).__name__)
                    failure = Rejection("processing_error", type(exc).__name__)
                    out.rejected.append((message, failure))
                    metrics.reject(failure.reason)
                    continue
                if effects is None:
                    continue  # applied before a crash: replay is a no-op
                # Decided per message, not from the partition afterwards: the batch that
                # catches a partition up still holds input an earlier incarnation processed.
                out.replayed = out.replayed or message.offset <= part.catch_up_to
                metrics.apply(effects)
                out.effects += effects
                self._customer(decoded.event, key, decoded.occurred_at, effects, out)
            tag: str = decoded.event.__struct_config__.tag  # type: ignore[assignment]
            metrics.event(stream, tag, decoded.occurred_at)
            clock.observe(decoded.occurred_at)
        return out

    @staticmethod
    def _customer(
        event: Any, key: str, at: datetime, effects: list[Effect], out: Outcome
    ) -> None:
        customer = getattr(event, "customer_id", None)
        if customer:
            out.seen_customers.append((customer, at))
            if any(isinstance(e, Count) and e.metric in CONTACT_COUNTS for e in effects):
                out.contacts.append(ContactRecord(customer, key, at))

    async def apply_contacts(self, batch: Sequence[Any]) -> None:
        """The commerce join: contacts re-keyed by customer id meet the customer's orders."""
        table = self.tables["commerce"]
        for message in batch:
            try:
                record = self._contact_decoder.decode(message.value)
            except msgspec.DecodeError:
                continue  # internal topic: only we write it
            part = await table.partition(message.partition)
            if part is None:
                continue
            try:
                effects = part.update(record.customer_id, partial(self._contact, record))
            except Exception as exc:  # a bad contact must not stop the join
                log.error("contact in partition %d failed: %s", message.partition,
                          type(exc).__name__)
                continue
            self.metrics.apply(effects)

    def _contact(
        self, record: ContactRecord, old: CustomerState | None
    ) -> tuple[CustomerState | None, list[Effect]]:
        return self.commerce.contact(old, record)


def _utcnow() -> datetime:
    return datetime.now(UTC)
