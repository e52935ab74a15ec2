"""Memory per customer and cost per order event in the commerce table (issue 15), pure domain.

One `PartitionState` of the `Commerce` kind, fed `order.placed` events through
`PartitionState.apply` exactly as the worker feeds it (drained every 10,000 events, as a batch's
flush does), with simulator-shaped ids (`cust-0001234`, `sim-1a2b3c4d-N`) and amounts:

* memory per customer: RSS delta (/proc/self/statm) between "nothing built" and "N customers
  with one order each, drained, gc'd", divided by N — the value, its dict entry, the retention
  heap entry and the due-heap entry, all of it;
* growth per extra order in the window: the same with M customers and k orders each, the slope
  (RSS(k) − RSS(1)) / ((k − 1) · M);
* cost per order event: wall time of `PartitionState.apply` (the whole core: duplicate check,
  the customer's new value, the gauge swap, retention and due heaps) per event, for a first
  order and for an order of a customer who already has k orders in the window; and the cost of
  one sweep evaluation (a customer whose order left the 30-day window);
* the changelog record: msgpack value + key bytes.

    PYTHONPATH=. python benchmarks/customer_memory.py [--customers 1000000] [--json] [--tracemalloc]

Each measurement runs in a fresh interpreter (a heap freed by one build would be reused by the
next and hide its growth). It measures whatever `stream` is first on sys.path — hence
`PYTHONPATH=.`; `PYTHONPATH=<an older checkout>` measures the code before (without the `guest`
field, which it then leaves out, and without the engagement rows).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from stream.domain.commerce import Commerce
from stream.domain.events import Decoded, OrderPlaced
from stream.domain.partition import PartitionState

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CURRENCIES = ("EUR", "USD", "GBP", "CZK", "PLN")
HAS_GUEST = "guest" in OrderPlaced.__struct_fields__


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def label(code: str | None) -> str:
    return code if code in CURRENCIES else "other"


def order(n: int, customer: int, at: datetime) -> Decoded:
    fields: dict[str, Any] = {
        "event_id": f"sim-1a2b3c4d-{n}", "occurred_at": "", "order_id": f"O-1a2b3c4d-{n}",
        "customer_id": f"cust-{customer:07d}", "amount": f"{20 + (n * 37) % 9000 / 100:.2f}",
        "currency": CURRENCIES[customer % 3],  # a customer pays in one currency
    }
    if HAS_GUEST:
        fields["guest"] = n % 4 == 0
    return Decoded(OrderPlaced(**fields), at)


def empty_partition() -> PartitionState[Any]:
    commerce = Commerce(timedelta(days=5), label)
    retention = getattr(commerce, "retention", commerce.window)
    return PartitionState(0, commerce, retention)


def build(
    customers: int, orders_each: int, spacing: timedelta
) -> tuple[PartitionState[Any], float]:
    """`orders_each` rounds over `customers` (round r at START + r · spacing, customers spread
    over ten minutes); returns the partition and the seconds spent in apply."""
    part = empty_partition()
    n = 0
    spent = 0.0
    for r in range(orders_each):
        base = START + r * spacing
        for c in range(customers):
            event = order(n, c, base + timedelta(microseconds=c * 600_000_000 // customers))
            key = f"cust-{c:07d}"
            began = time.perf_counter()
            part.apply(key, n, event)
            spent += time.perf_counter() - began
            n += 1
            if n % 10_000 == 0:
                part.drain()
    part.drain()
    return part, spent


def measured(customers: int, orders_each: int) -> dict[str, float]:
    gc.collect()
    before = rss_bytes()
    part, spent = build(customers, orders_each, timedelta(days=2))
    gc.collect()
    rss = rss_bytes() - before
    encoder = msgspec.msgpack.Encoder()
    sample = list(part.values.items())[:: max(1, customers // 10_000)]
    values = [len(encoder.encode(v)) for _, v in sample]
    result = {
        "customers": customers, "orders_each": orders_each, "rss_bytes": rss,
        "bytes_per_customer": round(rss / customers, 1),
        "apply_us_per_order": round(spent / (customers * orders_each) * 1e6, 2),
        "changelog_value_bytes": round(statistics.mean(values), 1),
        "changelog_key_bytes": round(statistics.mean(len(k.encode()) for k, _ in sample), 1),
    }
    del part, sample
    gc.collect()
    return result


def sweep_cost(customers: int) -> float:
    """µs per evaluation of a customer whose second order's predecessor left the 30-day window."""
    part, _ = build(customers, 2, timedelta(days=10))
    now = START + timedelta(days=30, minutes=11)
    began = time.perf_counter()
    keys = part.pop_due(now, limit=customers * 2)
    for key in keys:
        part.evaluate(key, now)
    spent = time.perf_counter() - began
    assert len(keys) == customers, len(keys)
    return round(spent / len(keys) * 1e6, 2)


def top_sites(customers: int) -> list[dict[str, Any]]:
    tracemalloc.start(1)
    base = tracemalloc.take_snapshot()
    part, _ = build(customers, 1, timedelta(days=2))
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(base, "lineno")
    tracemalloc.stop()
    del part
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/"
    return [{"site": str(s.traceback[0]).replace(root, ""),
             "bytes_per_customer": round(s.size_diff / customers, 1)} for s in stats[:8]]


def fresh(*argv: str) -> Any:
    """One measurement in a new interpreter (same sys.path), its JSON line decoded."""
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--growth-customers", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--one", nargs=2, type=int, metavar=("CUSTOMERS", "ORDERS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--sweep", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measured(*args.one)))
        return
    if args.sweep:
        print(json.dumps(sweep_cost(args.sweep)))
        return
    one = fresh("--one", str(args.customers), "1")
    m = args.growth_customers
    rounds = {k: fresh("--one", str(m), str(k)) for k in (1, 2, 5, 10)}
    growth = {k: round((r["rss_bytes"] - rounds[1]["rss_bytes"]) / ((k - 1) * m), 1)
              for k, r in rounds.items() if k > 1}
    result: dict[str, Any] = {
        "guest_field": HAS_GUEST,
        "one_order": one,
        "growth_bytes_per_extra_order": growth,
        "apply_us_per_order_by_orders_in_window": {k: r["apply_us_per_order"]
                                                   for k, r in rounds.items()},
        "changelog_value_bytes_by_orders": {k: r["changelog_value_bytes"]
                                            for k, r in rounds.items()},
        "sweep_evaluation_us": fresh("--sweep", str(m)) if hasattr(
            empty_partition().kind, "retention") else None,
    }
    if args.tracemalloc:
        result["top_sites_100k"] = top_sites(100_000)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'measurement':<52} value")
    print(f"{'memory per customer, ' + format(args.customers, ',') + ' × 1 order (RSS)':<52} "
          f"{one['bytes_per_customer']:,.0f} B")
    for k, b in growth.items():
        print(f"{f'growth per extra order ({m:,} customers × {k})':<52} {b:,.0f} B")
    print(f"{'apply per order event, first order':<52} {one['apply_us_per_order']:.1f} µs")
    for k, r in rounds.items():
        print(f"{f'apply per order event, {k} orders each (mean)':<52} "
              f"{r['apply_us_per_order']:.1f} µs")
    if result["sweep_evaluation_us"] is not None:
        print(f"{'sweep evaluation (an order leaves 30d)':<52} "
              f"{result['sweep_evaluation_us']:.1f} µs")
    print(f"{'changelog record, 1 order (value + key)':<52} "
          f"{one['changelog_value_bytes']:.0f} + {one['changelog_key_bytes']:.0f} B")
    for k, r in rounds.items():
        print(f"{f'changelog value, {k} orders':<52} {r['changelog_value_bytes']:.0f} B")
    for site in result.get("top_sites_100k", []):
        print(f"  {site['site']:<60} {site['bytes_per_customer']:>7.1f} B")


if __name__ == "__main__":
    main()
