"""Running a worker process: create topics, build the pipeline, hand it to faust's Worker."""

from __future__ import annotations

import asyncio
import logging

import faust
from prometheus_client import CollectorRegistry

from stream.app import Pipeline
from stream.domain.clock import Clock
from stream.kafka_io import ensure_worker_topics
from stream.settings import Settings


def run_worker(settings: Settings, clock: Clock) -> None:
    """Blocks until the worker stops (SIGTERM/SIGINT stop it cleanly)."""
    asyncio.run(ensure_worker_topics(settings))
    # faust binds to the current loop when the app is built; asyncio.run closed the last one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(settings, clock, CollectorRegistry())
    worker = faust.Worker(
        pipeline.app,
        loglevel=settings.log_level,
        quiet=True,
        redirect_stdouts=False,
    )
    level = settings.log_level.upper().replace("CRIT", "CRITICAL").replace("WARN", "WARNING")
    logging.getLogger("stream").setLevel(level)
    # Library debug logs print message keys and payloads (customer e-mails, names, ids):
    # they never go below INFO, whatever the worker's level (privacy).
    for name in ("aiokafka", "kafka", "faust", "mode"):
        library = logging.getLogger(name)
        library.setLevel(max(logging.INFO, logging.getLevelName(level)))
    worker.execute_from_commandline()
