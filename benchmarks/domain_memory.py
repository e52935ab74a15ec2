"""Memory per open ticket in the pure domain: one `PartitionState` holding N open `TicketState`s.

The tickets are `ticket.created` events with the simulator's id and field shapes (ids like
`T-fb63a280-123456`, a customer id, a request type, mixed channels/priorities/queues) applied
through `PartitionState.apply` with the shipped SLA policy, so each value carries its `SlaTrack`
and sits in the deadline heap, exactly as in the worker. Measured:

* RSS delta (from /proc/self/statm) between "rules loaded" and "N tickets applied, drained, gc'd",
  divided by N — what the worker's process pays per open ticket for the table itself;
* with `--tracemalloc`: Python allocations still live after the build (a second, slower run),
  with the top allocation sites, to say where the bytes go;
* the changelog record: msgpack value size (the encoder `stream.tables` uses) + key size.

    python benchmarks/domain_memory.py --tickets 1000000 [--tracemalloc] [--json]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from stream.domain.conversations import Tickets
from stream.domain.events import CHANNELS, PRIORITIES, Decoded, TicketCreated
from stream.domain.partition import PartitionState
from stream.domain.sla import SlaRules
from stream.shipped import shipped_policy

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 11, 28, 9, 0, tzinfo=UTC)
QUEUES = ("orders", "returns", "payments", "general")
REQUEST_TYPES = ("order_status", "shipping", "returns", "payment", "product_question", "account")


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def ticket_id(i: int) -> str:
    return f"T-fb63a280-{i}"  # kept: the table's dict key


def customer_id(i: int) -> str:
    return f"cust-{i % 100000:06d}"  # kept: TicketState.customer_id (decoded per event)


def ticket_event(i: int) -> TicketCreated:
    return TicketCreated(
        event_id=f"sim-fb63a280-{i * 7}", occurred_at="", ticket_id=ticket_id(i),
        channel=CHANNELS[i % 5],  # type: ignore[arg-type]
        priority=PRIORITIES[(i // 5) % 4],  # type: ignore[arg-type]
        queue=QUEUES[i % 4], request_type=REQUEST_TYPES[i % 6], customer_id=customer_id(i),
    )


def site_name(frame: tracemalloc.Frame) -> str:
    """file:line, with this script's two kept strings named."""
    if frame.filename == __file__:
        for func, label in ((ticket_id, "ticket id string"), (customer_id, "customer_id string")):
            if frame.lineno == inspect.getsourcelines(func)[1] + 1:
                return label
    return f"{frame.filename.replace(str(ROOT) + '/', '')}:{frame.lineno}"


def build(n: int, rules: SlaRules) -> PartitionState[Any]:
    part: PartitionState[Any] = PartitionState(0, Tickets(rules), timedelta(days=3))
    for i in range(n):
        # Ten minutes of event time for the whole set: open tickets, none due yet.
        at = START + timedelta(microseconds=i * 600)
        event = ticket_event(i)
        part.apply(event.ticket_id, i, Decoded(event, at))
        if i % 10000 == 9999:
            list(part.drain())  # the worker drains every batch
    list(part.drain())
    return part


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.tickets
    rules = SlaRules(shipped_policy())
    gc.collect()
    result: dict[str, Any] = {"open_tickets": n}
    if args.tracemalloc:
        tracemalloc.start(1)
        base = tracemalloc.take_snapshot()
        part = build(n, rules)
        gc.collect()
        snap = tracemalloc.take_snapshot()
        tracemalloc.stop()
        stats = snap.compare_to(base, "lineno")
        live = sum(s.size_diff for s in stats)
        result["tracemalloc_bytes_per_ticket"] = round(live / n, 1)
        result["top_sites"] = [
            {"site": site_name(s.traceback[0]),
             "bytes_per_ticket": round(s.size_diff / n, 1)}
            for s in stats[:8]
        ]
    else:
        before = rss_bytes()
        started = time.perf_counter()
        part = build(n, rules)
        gc.collect()
        result["build_s"] = round(time.perf_counter() - started, 1)
        result["rss_delta_bytes"] = rss_bytes() - before
        result["rss_bytes_per_ticket"] = round(result["rss_delta_bytes"] / n, 1)
    encoder = msgspec.msgpack.Encoder()
    sample = list(part.values.items())[:: max(1, n // 10000)]
    values = [len(encoder.encode(v)) for _, v in sample]
    keys = [len(k.encode()) for k, _ in sample]
    result["changelog_value_bytes_mean"] = round(statistics.mean(values), 1)
    result["changelog_key_bytes_mean"] = round(statistics.mean(keys), 1)
    result["open_in_state"] = len(part.values)
    result["due_heap_entries"] = len(part._due)
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            print(f"{name:>30}: {value}")


if __name__ == "__main__":
    main()
