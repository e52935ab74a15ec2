"""The ceiling of a bulk-consumption path: `Pipeline.process` alone, in one process, no Kafka.

Not part of `make bench`. `benchmarks/README.md` (proposal 2) asks how fast the worker could go
if records were handed to it in bulk past faust's per-message stream machinery. This runs the
same input as (d) — the first N events of the `black-friday` profile, seed 7 — through
`Pipeline.process` in batches of `batch_max` per input topic, as the agents would get them,
with every partition owned and empty, the event clock, the shipped SLA policy, every metric,
and the changelog flush encoding every record. What it leaves out: the Kafka producer (sends go
to a counter), Redis (background-writer jobs are dropped), the contacts join and the SLA sweep
agent (≈ 0.12 records per input event that the worker re-consumes), faust's consumer thread
and aiokafka's fetch and record unpacking ((a) puts the latter at ≈ 3 µs per event).

    python benchmarks/process_only.py --events 200000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

# The checkout's `stream` and `benchmarks.workload` (run.py's input), not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream.domain.clock import EventClock
from stream.domain.events import STREAM_OF_TYPE, key_for_dict
from stream.settings import Settings
from stream.worker import Pipeline


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class CountingProducer:
    def __init__(self) -> None:
        self.sent = 0

    async def send(self, *args: Any) -> asyncio.Future[None]:
        # As faust's producer: the awaited send returns the delivery future (awaited later).
        self.sent += 1
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


def own_everything(pipeline: Pipeline, partitions: int) -> None:
    for table in pipeline.tables.values():
        table.own_empty(range(partitions))


async def run(n: int) -> dict[str, Any]:
    from benchmarks.workload import black_friday  # run.py's input: same profile, seed, start

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_bootstrap=["127.0.0.1:1"], redis_url="redis://127.0.0.1:1/0",
        app_id="process-only",
    )
    pipeline = Pipeline(settings, EventClock(), CollectorRegistry())
    producer = CountingProducer()
    pipeline.app.producer = producer
    dropped: list[Callable[[], Awaitable[None]]] = []
    pipeline.writer.submit = lambda job, on_drop=None: dropped.append(job)  # type: ignore[method-assign]
    own_everything(pipeline, settings.partitions)
    topics = settings.input_topics
    encoded: dict[str, list[Message]] = {s: [] for s in topics}
    offsets: dict[tuple[str, int], int] = {}
    for body in black_friday(n):
        stream = STREAM_OF_TYPE[str(body["type"])]
        key = key_for_dict(body) or ""
        partition = zlib.crc32(key.encode()) % settings.partitions
        offset = offsets.get((stream, partition), -1) + 1
        offsets[(stream, partition)] = offset
        encoded[stream].append(Message(
            topics[stream], partition, offset, key.encode(), json.dumps(body).encode(),
        ))
    total = sum(len(v) for v in encoded.values())
    batch = settings.batch_max
    cpu, wall = time.process_time(), time.perf_counter()
    # Streams interleaved batch by batch, as four agents sharing one event loop would run.
    cursors = dict.fromkeys(topics, 0)
    while any(cursors[s] < len(encoded[s]) for s in topics):
        for stream in topics:
            start = cursors[stream]
            if start < len(encoded[stream]):
                await pipeline.process(stream, encoded[stream][start:start + batch])
                cursors[stream] = start + batch
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await pipeline.redis.aclose()
    return {
        "events": total, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
        "cpu_us_per_event": round(cpu / total * 1e6, 1),
        "events_per_cpu_s": round(total / cpu), "records_sent": producer.sent,
        "read_model_jobs_dropped": len(dropped),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.events))))


if __name__ == "__main__":
    main()
