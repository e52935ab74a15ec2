"""Stopping: the demo in a terminal leaves nothing behind, a worker without a broker still exits.

The demo runs under a pseudo-terminal, as `make demo` does in a terminal. Ctrl-C is the
terminal's interrupt character written to the terminal (the kernel sends SIGINT to the
foreground process group), a closed terminal is the terminal's master side closed (the kernel
sends SIGHUP and later writes fail), SIGTERM is `kill`. Whatever the demo started (broker,
Redis, worker) must be gone 20 s later.
"""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stream.embedded import Broker, Redis, free_port
from tests.integration.fixtures import Deployment, wait_until

pytestmark = pytest.mark.integration

CTRL_C = b"\x03"


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan that died waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class TerminalDemo:
    """`supportpulse demo` as the session leader of a fresh pseudo-terminal."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "SUPPORTPULSE_WEB_PORT": str(self.port), "TMPDIR": str(tmp_path)}
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the demo
            os.execvpe(sys.executable, [sys.executable, "-m", "stream.cli", "demo",
                                        "--no-board", "--speed", "120"], env)
        self.pid, self.master = pid, fd
        self.output = bytearray()
        self.started: set[int] = set()
        self.reaped = False

    def drain(self) -> None:
        """Read what the demo printed (a full pty would block its writes)."""
        import select

        while self.master >= 0 and select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def wait_running(self, timeout: float = 90.0) -> None:
        def up() -> bool:
            self.drain()
            return ready(self.port)

        wait_until(up, timeout, lambda: self.output.decode(errors="replace"))
        self.started = children(self.pid)
        assert len(self.started) >= 3, f"broker, Redis and worker expected: {self.started}"

    def close_terminal(self) -> None:
        os.close(self.master)
        self.master = -1

    def exited(self) -> bool:
        if not self.reaped:
            try:
                self.reaped = os.waitpid(self.pid, os.WNOHANG)[0] == self.pid
            except ChildProcessError:
                self.reaped = True
        return self.reaped

    def kill(self) -> None:
        for pid in {self.pid, *self.started}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not self.reaped:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        if self.master >= 0:
            os.close(self.master)


@pytest.fixture
def terminal_demo(tmp_path: Path) -> Iterator[Callable[[], TerminalDemo]]:
    made: list[TerminalDemo] = []

    def make() -> TerminalDemo:
        demo = TerminalDemo(tmp_path)
        made.append(demo)
        demo.wait_running()
        return demo

    yield make
    for demo in made:
        demo.kill()


def ctrl_c(demo: TerminalDemo) -> None:
    os.write(demo.master, CTRL_C)


def ctrl_c_twice(demo: TerminalDemo) -> None:
    os.write(demo.master, CTRL_C)
    time.sleep(0.5)  # the second one arrives while the first is still stopping things
    os.write(demo.master, CTRL_C)


def terminate(demo: TerminalDemo) -> None:
    os.kill(demo.pid, signal.SIGTERM)


def close_terminal(demo: TerminalDemo) -> None:
    demo.close_terminal()


@pytest.mark.parametrize("stop", [ctrl_c, ctrl_c_twice, terminate, close_terminal])
def test_the_demo_leaves_no_process_behind(
    terminal_demo: Callable[[], TerminalDemo], stop: Callable[[TerminalDemo], None]
) -> None:
    demo = terminal_demo()
    stop(demo)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        not demo.exited() or any(running(pid) for pid in demo.started)
    ):
        demo.drain()
        time.sleep(0.2)
    left = sorted(pid for pid in demo.started if running(pid))
    assert not left, f"still running 20 s after {stop.__name__}: {left}"
    assert not running(demo.pid)


def test_a_worker_whose_broker_was_killed_exits_soon_after_sigterm(
    redis_server: Redis, tmp_path: Path
) -> None:
    broker = Broker(log_path=tmp_path / "tansu.log").start()
    try:
        deployment = Deployment(broker.bootstrap, redis_server.url, tmp_path, 2)
        deployment.create_topics()
        worker = deployment.worker().start()
    finally:
        broker.stop()
    try:
        time.sleep(1.0)  # the worker notices its broker is gone
        assert worker.proc is not None
        signalled = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not worker.alive(), 15, worker.log_tail)
        took = time.monotonic() - signalled
        print(f"worker without a broker exited {took:.1f} s after SIGTERM")
        assert took <= 10, f"exited {took:.1f} s after SIGTERM\n{worker.log_tail()}"
    finally:
        worker.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_benchmark_leaves_no_process_behind(sig: signal.Signals, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    bench = subprocess.Popen(
        [sys.executable, "benchmarks/run.py", "--quick", "--no-profile", "--only", "latency",
         "--out", str(tmp_path / "results.json")],
        cwd=root, env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    started: set[int] = set()
    try:
        def worker_up() -> bool:
            started.update(children(bench.pid))
            return any(b"worker" in cmdline(pid) for pid in started)

        wait_until(worker_up, 90, "the benchmark did not start a worker")
        time.sleep(3)  # the worker joins its group and consumes
        started.update(children(bench.pid))
        assert len(started) >= 3, f"broker, Redis and a worker expected: {started}"
        bench.send_signal(sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            bench.poll() is None or any(running(pid) for pid in started)
        ):
            time.sleep(0.2)
        left = sorted(pid for pid in started if running(pid))
        assert not left, f"still running 20 s after {sig.name}: {left}"
        assert bench.poll() is not None
    finally:
        for pid in {bench.pid, *started}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        bench.wait(10)
