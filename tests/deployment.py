"""One deployment helper for the integration tests and the benchmarks (issue 16, step 4).

A `Deployment` is one isolated set of topics and an app id on a shared broker (unique names,
so runs never share state); a `WorkerProcess` is a real `supportpulse worker` subprocess of
it on a free loopback port; `Child` is any such process with an HTTP port (the benchmarks'
faust baselines are ones too). Children are started with `stream.stopping.child_options()`
(their own session, and the parent-death signal from the main thread) and stopped with
`stop_process` (SIGTERM, then SIGKILL to the group); `Child.running` lists the ones not yet
stopped, so a command can stop them all in its `finally`.

Why it lives here: it is test plumbing, not product — in `stream/` it would ship in the wheel
and the image and fall under mypy strict for no user, and the top level is fixed by the
product card (DESIGN.md). `tests/` already holds the code several tiers share (`scenario.py`,
`webhooks.py`, `scripts.py`), and the benchmarks already read from `tests/` (gateway.py signs
the tests' webhook fixtures) with the repository root on sys.path: `benchmarks/harness.py`
imports this module the same way. What it builds on stays in `stream/`, because the demo
uses it too: `stream.embedded` (tansu, redis-server, `free_port`) and `stream.stopping`.

The defaults are the tests' (`TEST_TUNING`: short commit interval, quiet logs); the
benchmarks replace `tuning` as a whole, since they measure the worker's defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from prometheus_client.parser import text_string_to_metric_families

from stream.embedded import free_port
from stream.kafka_io import all_topics, consume_all, ensure_topics, publish
from stream.settings import Settings
from stream.stopping import child_options, stop_process

__all__ = [
    "TEST_TUNING", "Child", "Deployment", "Samples", "WorkerProcess", "free_port",
    "parse_samples", "unique",
]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# What makes a test fast and quiet; not what production (or a benchmark) runs with.
TEST_TUNING = {
    "SUPPORTPULSE_COMMIT_INTERVAL_SECONDS": "0.5",
    "SUPPORTPULSE_LOG_LEVEL": "warn",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Deployment:
    """One isolated set of topics and an app id on the shared broker."""

    bootstrap: str
    redis_url: str
    workdir: Path
    partitions: int = 4
    app_id: str = field(default_factory=lambda: unique("sp"))
    prefix: str = field(default_factory=lambda: unique("t"))
    extra_env: dict[str, str] = field(default_factory=dict)
    tuning: dict[str, str] = field(default_factory=lambda: dict(TEST_TUNING))
    # Every worker made by `worker()`, so whoever made the deployment can kill them all.
    workers: list[WorkerProcess] = field(default_factory=list, repr=False, compare=False)

    def env(self, **overrides: str) -> dict[str, str]:
        p = self.prefix
        env = {
            "SUPPORTPULSE_KAFKA_BOOTSTRAP": self.bootstrap,
            "SUPPORTPULSE_REDIS_URL": self.redis_url,
            "SUPPORTPULSE_APP_ID": self.app_id,
            "SUPPORTPULSE_PARTITIONS": str(self.partitions),
            "SUPPORTPULSE_TOPIC_TICKETS": f"{p}.tickets",
            "SUPPORTPULSE_TOPIC_CHATS": f"{p}.chats",
            "SUPPORTPULSE_TOPIC_AGENTS": f"{p}.agents",
            "SUPPORTPULSE_TOPIC_COMMERCE": f"{p}.commerce",
            "SUPPORTPULSE_TOPIC_SLA": f"{p}.sla",
            "SUPPORTPULSE_TOPIC_STAFFING": f"{p}.staffing",
            "SUPPORTPULSE_TOPIC_DLQ": f"{p}.dlq",
            "SUPPORTPULSE_DATA_DIR": str(self.workdir / "data"),
            "SUPPORTPULSE_WEB_HOST": "127.0.0.1",
            # tansu waits a departed member's session timeout before it rebalances.
            "SUPPORTPULSE_SESSION_TIMEOUT_SECONDS": "6",
            "SUPPORTPULSE_HEARTBEAT_INTERVAL_SECONDS": "0.5",
        }
        env.update(self.tuning)
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def settings(self) -> Settings:
        saved = dict(os.environ)
        try:
            os.environ.update(self.env())
            return Settings(_env_file=None)  # type: ignore[call-arg]
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @property
    def input_topics(self) -> list[str]:
        return list(self.settings().input_topics.values())

    def create_topics(self) -> None:
        """The input and output topics (CONTRACT §1–2); the worker creates its own."""
        asyncio.run(ensure_topics(self.bootstrap, all_topics(self.settings()), self.partitions))

    def produce(self, events: Iterable[dict[str, Any]], speed: float | None = None) -> int:
        return asyncio.run(publish(self.settings(), list(events), speed=speed))

    def produce_raw(self, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> None:
        from aiokafka import AIOKafkaProducer

        async def run() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await producer.start()
            try:
                for key, value in records:
                    await producer.send(topic, value, key=key)
                await producer.flush()
            finally:
                await producer.stop()

        asyncio.run(run())

    def consume(self, topic: str, idle_ms: int = 1500) -> list[Any]:
        return asyncio.run(consume_all(self.bootstrap, topic, idle_ms=idle_ms))

    def worker(self, clock: str = "wall", **env: str) -> WorkerProcess:
        worker = WorkerProcess(self, clock, env)
        self.workers.append(worker)
        return worker


class Child:
    """A child process serving HTTP on 127.0.0.1:`port`, its output appended to `log_path`."""

    running: ClassVar[list[Child]] = []  # started and not yet stopped or killed

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        port: int,
        log_path: Path,
        cwd: Path | None = None,
        stop_timeout: float = 20.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env  # on top of os.environ
        self.port = port
        self.log_path = log_path
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Self:
        self.started = time.monotonic()
        with open(self.log_path, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                self.argv, env={**os.environ, **self.env}, cwd=self.cwd, stdout=log,
                stderr=subprocess.STDOUT, **child_options(),
            )
        Child.running.append(self)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def http(self, path: str, token: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, b""

    def wait_http(
        self, path: str, timeout: float, poll: float = 0.1,
        error: type[Exception] = RuntimeError,
    ) -> float:
        """Seconds from process start until `path` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise error(f"{self.name} exited early:\n{self.log_tail()}")
            if self.http(path, timeout=5)[0] == 200:
                return time.monotonic() - self.started
            time.sleep(poll)
        raise error(f"{self.name}: {path} not 200 within {timeout}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def kill(self) -> None:
        """SIGKILL to its process group at once (a crash, not a stop)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._forget()

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL to the group after `timeout` (`stop_timeout`)."""
        stop_process(self.proc, self.stop_timeout if timeout is None else timeout)
        self._forget()

    def _forget(self) -> None:
        with contextlib.suppress(ValueError):
            Child.running.remove(self)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


class WorkerProcess(Child):
    """`supportpulse worker --clock <clock>` of a deployment; `env` overrides its settings."""

    def __init__(
        self,
        deployment: Deployment,
        clock: str,
        env: dict[str, str],
        command: Sequence[str] = (sys.executable, "-m", "stream.cli"),
        cwd: Path | None = None,
        *,
        name: str | None = None,
        log_path: Path | None = None,
        stop_timeout: float = 20.0,
    ) -> None:
        port = free_port()
        name = name or f"worker-{port}"
        super().__init__(
            name, [*command, "worker", "--clock", clock], {}, port,
            log_path or deployment.workdir / f"{name}.log", cwd, stop_timeout,
        )
        self.deployment = deployment
        self.clock = clock
        self.command = list(command)
        self.env_overrides = env

    def environment(self) -> dict[str, str]:
        """Its settings as they will be at start (the deployment's, then the overrides)."""
        env = self.deployment.env(**self.env_overrides)
        env["SUPPORTPULSE_WEB_PORT"] = str(self.port)
        if "SUPPORTPULSE_DATA_DIR" not in self.env_overrides:
            # Each worker has its own data dir, as on separate machines (issue 18): a test that
            # restarts a worker on its own local state passes the same SUPPORTPULSE_DATA_DIR.
            env["SUPPORTPULSE_DATA_DIR"] = str(self.deployment.workdir / "data" / self.name)
        return env

    def start(self, wait_ready: bool = True, timeout: float = 60.0) -> Self:
        self.env = self.environment()
        super().start()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        self.wait_http("/readyz", timeout, poll=0.2, error=AssertionError)

    def metrics_text(self) -> str:
        status, body = self.http("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return body.decode()

    def samples(self) -> Samples:
        return parse_samples(self.metrics_text())


def parse_samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples
