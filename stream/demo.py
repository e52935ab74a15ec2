"""`supportpulse demo`: embedded broker + Redis + a worker + a simulated holiday peak, live board.

The worker runs as a child process exactly as in production (`supportpulse worker --clock event`:
the simulation runs faster than real time, so "now" is the event-time watermark). The board reads
the worker's /metrics like `supportpulse top` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from stream.board import Board, fetch_samples
from stream.embedded import Broker, Redis, embedded_stack, free_port
from stream.settings import Settings
from stream.stopping import child_options, stop_on_signals, stop_process, stopping

PEAK_MULTIPLIERS = {"black-friday": 3.0, "christmas": 2.5}


def demo_start(timezone: str) -> datetime:
    """Today 11:00 local: the lunchtime peak (12–14 h) arrives within the first minutes."""
    tz = ZoneInfo(timezone)
    today = datetime.now(tz).date()
    return datetime(today.year, today.month, today.day, 11, 0, tzinfo=tz)


def worker_env(
    bootstrap: str, redis_url: str, workdir: Path, web_port: int, speed: float, profile: str
) -> dict[str, str]:
    """The demo worker's environment: the embedded stack's addresses and the settings that fit
    the simulator at `speed`; what the caller's environment sets for the tunables wins."""
    env = {
        **os.environ,
        "SUPPORTPULSE_KAFKA_BOOTSTRAP": bootstrap,
        "SUPPORTPULSE_REDIS_URL": redis_url,
        "SUPPORTPULSE_APP_ID": "supportpulse-demo",
        "SUPPORTPULSE_DATA_DIR": str(workdir / "data"),
        "SUPPORTPULSE_WEB_PORT": str(web_port),
        "SUPPORTPULSE_PARTITIONS": "4",
        "SUPPORTPULSE_LOG_LEVEL": "warn",
    }
    # The simulator's agents spend about 1.4 touches × 300 s on a ticket.
    env.setdefault("SUPPORTPULSE_TICKET_AHT_SECONDS", "420")
    # Time runs `speed` times faster: roll up once a simulated minute (at least every 0.5 s
    # wall), or a 2-minute chat target would be over before its waiting chats are seen.
    env.setdefault("SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS", f"{max(0.5, 60.0 / speed):g}")
    # The shipped baseline is a normal week; the peak profiles multiply it (DOMAIN.md).
    env.setdefault("SUPPORTPULSE_FORECAST_FILE", "shipped")
    env.setdefault("SUPPORTPULSE_FORECAST_MULTIPLIER", str(PEAK_MULTIPLIERS.get(profile, 1.0)))
    return env


def run_demo(
    *,
    speed: float,
    profile: str,
    seed: int,
    duration_seconds: float,
    board: bool,
    exit_after: float | None = None,
) -> None:
    """Runs until `exit_after` seconds, the worker's exit or Ctrl-C / SIGTERM / SIGHUP, then
    stops the worker, the simulator, Redis and the broker, in that order (stream.stopping)."""
    workdir = Path(tempfile.mkdtemp(prefix="supportpulse-demo-"))
    try:
        # Signals are handled from the first process started to the last one stopped.
        with stop_on_signals(), embedded_stack(workdir) as (broker, redis):
            _run(broker, redis, workdir, speed, profile, seed, duration_seconds, board, exit_after)
    except KeyboardInterrupt:
        pass
    _say("demo stopped")


def _run(
    broker: Broker,
    redis: Redis,
    workdir: Path,
    speed: float,
    profile: str,
    seed: int,
    duration_seconds: float,
    board: bool,
    exit_after: float | None,
) -> None:
    from stream.kafka_io import _aiter, all_topics, ensure_topics, publish
    from stream.simulator import generate

    web_port = int(os.environ.get("SUPPORTPULSE_WEB_PORT", "0")) or _preferred_port(6066)
    env = worker_env(broker.bootstrap, redis.url, workdir, web_port, speed, profile)
    settings = Settings(
        kafka_bootstrap=[broker.bootstrap], redis_url=SecretStr(redis.url), partitions=4
    )
    url = f"http://127.0.0.1:{web_port}/metrics"
    stop = threading.Event()
    worker: subprocess.Popen[bytes] | None = None
    feeder: threading.Thread | None = None
    show: Board | None = None
    try:
        asyncio.run(ensure_topics(broker.bootstrap, all_topics(settings), settings.partitions))
        log = open(workdir / "worker.log", "ab")  # noqa: SIM115 - handed to the child
        worker = subprocess.Popen(
            [sys.executable, "-m", "stream.cli", "worker", "--clock", "event"],
            env=env, stdout=log, stderr=subprocess.STDOUT, **child_options(),
        )
        _say(f"Support Pulse demo: {profile} at {speed:g}x — metrics at {url}")
        _say(f"(logs in {workdir}; Ctrl-C stops everything)")
        events = generate(profile, seed, demo_start(settings.timezone), duration_seconds,
                          queues=tuple(settings.queues), timezone=settings.timezone)

        async def until_stopped() -> AsyncIterator[dict[str, Any]]:
            async for event in _aiter(events):
                if stop.is_set():
                    return
                yield event

        def feed() -> None:
            with contextlib.suppress(Exception):
                asyncio.run(publish(settings, until_stopped(), speed=speed))

        feeder = threading.Thread(target=feed, name="simulator", daemon=True)
        feeder.start()
        deadline = time.monotonic() + exit_after if exit_after else None
        show = Board(url, settings.queues, live=board)
        while deadline is None or time.monotonic() < deadline:
            if worker.poll() is not None:
                _say(f"worker exited with {worker.returncode}; see {workdir}/worker.log")
                break
            samples = fetch_samples(url)
            if board:
                show.render(samples)
            else:
                _say(show.summary_line(samples))
            time.sleep(1.0)
    finally:
        stopping.begin()  # from here a further signal only hurries the clean-up
        stop.set()
        if show is not None:
            with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
                show.close()
        stop_process(worker, timeout=15)
        if feeder is not None:
            feeder.join(5)


def _say(line: str) -> None:
    """Print, unless the terminal is gone: a closed terminal must not stop the clean-up."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


def _preferred_port(port: int) -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port

