"""The worker's faust topology: topics, agents, timers and the assignment hook.

Every topic is handled in batches (the consumer's bulk path, or faust's `take_events` when
`SUPPORTPULSE_INGEST_PATH=faust`), so every changed key is written to the changelog once per
batch. Internal topics are partitioned like the input: the sla-due commands
of a key reach the worker that owns the key's partition.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import faust

from stream import kafka_consumer
from stream.kafka_io import WorkerTopics
from stream.settings import Settings
from stream.worker.state import Tables

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[Any]], Awaitable[None]]
Timer = Callable[[], Awaitable[None]]


@dataclass
class Handlers:
    """What the composition root plugs into the topology."""

    ingest: Callable[[str, Sequence[Any]], Awaitable[None]]  # (stream, batch) of an input topic
    contacts: Handler
    rollups: Handler
    sla_due: Handler
    timers: dict[str, tuple[float, Timer]]  # name → (interval seconds, coroutine)
    on_assigned: Callable[[Iterable[Any]], None]  # the assigned TopicPartitions
    started: list[str] = field(default_factory=list)  # what is in force, logged at start


def wire(app: faust.App, settings: Settings, tables: Tables, handlers: Handlers) -> None:
    s = settings
    topics = WorkerTopics.of(s)

    def raw_topic(name: str, internal: bool = False, compacting: bool | None = None) -> Any:
        return app.topic(
            name, partitions=s.partitions, key_serializer="raw", value_serializer="raw",
            internal=internal, compacting=internal if compacting is None else compacting,
        )

    transport = cast(kafka_consumer.Transport, app.transport)
    transport.batch_max = s.batch_max

    def batched(topic: str, handle: Handler) -> Callable[[Any], Awaitable[None]]:
        """The topic's agent. On the bulk path the consumer hands batches to `handle` itself
        and the agent only subscribes the topic; otherwise it batches faust's events."""
        if s.ingest_path == "bulk":
            transport.bulk[topic] = handle

        async def agent(stream: Any) -> None:
            async for batch in stream.take_events(s.batch_max, within=s.batch_within_seconds):
                await handle([event.message for event in batch])

        return agent

    declared = [raw_topic(topics.dlq), raw_topic(topics.sla), raw_topic(topics.staffing)]
    declared += [raw_topic(t.topic, internal=True) for t in tables.values()]
    for name, handle in ((topics.sla_due, handlers.sla_due),
                         (topics.contacts, handlers.contacts),
                         (topics.rollups, handlers.rollups)):
        topic = raw_topic(name, internal=True, compacting=False)
        declared.append(topic)
        app.agent(topic, name=f"{s.app_id}.{name.removeprefix(s.app_id + '-')}")(
            batched(name, handle))
    def ingest(stream: str) -> Handler:
        async def handle(batch: Sequence[Any]) -> None:
            await handlers.ingest(stream, batch)

        return handle

    for stream, topic_name in s.input_topics.items():
        app.agent(raw_topic(topic_name), name=f"{s.app_id}.{stream}")(
            batched(topic_name, ingest(stream)))
    for name, (interval, timer) in handlers.timers.items():
        app.timer(interval, name=f"{s.app_id}.{name}")(timer)

    async def on_assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        handlers.on_assigned(args[0] if args else kwargs.get("assigned", set()))

    async def declare_internal_topics() -> None:
        for line in handlers.started:  # named at every start (invariant 11)
            log.info("%s", line)
        for topic in declared:
            await topic.maybe_declare()

    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]  # faust stub too narrow
    app.task(declare_internal_topics)
