"""`make bench`: one command, one run, one embedded broker → a table and results/latest.json.

    python benchmarks/run.py                      # full run (≈ 15–20 min on 2 cores)
    python benchmarks/run.py --quick              # smoke run with small sizes (≈ 3 min)
    python benchmarks/run.py --sizes events=50k,sweep=10k/100k,recovery=100k/300k
    python benchmarks/run.py --only throughput,latency --no-profile

Everything runs on this machine against one tansu broker and one redis-server started here on
free loopback ports (stopped in `finally`). Workers and baselines are real processes.

This file is the command: options, sizes and the order of the sections. Each row's method is in
the docstring of the module that measures it (see benchmarks/README.md for more):

    harness.py     the run, deployments (tests/deployment.py), progress polling, CPU accounting
    workload.py    the input of (a)–(d) and the scrape: black-friday, seed 7, 8 partitions
    throughput.py  rows (a)–(d) and their ratios, records written per input event
    scrape.py      /metrics with every label in use
    latency.py     occurred_at → /metrics at 1,000/s and ½ (d); fetch wait 1,500 ms; faust floor
    standalone.py  SLA sweep (sla_sweep.py), memory (domain_memory.py), gateway (gateway.py)
    recovery.py    restart → /readyz with N open tickets, ingest rate, RSS per ticket
    profiles.py    py-spy: record, summarise, results/profile-*.txt
    report.py      the table, results/latest.json, machine info
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.*, tests.*, stream

from benchmarks import latency, recovery, report, scrape, standalone, throughput
from benchmarks.harness import RESULTS, Bench, BenchDeployment, log
from benchmarks.profiles import have_pyspy
from benchmarks.workload import black_friday, input_record
from stream.stopping import stop_on_signals

FULL: dict[str, Any] = {
    "events": 200_000, "sweep": [10_000, 100_000, 1_000_000], "memory": 1_000_000,
    "tracemalloc": 100_000, "recovery": [1_000_000], "latency_seconds": 20,
    "gateway_seconds": 20,
}
QUICK: dict[str, Any] = {
    "events": 20_000, "sweep": [10_000, 100_000], "memory": 100_000,
    "tracemalloc": 20_000, "recovery": [10_000], "latency_seconds": 6,
    "gateway_seconds": 5,
}
SECTIONS = ("throughput", "latency", "scrape", "sweep", "memory", "recovery", "gateway")


def run(bench: Bench) -> dict[str, Any]:
    only = bench.args.only
    started = time.monotonic()
    try:
        with bench.servers():
            bf: BenchDeployment | None = None
            if {"throughput", "scrape"} & only:
                bf = bench.deployment("bf")
                sent, secs = bf.produce_timed(black_friday(bench.sizes["events"]))
                log(f"produced {sent} black-friday events in {secs:.1f}s")
                bench.results["input"] = input_record(sent, secs)
            if "throughput" in only and bf is not None:
                throughput.run(bench, bf)
            if "scrape" in only and bf is not None:
                scrape.run(bench, bf)
            if "latency" in only:
                latency.run(bench)
            if "sweep" in only:
                standalone.sweep(bench)
            if "memory" in only:
                standalone.memory(bench)
            if "recovery" in only:
                recovery.run(bench)
            if "gateway" in only:
                standalone.gateway(bench)
    finally:
        if bench.args.keep:
            log(f"kept {bench.workdir}")
        else:
            shutil.rmtree(bench.workdir, ignore_errors=True)
    bench.results["wall_seconds"] = round(time.monotonic() - started, 1)
    return bench.results


def parse_sizes(text: str | None, base: dict[str, Any]) -> dict[str, Any]:
    sizes = dict(base)

    def number(s: str) -> int:
        s = s.strip().lower().replace("_", "")
        factor = {"k": 1_000, "m": 1_000_000}.get(s[-1:], 1)
        return int(float(s[:-1] if factor > 1 else s) * factor)

    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in sizes:
            raise SystemExit(f"--sizes: unknown key {key!r} (known: {', '.join(sizes)})")
        if isinstance(sizes[key], list):
            sizes[key] = [number(v) for v in value.split("/")]
        else:
            sizes[key] = number(value)
    return sizes


def main() -> None:
    # Ctrl-C, `timeout`/`kill` (SIGTERM) and a closed terminal (SIGHUP) all unwind through the
    # `finally` that stops the servers; a second signal makes that clean-up kill, not wait.
    try:
        with stop_on_signals():
            bench()
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--sizes", help="override sizes, e.g. events=50k,sweep=10k/100k/1M,memory=1M,"
        "tracemalloc=100k,recovery=100k/300k,latency_seconds=20",
    )
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma list of sections: {','.join(SECTIONS)}")
    parser.add_argument("--half-rate", type=float, help="second latency rate (default: d/2)")
    parser.add_argument(
        "--no-fetch-wait-comparison", dest="fetch_wait_experiment", action="store_false",
        help="skip the latency run with SUPPORTPULSE_FETCH_MAX_WAIT_MS=1500 (faust's value)",
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the py-spy runs")
    parser.add_argument("--keep", action="store_true", help="keep logs and the work directory")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--merge-into", type=Path,
        help="re-run only --only's sections and replace them in this earlier results file",
    )
    args = parser.parse_args()
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := args.only - set(SECTIONS):
        raise SystemExit(f"--only: unknown sections {sorted(unknown)}")
    sizes = parse_sizes(args.sizes, QUICK if args.quick else FULL)
    if args.profile and not have_pyspy():
        log("py-spy not found: no profiles (pip install py-spy)")
    info = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": report.machine(),
            "sizes": sizes, "quick": args.quick}
    results = run(Bench(args, sizes))
    doc, out = report.document(args, info, results)
    report.write(doc, out, info)


if __name__ == "__main__":
    main()
