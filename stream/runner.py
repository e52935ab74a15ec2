"""Running a worker process: create topics, build the pipeline, hand it to faust's Worker."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from stream.domain.clock import Clock
from stream.kafka_io import ensure_worker_topics
from stream.settings import Settings
from stream.worker import Pipeline

log = logging.getLogger(__name__)


class BoundedWorker(faust.Worker):
    """faust's Worker with a bounded stop.

    faust's clean stop flushes the producer and commits offsets; with the broker gone it waits on
    them without end, and it ignores further signals while it waits. Exiting without that flush
    loses nothing: offsets are committed only after the state they cover is flushed, so whatever
    was not flushed is consumed and applied again on restart.
    """

    def __init__(self, *args: Any, shutdown_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shutdown_timeout = shutdown_timeout
        self._deadline: threading.Timer | None = None

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        if self._deadline is not None:
            self._exit_now(f"second {signal.name} while stopping")
        self._arm_deadline()
        super()._schedule_shutdown(signal)

    def on_worker_shutdown(self) -> None:
        self._arm_deadline()  # also when it stops for another reason (a crash)
        super().on_worker_shutdown()

    def _arm_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = threading.Timer(
                self._shutdown_timeout,
                self._exit_now,
                args=(f"no clean stop within {self._shutdown_timeout:g} s",),
            )
            self._deadline.daemon = True
            self._deadline.start()

    @staticmethod
    def _exit_now(why: str) -> None:
        log.error("exiting without a clean stop (%s); unflushed work replays on restart", why)
        logging.shutdown()
        sys.stderr.flush()
        os._exit(1)  # from a timer thread: sys.exit would only end the thread


def run_worker(settings: Settings, clock: Clock) -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT stop it, within the shutdown timeout)."""
    asyncio.run(ensure_worker_topics(settings))
    # faust binds to the current loop when the app is built; asyncio.run closed the last one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(settings, clock, CollectorRegistry())
    worker = BoundedWorker(
        pipeline.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
        shutdown_timeout=settings.shutdown_timeout_seconds,
    )
    level = settings.log_level.upper().replace("CRIT", "CRITICAL").replace("WARN", "WARNING")
    logging.getLogger("stream").setLevel(level)
    # Library debug logs print message keys and payloads (customer e-mails, names, ids):
    # they never go below INFO, whatever the worker's level (privacy).
    for name in ("aiokafka", "kafka", "faust", "mode"):
        library = logging.getLogger(name)
        library.setLevel(max(logging.INFO, logging.getLevelName(level)))
    worker.execute_from_commandline()
