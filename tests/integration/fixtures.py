"""Factories for integration tests: a worker process, unique topics, metric scraping.

`Deployment` and `WorkerProcess` live in `tests/deployment.py`, shared with the benchmarks;
this module keeps what only the tests' assertions use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from tests.deployment import (
    Deployment,
    Samples,
    WorkerProcess,
    parse_samples,
    unique,
)

__all__ = [
    "REQUIRE_ALL", "Deployment", "Samples", "WorkerProcess", "by_labels", "parse_samples",
    "total", "unique", "wait_until",
]

REQUIRE_ALL = os.environ.get("SUPPORTPULSE_REQUIRE_ALL") == "1"


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
