"""The gateway's way into Kafka: one producer (acks=all), a bounded wait, broker readiness.

A request is answered 202 only once the broker acknowledged every record of it; when that does
not happen within `gateway_delivery_timeout_seconds` (the broker is down or unreachable) the
answer is 503 and the helpdesk retries. Records of a timed-out request may still arrive later:
the retry then sends the same `event_id`s, which the worker treats as duplicates (CONTRACT §1),
so nothing counts twice.

The producer is (re)started in the background until the broker answers, so the gateway starts
and answers 503 while the broker is away rather than failing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from stream.security import kafka_client_config
from stream.settings import Settings

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0
CLIENT_ID = "supportpulse-gateway"  # what the broker's logs and quotas see


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (answer 503)."""


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Delivery:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ready = False
        self._producer: AIOKafkaProducer | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._watch = asyncio.create_task(self._keep_connected(), name="gateway-broker")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._producer is not None:
            # Flushes what is still buffered; bounded, the broker may be gone.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), 5)

    async def send_all(self, records: Sequence[Record]) -> None:
        """Send in order and wait for every acknowledgement; BrokerUnavailable otherwise."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("no connection to the broker yet")
        try:
            await asyncio.wait_for(self._send(producer, records),
                                   self.settings.gateway_delivery_timeout_seconds)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc

    @staticmethod
    async def _send(producer: AIOKafkaProducer, records: Sequence[Record]) -> None:
        acks = [
            await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers) or None)
            for r in records
        ]
        await asyncio.gather(*acks)

    async def _keep_connected(self) -> None:
        while True:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **kafka_client_config(self.settings), acks="all", linger_ms=1,
                    client_id=CLIENT_ID,
                    request_timeout_ms=int(self.settings.gateway_delivery_timeout_seconds * 1000),
                )
                try:
                    await producer.start()
                except (KafkaError, OSError) as exc:
                    log.warning("broker not reachable yet (%s); retrying", type(exc).__name__)
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    await asyncio.sleep(CHECK_EVERY_SECONDS)
                    continue
                self._producer = producer
            self.ready = await self._broker_answers(self._producer)
            await asyncio.sleep(CHECK_EVERY_SECONDS)

    @staticmethod
    async def _broker_answers(producer: AIOKafkaProducer) -> bool:
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), CHECK_EVERY_SECONDS)
        except (TimeoutError, KafkaError, OSError):
            return False
        return True
