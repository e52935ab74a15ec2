"""Small Kafka helpers shared by the CLI, the demo and the tests: topics and publishing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream.domain.events import STREAM_OF_TYPE, key_for_dict, parse_timestamp
from stream.security import kafka_client_config
from stream.settings import Settings

_encoder = msgspec.json.Encoder()


async def ensure_topics(
    bootstrap: str | dict[str, Any],
    topics: Iterable[str],
    partitions: int,
    compacted: Iterable[str] = (),
) -> None:
    """Create missing topics with `partitions` partitions; existing ones are left alone.
    `bootstrap` is a host:port list or a full aiokafka client config (with security)."""
    compact = set(compacted)
    config = {"bootstrap_servers": bootstrap} if isinstance(bootstrap, str) else bootstrap
    admin = AIOKafkaAdminClient(**config)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys([*topics, *compact]) if t not in existing]
        if missing:
            new = [
                NewTopic(
                    t, num_partitions=partitions, replication_factor=1,
                    topic_configs={"cleanup.policy": "compact"} if t in compact else None,
                )
                for t in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                await admin.create_topics(new)
    finally:
        await admin.close()


def all_topics(settings: Settings) -> list[str]:
    """The input and output topics of CONTRACT §1–2."""
    s = settings
    return [*s.input_topics.values(), s.topic_sla, s.topic_staffing, s.topic_dlq]


async def ensure_worker_topics(settings: Settings) -> None:
    """Everything a worker uses. Internal topics must exist before any partition is assigned
    (changelog recovery starts at assignment); changelogs are compacted."""
    await ensure_topics(
        kafka_client_config(settings),
        [*all_topics(settings), *internal_topics(settings)],
        settings.partitions,
        compacted=changelog_topics(settings),
    )


def changelog_topics(settings: Settings) -> list[str]:
    return [
        f"{settings.app_id}-{stream}-changelog"
        for stream in ("tickets", "chats", "agents", "commerce")
    ]


class WorkerTopics(NamedTuple):
    """What a worker sends to besides its changelogs: the outputs (CONTRACT §2) and its own
    internal topics (partitioned like the input)."""

    sla: str
    staffing: str
    dlq: str
    sla_due: str
    contacts: str
    rollups: str

    @classmethod
    def of(cls, settings: Settings) -> WorkerTopics:
        app = settings.app_id
        return cls(settings.topic_sla, settings.topic_staffing, settings.topic_dlq,
                   f"{app}-sla-due", f"{app}-contacts", f"{app}-rollups")


def internal_topics(settings: Settings) -> list[str]:
    topics = WorkerTopics.of(settings)
    return [topics.sla_due, topics.contacts, topics.rollups]


def route(settings: Settings, event: dict[str, Any]) -> tuple[str, bytes | None]:
    """Topic and key for an event dict, per CONTRACT §1 (unknown types go to tickets)."""
    type_name = event.get("type")
    stream = STREAM_OF_TYPE.get(type_name, "tickets") if isinstance(type_name, str) else "tickets"
    key = key_for_dict(event)
    return settings.input_topics[stream], key.encode() if key is not None else None


async def publish(
    settings: Settings,
    events: Iterable[dict[str, Any]] | AsyncIterator[dict[str, Any]],
    *,
    speed: float | None = None,
    producer: AIOKafkaProducer | None = None,
) -> int:
    """Send events to their topics. With `speed`, pace them by occurred_at (speed× real time)."""
    own = producer is None
    if producer is None:
        producer = AIOKafkaProducer(**kafka_client_config(settings), linger_ms=5, acks="all")
        await producer.start()
    sent = 0
    first_event: datetime | None = None
    first_wall = time.monotonic()
    try:
        async for event in _aiter(events):
            if speed:
                at = parse_timestamp(str(event.get("occurred_at", "")))
                if at is not None:
                    first_event = first_event or at
                    due = first_wall + (at - first_event).total_seconds() / speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
            topic, key = route(settings, event)
            await producer.send(topic, _encoder.encode(event), key=key)
            sent += 1
        await producer.flush()
    finally:
        if own:
            await producer.stop()
    return sent


async def _aiter(
    events: Iterable[dict[str, Any]] | AsyncIterator[dict[str, Any]],
) -> AsyncIterator[dict[str, Any]]:
    if isinstance(events, AsyncIterator):
        async for event in events:
            yield event
    else:
        for number, event in enumerate(events):
            yield event
            if number % 1000 == 999:
                await asyncio.sleep(0)  # let the loop breathe on long synchronous sources


def read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            yield value


async def consume_all(
    bootstrap: str, topic: str, *, idle_ms: int = 1500, max_wait: float = 30.0
) -> list[Any]:
    """Every record of a topic from the start until it has been idle for `idle_ms` (tests, CLI)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + max_wait
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch:
                break
            for messages in batch.values():
                records.extend(messages)
    finally:
        await consumer.stop()
    return records
