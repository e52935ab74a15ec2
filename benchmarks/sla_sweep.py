"""SLA sweep cost per tick against the number of open tickets that are not yet due.

The sweep pops only due keys from a per-partition deadline heap, so its cost should stay flat as
open-but-not-due tickets grow. Each row: N open tickets (due in 1–24 h), 100 tickets falling due
per tick; we time `pop_due` + `evaluate` of the due keys, the whole work of one tick.

    python benchmarks/sla_sweep.py [--sizes 10000,100000,1000000] [--json]

`benchmarks/run.py` runs it as a subprocess per size (`--json`), so each size starts from a fresh
heap and 1M tickets do not stay resident for the rest of the run.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stream.domain.conversations import Tickets
from stream.domain.events import Decoded, TicketCreated
from stream.domain.partition import PartitionState
from stream.domain.sla import SlaRules
from stream.shipped import shipped_policy

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DUE_PER_TICK = 100
TICKS = 20


def build(n: int, rules: SlaRules) -> PartitionState[object]:
    part: PartitionState[object] = PartitionState(0, Tickets(rules), timedelta(days=3))  # type: ignore[arg-type]
    rng = random.Random(n)
    offset = 0
    # Tickets due during the measured ticks: created so that their 15-minute urgent first
    # response warn point falls in the next TICKS seconds.
    for i in range(DUE_PER_TICK * TICKS):
        created = NOW - timedelta(minutes=15) + timedelta(minutes=15 * 0.25) + timedelta(
            seconds=i / DUE_PER_TICK)
        _create(part, f"due-{i}", created, "urgent", offset)
        offset += 1
    for i in range(n):
        # Not due for hours: email first response 4 business hours from now-ish.
        created = NOW + timedelta(minutes=rng.randrange(0, 600))
        _create(part, f"t-{i}", created, "normal", offset)
        offset += 1
    list(part.drain())
    return part


def _create(part: PartitionState[object], key: str, at: datetime, priority: str,
            offset: int) -> None:
    event = TicketCreated(event_id=key, occurred_at=at.isoformat(), ticket_id=key,
                          channel="email" if priority == "normal" else "phone",
                          priority=priority, queue="orders", request_type="order_status")
    part.apply(key, offset, Decoded(event, at))


def measure(n: int, rules: SlaRules) -> tuple[float, float, int]:
    part = build(n, rules)
    gc.collect()
    timings = []
    evaluated = 0
    for tick in range(TICKS):
        now = NOW + timedelta(seconds=tick + 1)
        started = time.perf_counter()
        keys = part.pop_due(now)
        for key in keys:
            part.evaluate(key, now)
        timings.append(time.perf_counter() - started)
        evaluated += len(keys)
    return statistics.median(timings) * 1000, max(timings) * 1000, evaluated // TICKS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args()
    rules = SlaRules(shipped_policy())
    if args.json:
        for n in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            median, worst, due = measure(n, rules)
            print(json.dumps({
                "open_tickets": n, "due_per_tick": due, "median_ms": round(median, 3),
                "max_ms": round(worst, 3), "build_s": round(time.perf_counter() - started, 1),
            }), flush=True)
        return
    print(f"{'open tickets':>14} {'due/tick':>9} {'median ms/tick':>15} {'max ms/tick':>12}")
    for n in (int(s) for s in args.sizes.split(",")):
        median, worst, due = measure(n, rules)
        print(f"{n:>14,} {due:>9} {median:>15.2f} {worst:>12.2f}")


if __name__ == "__main__":
    main()
