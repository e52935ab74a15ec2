"""The recovery rows: a restarted worker's time to /readyz with N open tickets in its tables.

Recovery: per size N, a fresh deployment gets N `ticket.created` events (10 min of event time,
none due), a worker applies them (ingest rate reported), is stopped with SIGTERM (which brings its
local snapshots up to date), and a new worker is started twice on the same data dir: once with
snapshots off (it reads the whole changelog: `readyz_s`), then with them on (snapshot + changelog
tail: `snapshot_readyz_s`). We time process start → /readyz 200 (also start → /healthz, the
tables' own "recovered … in X s" log lines, and the open tickets each one serves). With
--profile, one more restart runs under py-spy for the recovery profile
(`results/profile-recovery.txt`). Recovery also reports the worker process's RSS growth per
ticket (and Redis's) during the ingest.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.harness import Bench, events_applied, follow, log
from benchmarks.profiles import Profiler, summarize_profile, write_profile
from benchmarks.workload import SIM_START


def run(bench: Bench) -> None:
    rows = []
    for n in bench.sizes["recovery"]:
        rows.append(recover(bench, n))
        log(f"recovery: {rows[-1]}")
    bench.results["recovery"] = rows


def recover(bench: Bench, n: int) -> dict[str, Any]:
    dep = bench.deployment(f"rec{n}")
    app_id = f"bench-rec{n}-{uuid.uuid4().hex[:6]}"
    queues = ("orders", "returns", "payments", "general")
    start = SIM_START + timedelta(hours=10)

    def tickets() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {
                "type": "ticket.created", "event_id": f"rec-{i}",
                "occurred_at": (start + timedelta(microseconds=i * 600 * 1_000_000 // n))
                .isoformat(),
                "ticket_id": f"T-rec-{i}", "channel": ("email", "web_form", "social")[i % 3],
                "priority": ("low", "normal", "high")[i % 3], "queue": queues[i % 4],
                "request_type": "product_question", "customer_id": f"cust-{i % 100000:06d}",
            }

    row: dict[str, Any] = {"open_tickets": n}
    first = dep.bench_worker(f"rec{n}-ingest", app_id).start(wait_ready=False)
    try:
        first.wait_http("/readyz", 120)
        rss0 = first.rss()
        redis0 = redis_memory(bench.redis.url)
        sent, secs = dep.produce_timed(tickets())
        row["produce_s"] = round(secs, 1)
        row["ingest"] = follow(first, events_applied, sent, stall=120, timeout=3600)
        time.sleep(3)  # a commit interval and a producer flush past the last batch
        row["worker_rss_bytes_per_ticket"] = round((first.rss() - rss0) / n, 1)
        row["redis_bytes_per_ticket"] = round((redis_memory(bench.redis.url) - redis0) / n, 1)
    finally:
        first.stop()
    # The same restart twice, side by side: from the whole changelog (snapshots off), then
    # from the local snapshots the clean stop above wrote, plus the changelog tail after them.
    for label, env in (("", {"SUPPORTPULSE_TABLE_SNAPSHOTS": "false"}), ("snapshot_", {})):
        again = dep.bench_worker(f"rec{n}-restart-{label or 'full'}", app_id, **env)
        again.start(wait_ready=False)
        try:
            row[f"{label}healthz_s"] = round(again.wait_http("/healthz", 600, poll=0.05), 2)
            row[f"{label}readyz_s"] = round(again.wait_http("/readyz", 1200, poll=0.1), 2)
            row[f"{label}open_tickets_served"] = open_tickets(again)
        finally:
            again.stop()
        found = recovered_log(again.log_path)  # after the stop: its stdout is buffered
        row.update({f"{label}{k}": v for k, v in found.items()})
    if bench.profile:
        third = dep.bench_worker(f"rec{n}-profiled", app_id).start(wait_ready=False)
        out = bench.workdir / f"profile-recovery-{n}.raw"
        time.sleep(0.5)  # py-spy needs an initialised interpreter to attach
        profiler = Profiler(third.pid, out)
        try:
            row["readyz_profiled_s"] = round(third.wait_http("/readyz", 1200), 2)
        finally:
            profiler.stop()
            third.stop()
        summary = summarize_profile(out)
        bench.results[f"profile_recovery_{n}"] = summary
        write_profile(bench.outdir / "profile-recovery.txt", summary)
    return row


def redis_memory(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def open_tickets(worker: Any) -> int:
    """support_tickets_open summed: the restarted worker serves the state it recovered."""
    from prometheus_client.parser import text_string_to_metric_families

    status, body = worker.http("/metrics")
    assert status == 200
    return int(sum(s.value for f in text_string_to_metric_families(body.decode())
                   for s in f.samples if s.name == "support_tickets_open"))


def recovered_log(path: Path) -> dict[str, Any]:
    """The tables' own "recovered ... in X s: N records read, M from local snapshots" lines."""
    pattern = re.compile(
        r"recovered (\S+) partitions .*? in ([\d.]+)s: (\d+) records read, (\d+) from local")
    records = restored = found = 0
    longest = 0.0
    for match in pattern.finditer(path.read_text(errors="replace")):
        found += 1
        records += int(match[3])
        restored += int(match[4])
        longest = max(longest, float(match[2]))
    return {"changelog_records": records, "partitions_from_snapshot": restored,
            "table_recover_s": longest, "tables_recovered": found}
