"""Throughput rows (a)–(d) and their ratios, on the black-friday input (`workload.py`).

(a) raw aiokafka: one `AIOKafkaConsumer` (default fetch settings) in this process reads every
    partition of the four input topics from the start and `msgspec.json.decode`s each value.
    Rate from the first fetch after the seek to the last record decoded.
(b) bare faust agent: `benchmarks/faust_baseline.py` (BENCH_MODE=bare), `async for event in
    stream.events(): count += 1` over the same four topics, same faust settings as the worker.
    (b') the same with `take_events(batch_max, within)` — the worker's batching, nothing per
    event (informational).
(c) naive faust design: decode JSON and `table[key] += 1` on a faust Table per event (one
    changelog message per event).
(d') the same worker with `SUPPORTPULSE_INGEST_PATH=faust` (faust's per-message delivery into
    `take_events` batches instead of the consumer's bulk path), run before (d): the bulk path's
    gain, side by side; both rows report CPU µs per event (process CPU ÷ events).
(d) the Support Pulse worker, `python -m stream.cli worker --clock event`, full metric set,
    SLA policy, Redis read model. Progress = `support_events_total` +
    `support_events_rejected_total` from /metrics.
    All of (b)–(d) are measured identically (`harness.follow`: progress polling, start-up and
    group join excluded, `process_cpu_cores`).
    (d) runs twice on fresh consumer groups: once clean (the number) and once under py-spy (the
    profile, `results/profile-throughput.txt`).

Also: the records (d) wrote per input event — its changelogs and internal topics (each internal
record is consumed again by one of its own agents) — and d/a, d/b, d/b', d/c.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks.harness import (
    Bench,
    BenchDeployment,
    baseline_count,
    events_applied,
    follow,
    log,
)
from benchmarks.profiles import Profiler, summarize_profile, write_profile
from benchmarks.workload import PARTITIONS


def run(bench: Bench, bf: BenchDeployment) -> None:
    n = bf.count
    r = bench.results.setdefault("throughput", {})
    r["a_raw_aiokafka"] = asyncio.run(raw_consume(bf.bootstrap, bf.input_topics, n))
    log(f"(a) raw aiokafka: {r['a_raw_aiokafka']}")
    for key, mode in (("b_bare_faust", "bare"), ("b2_batch_faust", "batch"),
                      ("c_table_per_event", "table")):
        proc = bf.baseline(mode).start()
        try:
            r[key] = follow(proc, baseline_count, n)
        finally:
            proc.stop()
        log(f"({key}) {r[key]}")
    # (d') first: the same worker on faust's per-message delivery, for the bulk path's gain.
    per_message = bf.bench_worker("d-faust-path", SUPPORTPULSE_INGEST_PATH="faust")
    per_message.start(wait_ready=False)
    try:
        r["d2_worker_faust_path"] = follow(per_message, events_applied, n)
    finally:
        per_message.stop()
    log(f"(d') worker, faust per-message path: {r['d2_worker_faust_path']}")
    d_worker = bf.bench_worker("d-clean").start(wait_ready=False)
    try:
        r["d_worker"] = follow(d_worker, events_applied, n)
        time.sleep(3)
    finally:
        d_worker.stop()
    log(f"(d) worker: {r['d_worker']}")
    for key in ("d_worker", "d2_worker_faust_path"):
        row = r[key]  # CPU per event = cores busy ÷ events per second
        row["cpu_us_per_event"] = round(1e6 * row["process_cpu_cores"] / row["events_per_s"], 1)
    # What the worker wrote per input event: changelogs and its internal topics (each
    # internal record is consumed again by one of its own agents).
    app_id = d_worker.env["SUPPORTPULSE_APP_ID"]
    internal = [t for t in d_worker.internal_topics if t.startswith(app_id)]
    sizes = asyncio.run(topic_sizes(bf.bootstrap, internal))
    r["d_records_written_per_input_event"] = {
        t.removeprefix(app_id + "-"): round(v / n, 3) for t, v in sizes.items()
    }
    rd = r["d_worker"]["events_per_s"]
    for other in ("a_raw_aiokafka", "b_bare_faust", "b2_batch_faust", "c_table_per_event"):
        r[f"d_over_{other.split('_')[0]}"] = round(rd / r[other]["events_per_s"], 3)
    # The same run again under py-spy, for the profile (its rate is reported, not used).
    if bench.profile:
        proc = bf.bench_worker("d-profiled").start(wait_ready=False)
        out = bench.workdir / "profile-throughput.raw"
        holder: dict[str, Profiler] = {}
        try:
            r["d_worker_profiled"] = follow(
                proc, events_applied, n,
                on_first=lambda: holder.setdefault("p", Profiler(proc.pid, out)),
            )
        finally:
            if "p" in holder:
                holder["p"].stop()
        bench.results["profile_throughput"] = summarize_profile(out)
        write_profile(bench.outdir / "profile-throughput.txt",
                      bench.results["profile_throughput"])
        bench.scrape_worker = proc  # reused by the scrape section
        log(f"(d) profiled: {r['d_worker_profiled']}")


async def raw_consume(bootstrap: str, topics: list[str], total: int) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    decode = msgspec.json.decode
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        # From the first fetch after the seek to the last record decoded.
        first = last = time.monotonic()
        deadline = first + 300
        while seen < total and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                for message in messages:
                    decode(message.value)
                seen += len(messages)
            last = time.monotonic()
    finally:
        await consumer.stop()
    rate = seen / (last - first) if last > first else float("nan")
    return {"events": seen, "seconds": round(last - first, 3), "events_per_s": round(rate, 1)}


async def topic_sizes(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Records per topic (true end offsets summed over partitions; topics start at 0)."""
    from stream.changelog_io import true_end_offsets

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        sizes = {}
        for topic in topics:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            ends = await true_end_offsets(consumer, tps)
            sizes[topic] = sum(ends.values())
        return sizes
    finally:
        await consumer.stop()
