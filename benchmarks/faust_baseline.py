"""Baselines (b) and (c) of `benchmarks/run.py`: a tiny faust app, run as its own process.

It consumes the same four input topics as the Support Pulse worker with the same faust settings
(`stream.worker.faust_settings`, read from the same `SUPPORTPULSE_*` variables, and the same
consumer fetch wait, `stream.kafka_consumer`), so the only difference to the worker is what
happens per event. `BENCH_MODE` picks the agent:

    bare   the canonical faust agent loop, `async for event in stream.events(): count += 1` —
           nothing per event (plus a key prefix test for latency markers)
    batch  `stream.take_events(batch_max, within=batch_within_seconds)` — the worker's batching,
           still nothing per event (informational: what batching alone buys)
    table  the naive stateful design: decode the JSON and `table[key] += 1` on a faust Table for
           every event, i.e. one changelog message per event

Progress is served on `GET /count` (JSON `{"count": n, "markers": m}`) by faust's web server,
which the orchestrator polls exactly as it polls the worker's /metrics.

    SUPPORTPULSE_... BENCH_MODE=bare python benchmarks/faust_baseline.py worker -l warning
"""

from __future__ import annotations

import os
from typing import Any

import faust
import msgspec

from stream import kafka_consumer
from stream.settings import Settings
from stream.worker import faust_settings

settings = Settings()
MODE = os.environ.get("BENCH_MODE", "bare")
app = faust.App(f"{settings.app_id}", **faust_settings(settings))
kafka_consumer.install(app, settings.fetch_max_wait_ms)
source = app.topic(
    *settings.input_topics.values(), key_serializer="raw", value_serializer="raw"
)
progress = {"count": 0, "markers": 0}
MARKER = b"mk-"  # latency markers (benchmarks/run.py): counted so the same probe works here

if MODE == "bare":

    @app.agent(source)
    async def bare(stream: Any) -> None:
        async for event in stream.events():
            progress["count"] += 1
            if event.key.startswith(MARKER):
                progress["markers"] += 1

elif MODE == "batch":

    @app.agent(source)
    async def batch(stream: Any) -> None:
        async for events in stream.take_events(
            settings.batch_max, within=settings.batch_within_seconds
        ):
            progress["count"] += len(events)
            progress["markers"] += sum(1 for e in events if e.key.startswith(MARKER))

elif MODE == "table":
    counts = app.Table(
        "naive-counts", default=int, partitions=settings.partitions, key_type=str,
        value_type=int,
    )
    decoder = msgspec.json.Decoder()

    @app.agent(source)
    async def table(stream: Any) -> None:
        async for event in stream.events():
            decoder.decode(event.value)
            counts[event.key.decode()] += 1
            progress["count"] += 1

else:
    raise SystemExit(f"unknown BENCH_MODE {MODE!r}")


@app.page("/count")
async def count(web: Any, request: Any) -> Any:
    return web.json(progress)


if __name__ == "__main__":
    app.main()
