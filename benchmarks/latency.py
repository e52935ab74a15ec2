"""The latency rows: occurred_at → visible on /metrics, for the worker and the faust floor.

Latency (occurred_at → visible on /metrics): a fresh deployment and worker (--clock event, idle
apart from this load). This process produces `ticket.created` events paced at R events/s (in
5 ms steps) with `occurred_at` = the wall time at send. After a 2 s warm-up, every M-th event
(M = R/20, i.e. 20 markers/s) is a *marker*: ticket id `mk-…`, channel `social`, priority `low`
(no other event of the run has that label pair), sent to partition 0. The worker increments
`support_tickets_created_total{channel="social",priority="low"}` while it processes the marker's
batch, and writes the marker's key to its tickets changelog (partition 0) when that batch
ends, so the changelog record arrives *after* the counter is visible: (receipt of that record by
a consumer here, fetch wait 10 ms) − (send time) is an upper bound that does not load the
worker. /metrics is also polled at 2 Hz; the k-th increase of that counter is marker k (one
partition keeps them in order), giving a second upper bound (end of the first scrape that shows
it) and a lower bound (start of the scrape before). Headline: per marker, the smaller of the two
upper bounds (under load the changelog record can trail the counter by seconds, when the
worker's producer or the broker is slow); both series are in latest.json.
Polling /metrics faster would itself add latency: each scrape blocks the worker's event loop for
30–70 ms. `support_event_lag_seconds` is not used: with `--clock event` "now" is the newest
event time, so it is ≈ 0 by construction. Rates: 1,000/s and half of (d)'s measured maximum.
The worker runs with its default consumer fetch wait (`SUPPORTPULSE_FETCH_MAX_WAIT_MS`, 100 ms);
then the same again with it at 1500 ms, the value faust hard-codes (what it cost), and the same
probe against the batching faust baseline (b') polling its /count at 10 Hz: the floor of faust
on this broker before any work.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from benchmarks.harness import Bench, BenchDeployment, log, percentile
from tests.deployment import Child

MARKER = 'support_tickets_created_total{channel="social",priority="low"} '


def run(bench: Bench) -> None:
    dep = bench.deployment("lat")
    rates = [1000.0]
    d = bench.results.get("throughput", {}).get("d_worker", {}).get("events_per_s")
    if bench.args.half_rate:
        rates.append(bench.args.half_rate)
    elif d:
        rates.append(round(d / 2, 0))
    seconds = bench.sizes["latency_seconds"]
    out: dict[str, Any] = {}
    variants: list[tuple[str, str | None]] = [("", None)]
    if bench.args.fetch_wait_experiment:
        variants.append(("fetch1500_", "1500"))
    for prefix, wait in variants:
        extra: dict[str, str] = {"SUPPORTPULSE_FETCH_MAX_WAIT_MS": wait} if wait else {}
        proc = dep.bench_worker(f"latency{'-' + wait if wait else ''}", **extra)
        proc.start(wait_ready=False)
        try:
            proc.wait_http("/readyz", 120)
            for rate in rates:
                label = prefix + ("at_1000" if rate == 1000.0 else "at_half_d")
                out[label] = asyncio.run(paced_latency(
                    dep, proc, rate, seconds, poll=0.5, changelog=proc.changelog,
                ))
                log(f"latency {label}: {out[label]}")
                time.sleep(2)
        finally:
            proc.stop()
    # The same probe against the batching faust baseline (b'), polling its cheap /count at
    # 10 Hz: the floor that faust's consumer and the broker impose before any work.
    base = dep.baseline("batch").start()
    try:
        base.wait_http("/count", 120)
        time.sleep(8)  # group join: /count answers before partitions are assigned
        for rate in rates:
            res = asyncio.run(paced_latency(
                dep, base, rate, seconds, path="/count", read=baseline_markers,
            ))
            label = "floor_at_1000" if rate == 1000.0 else "floor_at_half_d"
            out[label] = res
            log(f"latency {label}: {res}")
    finally:
        base.stop()
    bench.results["latency"] = out


def baseline_markers(text: str) -> float:
    return float(json.loads(text)["markers"])


def marker_value(text: str) -> float:
    at = text.find(MARKER)
    if at < 0:
        return 0.0
    end = text.find("\n", at)
    return float(text[at + len(MARKER):end])


async def watch_changelog(
    bootstrap: str, topic: str, seen: dict[bytes, float], stop: asyncio.Event
) -> None:
    """Receipt time of every key written to partition 0 of `topic` from now on."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        fetch_max_wait_ms=10,  # tansu does not answer a waiting fetch as soon as data arrives
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        while not stop.is_set():
            batch = await consumer.getmany(tp, timeout_ms=100)
            now = time.time()
            for messages in batch.values():
                for message in messages:
                    if message.key is not None:
                        seen.setdefault(message.key, now)
    finally:
        await consumer.stop()


async def paced_latency(
    dep: BenchDeployment, proc: Child, rate: float, seconds: float, *, warmup: float = 2.0,
    poll: float = 0.1, path: str = "/metrics", read: Callable[[str], float] = marker_value,
    changelog: str | None = None,
) -> dict[str, Any]:
    """occurred_at → visible, for markers among paced ticket.created (see the docstring)."""
    topic = dep.settings().topic_tickets
    every = max(1, round(rate / 20))
    run = uuid.uuid4().hex[:6]
    encoder = msgspec.json.Encoder()
    sent_at: list[float] = []
    keys: list[bytes] = []
    state = {"done": False, "sent": 0, "elapsed": 0.0}
    producer = AIOKafkaProducer(bootstrap_servers=dep.bootstrap, linger_ms=5, acks="all")
    await producer.start()
    seen: dict[bytes, float] = {}
    stop = asyncio.Event()
    watcher = (asyncio.create_task(watch_changelog(dep.bootstrap, changelog, seen, stop))
               if changelog else None)
    await asyncio.sleep(1.0)  # the watcher is positioned at the end before markers are sent

    async def produce() -> None:
        started = time.monotonic()
        end = started + warmup + seconds
        i = 0
        while (now := time.monotonic()) < end:
            due = int((now - started) * rate)
            while i < due:
                wall = time.time()
                marker = now - started >= warmup and i % every == 0
                ticket = f"{'mk' if marker else 'lat'}-{run}-{i}"
                event = {
                    "type": "ticket.created", "event_id": ticket,
                    "occurred_at": datetime.fromtimestamp(wall, UTC).isoformat(),
                    "ticket_id": ticket, "channel": "social" if marker else "email",
                    "priority": "low" if marker else "normal", "queue": "orders",
                }
                if marker:
                    sent_at.append(wall)
                    keys.append(ticket.encode())
                await producer.send(
                    topic, encoder.encode(event), key=ticket.encode(),
                    partition=0 if marker else None,
                )
                i += 1
            await asyncio.sleep(0.005)
        await producer.flush()
        state["sent"], state["elapsed"] = i, time.monotonic() - started
        state["done"] = True

    upper: list[float] = []
    lower: list[float] = []
    scrape_ms: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def scrape() -> str:
            async with session.get(proc.url + path) as response:
                return await response.text()

        baseline = read(await scrape())
        cpu0 = proc.cpu_seconds()
        wall0 = time.monotonic()
        task = asyncio.create_task(produce())
        previous_start = time.time()
        give_up: float | None = None
        while True:
            start = time.time()
            text = await scrape()
            end = time.time()
            scrape_ms.append((end - start) * 1000)
            visible = int(read(text) - baseline)
            while len(upper) < min(visible, len(sent_at)):
                k = len(upper)
                upper.append(end - sent_at[k])
                lower.append(max(0.0, previous_start - sent_at[k]))
            previous_start = start
            if state["done"]:
                give_up = give_up or time.monotonic() + 15.0
                if len(upper) >= len(sent_at) or time.monotonic() > give_up:
                    break
            await asyncio.sleep(max(0.0, poll - (end - start)))
        await task
        cpu = (proc.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
    await asyncio.sleep(0.5)
    stop.set()
    if watcher is not None:
        await watcher
    await producer.stop()
    via_changelog = [seen[k] - t for k, t in zip(keys, sent_at, strict=True) if k in seen]
    # Both are upper bounds of the same moment: per marker, the tighter one counts.
    best = [
        min(x for x in (upper[i] if i < len(upper) else None,
                        seen[k] - sent_at[i] if k in seen else None) if x is not None)
        for i, k in enumerate(keys) if i < len(upper) or k in seen
    ]

    def stats(values: list[float], prefix: str) -> dict[str, float]:
        return {f"{prefix}p50_s": round(percentile(values, 50), 3),
                f"{prefix}p90_s": round(percentile(values, 90), 3),
                f"{prefix}p99_s": round(percentile(values, 99), 3),
                f"{prefix}max_s": round(max(values, default=float("nan")), 3)}

    head = best if changelog else upper
    return {
        "method": "min(changelog record of the marker, first scrape showing it): upper bound"
        if changelog else f"poll {path} every {poll}s (upper bound)",
        "target_rate": round(rate, 1),
        "achieved_rate": round(state["sent"] / state["elapsed"], 1),
        "events": state["sent"], "markers": len(sent_at), "markers_seen": len(head),
        **stats(head, ""),
        **(stats(via_changelog, "changelog_") if changelog else {}),
        **stats(upper, "scrape_"),
        **{k: v for k, v in stats(lower, "scrape_lower_").items() if "p50" in k or "p99" in k},
        "scrape_poll_s": poll, "scrape_ms_median": round(statistics.median(scrape_ms), 1),
        "scrape_ms_p95": round(percentile(scrape_ms, 95), 1),
        "worker_cpu_cores": round(cpu, 2),
    }
