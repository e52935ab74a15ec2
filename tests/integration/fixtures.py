"""Factories for integration tests: a worker process, unique topics, metric scraping."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from stream.embedded import free_port
from stream.kafka_io import consume_all, ensure_topics, publish
from stream.settings import Settings

REQUIRE_ALL = os.environ.get("SUPPORTPULSE_REQUIRE_ALL") == "1"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


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
            "SUPPORTPULSE_SESSION_TIMEOUT_SECONDS": "6",
            "SUPPORTPULSE_HEARTBEAT_INTERVAL_SECONDS": "0.5",
            "SUPPORTPULSE_COMMIT_INTERVAL_SECONDS": "0.5",
            "SUPPORTPULSE_LOG_LEVEL": "warn",
        }
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

    def create_topics(self) -> None:
        s = self.settings()
        topics = [*s.input_topics.values(), s.topic_sla, s.topic_staffing, s.topic_dlq]
        asyncio.run(ensure_topics(self.bootstrap, topics, self.partitions))

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
        return WorkerProcess(self, clock, env)


class WorkerProcess:
    def __init__(
        self,
        deployment: Deployment,
        clock: str,
        env: dict[str, str],
        command: Sequence[str] = (sys.executable, "-m", "stream.cli"),
        cwd: Path | None = None,
    ) -> None:
        self.deployment = deployment
        self.clock = clock
        self.command = list(command)
        self.cwd = cwd
        self.port = free_port()
        self.env_overrides = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = deployment.workdir / f"worker-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_ready: bool = True, timeout: float = 60.0) -> WorkerProcess:
        env = {**os.environ, **self.deployment.env(**self.env_overrides)}
        env["SUPPORTPULSE_WEB_PORT"] = str(self.port)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [*self.command, "worker", "--clock", self.clock],
            env=env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            if self.http("/readyz")[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.log_tail()}")

    def http(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, b""

    def metrics_text(self) -> str:
        status, body = self.http("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return body.decode()

    def samples(self) -> Samples:
        return parse_samples(self.metrics_text())

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def parse_samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    return sum(
        value
        for (metric, label_items), value in samples.items()
        if metric == name and all(dict(label_items).get(k) == v for k, v in labels.items())
    )


def by_labels(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (metric, labels), value in samples.items() if metric == name}


def wait_until(
    condition: Callable[[], bool], timeout: float, message: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(message() if callable(message) else message)
