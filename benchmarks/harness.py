"""What every measurement of `benchmarks/run.py` shares: the run, its deployments, polling.

`Bench` is one run: options, sizes, results, a work directory, one tansu broker and one
redis-server on free loopback ports (`stream.embedded.embedded_stack`); leaving `Bench.servers()`
stops every child still running, then Redis and the broker. Deployments and processes are the
integration tests' (`tests/deployment.py`), with the benchmark's own names and tuning: 8
partitions, a fresh app id (consumer group) and data directory per worker unless one is given,
the worker's default commit interval, `info` logs (the recovery row reads the table's log line).

Progress polling (`follow`), the same for rows (b)–(d) and the recovery ingest: poll the
progress counter (every 50 ms until the first event is counted, then every 2 s: a scrape of the
worker costs it 30–70 ms of its event loop, so polling more often would slow what it measures);
rate = events counted after the first sample ÷ time from the first sample to completion, where
completion is interpolated inside the last poll interval from the rate of the interval before
(so the poll interval does not round the elapsed time up). Process start-up and group join are
excluded. `process_cpu_cores` = the process's CPU seconds ÷ wall seconds over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.workload import PARTITIONS
from stream.embedded import Broker, Redis, embedded_stack, free_port
from stream.kafka_io import changelog_topics, ensure_worker_topics, internal_topics, publish
from stream.settings import Settings
from tests.deployment import Child, Deployment, WorkerProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
HTTP_TIMEOUT = 10.0  # a scrape under load can take seconds; a polling miss is not an error
STOP_TIMEOUT = 30.0
BENCH_TUNING = {"SUPPORTPULSE_LOG_LEVEL": "info"}  # otherwise the worker's defaults


def checkout_env() -> dict[str, str]:
    """PYTHONPATH with this checkout first, for the scripts run by path (faust_baseline.py,
    sla_sweep.py, domain_memory.py): they find `stream` through sys.path, where an installed
    copy (a wheel, another worktree's editable install) must not stand in for the code under
    test. Workers need nothing: `-m stream.cli` from the checkout finds it first."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One run: what the measurement modules read (sizes, options) and write (results)."""

    broker: Broker
    redis: Redis

    def __init__(self, args: argparse.Namespace, sizes: dict[str, Any]) -> None:
        from benchmarks.profiles import have_pyspy

        self.args = args
        self.sizes = sizes
        self.results: dict[str, Any] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="supportpulse-bench-"))
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir()
        self.profile = args.profile and have_pyspy()
        self.outdir = (args.merge_into or args.out).parent  # profiles go beside the results
        self.scrape_worker: Child | None = None  # (d)'s profiled worker, reused by the scrape

    @contextlib.contextmanager
    def servers(self) -> Iterator[None]:
        with embedded_stack(self.workdir) as (broker, redis):
            self.broker, self.redis = broker, redis
            log(f"broker {broker.bootstrap}, redis {redis.url}, work {self.workdir}")
            try:
                yield
            finally:
                for proc in list(Child.running):
                    proc.stop()

    def deployment(self, name: str) -> BenchDeployment:
        """Topics of its own on the shared broker, created."""
        dep = BenchDeployment(
            self.broker.bootstrap, self.redis.url, self.workdir, PARTITIONS,
            app_id=f"bench-{name}", prefix=f"bench-{name}-{uuid.uuid4().hex[:6]}",
            tuning=dict(BENCH_TUNING), logdir=self.logdir,
        )
        dep.create_topics()
        return dep


class BenchWorker(WorkerProcess):
    changelog: str | None = None  # the tickets changelog topic: the latency probe's signal
    internal_topics: list[str]


@dataclass
class BenchDeployment(Deployment):
    logdir: Path = Path()
    count: int = 0  # events produced into it so far

    def produce_timed(self, events: Iterable[dict[str, Any]]) -> tuple[int, float]:
        """Sent and seconds; the events stream through (1M recovery tickets are not a list)."""
        started = time.monotonic()
        sent = asyncio.run(publish(self.settings(), events))
        self.count += sent
        return sent, time.monotonic() - started

    def bench_worker(self, name: str, app_id: str | None = None, **env: str) -> BenchWorker:
        """`worker --clock event`, its own consumer group unless `app_id` is given."""
        app_id = app_id or f"bench-{name}-{uuid.uuid4().hex[:6]}"
        proc = BenchWorker(
            self, "event",
            {"SUPPORTPULSE_APP_ID": app_id, "SUPPORTPULSE_DATA_DIR": str(self.workdir / app_id),
             **env},
            cwd=ROOT, name=name, log_path=self.logdir / f"{name}.log", stop_timeout=STOP_TIMEOUT,
        )
        topics = create_internal_topics(proc.environment())
        proc.changelog = next((t for t in topics if t.endswith("-tickets-changelog")), None)
        proc.internal_topics = topics
        return proc

    def baseline(self, mode: str) -> Child:
        """`faust_baseline.py` in BENCH_MODE `mode` (rows b, b', c)."""
        app_id = f"bench-{mode}-{uuid.uuid4().hex[:6]}"
        port = free_port()
        env = self.env(
            SUPPORTPULSE_APP_ID=app_id, SUPPORTPULSE_DATA_DIR=str(self.workdir / app_id),
            SUPPORTPULSE_WEB_PORT=str(port), BENCH_MODE=mode, SUPPORTPULSE_LOG_LEVEL="warn",
            **checkout_env(),
        )
        argv = [PY, str(HERE / "faust_baseline.py"), "worker", "-l", "warn",
                "--web-host", "127.0.0.1", "--web-port", str(port)]
        name = f"baseline-{mode}"
        return Child(name, argv, env, port, self.logdir / f"{name}.log", ROOT, STOP_TIMEOUT)


def create_internal_topics(env: dict[str, str]) -> list[str]:
    """Create the worker's changelog and internal topics before it starts; return their names.

    Written as a workaround: before `stream.kafka_io.ensure_worker_topics` (commit 36c8663)
    the worker began recovering its tables at assignment, before faust declared the
    changelogs, and the recovery consumer's metadata request auto-created them with the
    broker's default partition count (4 on tansu): with 8 partitions, /readyz stayed 503
    forever. Now the worker creates them itself and this is a no-op apart from the names (the
    tickets changelog is the latency probe's signal). Names and settings come from
    `stream.kafka_io`, as the worker's own.
    """
    with mock.patch.dict(os.environ, env):
        settings = Settings(_env_file=None)
    asyncio.run(ensure_worker_topics(settings))
    return [*changelog_topics(settings), *internal_topics(settings)]


# --- progress -----------------------------------------------------------------------------------
def events_applied(proc: Child) -> float | None:
    """The worker's progress: support_events_total + support_events_rejected_total."""
    status, body = proc.http("/metrics", timeout=HTTP_TIMEOUT)
    if status != 200:
        return None
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(("support_events_total{", "support_events_rejected_total{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def baseline_count(proc: Child) -> float | None:
    status, body = proc.http("/count", timeout=HTTP_TIMEOUT)
    return float(json.loads(body)["count"]) if status == 200 else None


def follow(
    proc: Child,
    count: Callable[[Child], float | None],
    total: int,
    *,
    on_first: Callable[[], None] | None = None,
    timeout: float = 900.0,
    stall: float = 60.0,
    poll: float = 2.0,
    first_timeout: float = 180.0,
) -> dict[str, Any]:
    """Rate of `count` from its first non-zero sample to `total` (see the module docstring)."""
    first_deadline = time.monotonic() + first_timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
        c = count(proc)
        now = time.monotonic()
        if c:
            break
        if now > first_deadline:
            raise RuntimeError(
                f"{proc.name}: no event counted in {first_timeout}s\n{proc.log_tail()}"
            )
        time.sleep(0.05)
    if on_first is not None:
        on_first()
    cpu0 = proc.cpu_seconds()
    deadline = now + timeout
    t1, c1 = now, c
    samples = [(t1, c1)]
    changed = t1
    while c < total:
        time.sleep(poll)
        c = count(proc) or c
        now = time.monotonic()
        if c != samples[-1][1]:
            changed = now
        samples.append((now, c))
        if now - changed > stall or now > deadline:
            break
    done = now
    if c >= total and len(samples) >= 3:
        (tp, cp), (tpp, cpp) = samples[-2], samples[-3]
        if tp > tpp and cp > cpp:
            done = min(now, tp + (total - cp) / ((cp - cpp) / (tp - tpp)))
    counted = min(c, total) - c1
    rate = counted / (done - t1) if done > t1 else float("nan")
    cpu = (proc.cpu_seconds() - cpu0) / (now - t1) if now > t1 else float("nan")
    return {
        "process_cpu_cores": round(cpu, 2),
        "events": int(min(c, total)), "complete": c >= total, "first_sample": int(c1),
        "seconds": round(done - t1, 3), "events_per_s": round(rate, 1),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]
