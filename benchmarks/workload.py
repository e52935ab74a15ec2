"""The input of the throughput rows (a)–(d) and the scrape row (also `process_only.py`'s).

Input: the first N events (default 200k) of the simulator's `black-friday` profile, seed 7,
starting 2025-11-28T00:00Z (a prefix of a 30-day run: all four topics, every event type), 8
partitions, produced once; every consumer reads the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from stream.simulator import generate

SEED = 7
SIM_START = datetime(2025, 11, 28, tzinfo=UTC)  # Black Friday 2025
SIM_DAYS = 30
PARTITIONS = 8


def black_friday(n: int) -> Iterator[dict[str, Any]]:
    return islice(generate("black-friday", SEED, SIM_START, SIM_DAYS * 86400), n)


def input_record(sent: int, seconds: float) -> dict[str, Any]:
    """What results["input"] says of the `sent` events produced in `seconds`."""
    return {
        "events": sent, "profile": "black-friday", "seed": SEED,
        "start": SIM_START.isoformat(), "partitions": PARTITIONS,
        "produce_events_per_s": round(sent / seconds, 1),
    }
