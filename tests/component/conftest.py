"""Component tier: the pipeline's agents driven directly, without a broker.

`Pipeline` builds a faust.App but nothing starts it. Partitions are made ready by hand (no
changelog recovery), the producer is replaced by a recorder, and batches of fake faust events are
handed to `Pipeline.process`, as the consumer's bulk path hands them over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from stream.domain.clock import FixedClock
from stream.domain.partition import PartitionState
from stream.settings import Settings
from stream.worker import Pipeline

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
QUEUES = ["orders", "returns", "payments", "general"]


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: Any


@dataclass
class RecordingProducer:
    """Stands in for faust's producer: records what would have gone to Kafka.

    `send` returns a delivery future like aiokafka's: resolved at once, except for topics in
    `hold` (left pending in `held` for the test to resolve) and the next `failures[topic]` sends
    to a topic, which fail.
    """

    sent: list[Sent] = field(default_factory=list)
    flushes: int = 0
    hold: set[str] = field(default_factory=set)
    held: list[asyncio.Future[None]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> asyncio.Future[None]:
        self.sent.append(Sent(str(topic), key, value, partition, headers))
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failures.get(str(topic)):
            self.failures[str(topic)] -= 1
            delivery.set_exception(TimeoutError("request timed out"))
        elif str(topic) in self.hold:
            self.held.append(delivery)
        else:
            delivery.set_result(None)
        return delivery

    async def flush(self) -> None:
        self.flushes += 1

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def message(
    topic: str, partition: int, offset: int, body: dict[str, Any] | bytes | None,
    key: bytes | str | None = None,
) -> Message:
    """A faust-like message; the key defaults to the contract's key for a JSON body."""
    value = json.dumps(body).encode() if isinstance(body, dict) else body
    if key is None and isinstance(body, dict):
        for name in ("ticket_id", "chat_id", "agent_id", "customer_id", "session_id"):
            if name in body:
                key = body[name]
                break
    if isinstance(key, str):
        key = key.encode()
    return Message(topic, partition, offset, key, value)


def make_ready(pipeline: Pipeline, stream: str, *partitions: int) -> list[PartitionState[Any]]:
    """Own `partitions` of a stream's table as if changelog recovery had found them empty."""
    return pipeline.tables[stream].own_empty(partitions)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    return Settings(
        _env_file=None,
        # Nothing listens on port 1: a client that tried to connect would fail at once.
        kafka_bootstrap=["127.0.0.1:1"],
        redis_url="redis://127.0.0.1:1/0",
        app_id="pulse-component",
        data_dir=tmp_path,
        queues=QUEUES,
        partitions=4,
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def pipeline(settings: Settings, registry: CollectorRegistry) -> Iterator[Pipeline]:
    pipe = Pipeline(settings, FixedClock(NOW), registry)
    pipe.app.producer = RecordingProducer()
    yield pipe


@pytest.fixture
def producer(pipeline: Pipeline) -> RecordingProducer:
    producer = pipeline.app.producer
    assert isinstance(producer, RecordingProducer)
    return producer
