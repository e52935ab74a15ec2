"""The consumer's bulk ingest path (stream/kafka_consumer.py) against faust's rebalance contract.

faust's own consumer is built from a `Pipeline` (never started); the fetched record map is
handed to `Consumer._deliver` the way `_drain_messages` hands it over after a fetch. Broker
calls faust would make (`highwater`, `commit`) are stubbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord
from faust.types import TP, Message

from stream import kafka_consumer
from stream.worker import Pipeline

TOPIC = "support.tickets"


def records(tp: TP, offsets: Sequence[int]) -> list[ConsumerRecord[bytes, bytes]]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, b"k", b"{}", None, 1, 2, [])
            for o in offsets]


@pytest.fixture
def consumer(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Any:
    consumer = pipeline.app.consumer
    assert isinstance(consumer, kafka_consumer.Consumer)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 0)
    consumer.app.topics._acking_topics.add(TOPIC)  # as subscribing an agent's topic does
    commits: list[int] = []

    async def commit(*args: Any, **kwargs: Any) -> bool:
        commits.append(1)
        return True

    monkeypatch.setattr(consumer, "commit", commit)
    return consumer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.unacked_during: list[int] = []

    def handler(self, consumer: Any) -> kafka_consumer.BulkHandler:
        async def handle(batch: Sequence[Message]) -> None:
            self.unacked_during.append(len(consumer.unacked))
            self.batches.append([m.offset for m in batch])
            await self.release.wait()

        return handle


def test_the_bulk_path_is_on_by_default_for_every_topic_the_worker_reads(
    pipeline: Pipeline,
) -> None:
    transport = pipeline.app.transport
    assert isinstance(transport, kafka_consumer.Transport)
    s = pipeline.settings
    internal = {f"{s.app_id}-{name}" for name in ("sla-due", "contacts", "rollups")}
    assert set(transport.bulk) == {*s.input_topics.values(), *internal}


def test_a_faust_upgrade_that_drops_an_internal_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kafka_consumer.check_internals()  # today's faust has them all
    monkeypatch.setattr(kafka_consumer, "INTERNALS", (*kafka_consumer.INTERNALS, "_gone_in_0_16"))
    with pytest.raises(RuntimeError, match="_gone_in_0_16"):
        kafka_consumer.check_internals()


async def test_a_partition_s_fetched_records_are_one_batch_tracked_until_handled(
    consumer: Any,
) -> None:
    recorder = Recorder()
    tp = TP(TOPIC, 0)
    await consumer._deliver({tp: records(tp, [0, 1, 2])}, None, {TOPIC: recorder.handler(consumer)})
    assert recorder.batches == [[0, 1, 2]]
    assert recorder.unacked_during == [3]  # tracked while the handler ran
    assert len(consumer.unacked) == 0 and list(consumer._acked[tp]) == [0, 1, 2]
    assert consumer._read_offset[tp] == 2
    # Re-delivered records (a fetch after a seek) before the read offset are not handed over.
    await consumer._deliver({tp: records(tp, [1, 2, 3])}, None, {TOPIC: recorder.handler(consumer)})
    assert recorder.batches[-1] == [2, 3]  # as faust: offset >= read offset


async def test_a_revocation_waits_for_the_batch_in_flight_and_the_rest_is_not_started(
    consumer: Any,
) -> None:
    recorder = Recorder()
    recorder.release.clear()
    first, second = TP(TOPIC, 0), TP(TOPIC, 1)
    delivery = asyncio.create_task(consumer._deliver(
        {first: records(first, [0, 1]), second: records(second, [0])}, None,
        {TOPIC: recorder.handler(consumer)},
    ))
    for _ in range(20):  # let the delivery reach the handler
        await asyncio.sleep(0)
    assert recorder.batches == [[0, 1]]
    consumer.loop = asyncio.get_running_loop()  # faust's wait arms a future on its loop
    consumer.stop_flow()  # faust's revoke: stop the flow, then wait for tracked messages
    waiting = asyncio.create_task(consumer.wait_empty())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the batch in flight holds the revocation
    recorder.release.set()
    await asyncio.wait_for(waiting, 5)
    await delivery
    assert recorder.batches == [[0, 1]]  # partition 1's records wait for the seek back


async def test_a_generation_change_mid_fetch_stops_the_delivery(consumer: Any) -> None:
    recorder = Recorder()
    first, second = TP(TOPIC, 0), TP(TOPIC, 1)
    handle = recorder.handler(consumer)

    async def bump(batch: Sequence[Message]) -> None:
        await handle(batch)
        consumer.app.consumer_generation_id += 1

    await consumer._deliver({first: records(first, [0]), second: records(second, [0])}, None,
                            {TOPIC: bump})
    assert recorder.batches == [[0]]


async def test_batches_are_at_most_batch_max(consumer: Any) -> None:
    recorder = Recorder()
    consumer.transport.batch_max = 2
    tp = TP(TOPIC, 0)
    await consumer._deliver({tp: records(tp, range(5))}, None, {TOPIC: recorder.handler(consumer)})
    assert recorder.batches == [[0, 1], [2, 3], [4]]


async def test_a_seek_back_that_finds_the_partition_revoked_does_not_crash_the_worker(
    consumer: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    # CI, rebalance test: the flow paused, the partition was revoked before the seek back, and
    # aiokafka's IllegalStateError out of _drain_messages crashed the worker (faust's own
    # getmany logs it and goes on; so must the bulk path).
    consumer.loop = asyncio.get_running_loop()
    tp = TP(TOPIC, 3)
    fetcher = type("Fetcher", (), {"_stopped": asyncio.Event()})()
    fetches: list[int] = []
    seeks: list[int] = []

    async def next_records(wait: float) -> tuple[Any, Any]:
        fetches.append(1)
        if len(fetches) == 2:
            fetcher._stopped.set()  # the second round is the last
        return {tp: records(tp, [0])}, {tp}

    async def seek() -> None:
        seeks.append(1)
        raise IllegalStateError(f"No current assignment for partition {tp}")

    monkeypatch.setattr(consumer, "_wait_next_records", next_records)
    monkeypatch.setattr(consumer, "perform_seek", seek)
    consumer.stop_flow()
    await asyncio.wait_for(consumer._drain_messages(fetcher), 5)
    assert len(seeks) == 2  # tried again on the next round, not crashed on the first
    assert "No current assignment" in caplog.text
