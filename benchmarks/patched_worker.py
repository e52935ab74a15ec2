"""An experiment, not the product: the worker with aiokafka's `fetch_max_wait_ms` overridden.

faust-streaming 0.15 hard-codes `fetch_max_wait_ms=1500` for its group consumer
(faust/transport/drivers/aiokafka.py, `_create_worker_consumer`) and has no setting for it. The
tansu broker does not answer a waiting fetch as soon as new records arrive, so on tansu that
wait shows up as latency. `benchmarks/run.py` runs the latency probe once against the stock
worker and once through this wrapper (`BENCH_FETCH_MAX_WAIT_MS`, default 100) to measure what a
setting for it would buy.

    BENCH_FETCH_MAX_WAIT_MS=100 python benchmarks/patched_worker.py worker --clock event
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import aiokafka

WAIT_MS = int(os.environ.get("BENCH_FETCH_MAX_WAIT_MS", "100"))
_original = aiokafka.AIOKafkaConsumer.__init__


@functools.wraps(_original)
def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    if "fetch_max_wait_ms" in kwargs:  # only faust's group consumer passes it
        kwargs["fetch_max_wait_ms"] = WAIT_MS
    _original(self, *args, **kwargs)


aiokafka.AIOKafkaConsumer.__init__ = _init  # type: ignore[method-assign]

if __name__ == "__main__":
    from stream.cli import main

    sys.argv = ["supportpulse", *sys.argv[1:]]
    main()
