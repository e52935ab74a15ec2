"""Does the duplicate window (the last N event ids per conversation) cover helpdesk retries?

A redelivered webhook carries the event ids of its first delivery (CONTRACT §7); the worker
drops it only while the id is still among the conversation's last `recent.WINDOW` ids. If more
than WINDOW − 1 other events reach the same conversation before the retry arrives, the retry
counts twice. For each retry horizon of HELPDESKS.md this prints, over a simulated day of
traffic, how many later events one conversation gets within that horizon after an event
(percentiles and max): the window must exceed the max.

    python benchmarks/duplicate_window.py [--profile black-friday] [--seed 7] [--hours 24]

Horizons: Chatwoot agent-bot retries (3 attempts, 3 s apart: 9 s); Zammad (waits 10/20/30/40 s:
100 s); Zendesk (up to 3 retries, schedule undocumented: 5 min taken); the gateway's own 503 while
a broker fails over, with a helpdesk retrying for 15 min.
"""

from __future__ import annotations

import argparse
import bisect
from collections import defaultdict
from datetime import UTC, datetime

from stream.domain.events import key_for_dict, parse_timestamp
from stream.domain.recent import WINDOW
from stream.simulator import generate

HORIZONS = {"chatwoot bot 9 s": 9.0, "zammad 100 s": 100.0, "zendesk 5 min": 300.0,
            "broker failover 15 min": 900.0}
START = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # Black Friday 2026


def percentile(values: list[int], q: float) -> int:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="black-friday")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    count = 0
    for event in generate(args.profile, args.seed, START, args.hours * 3600):
        key = key_for_dict(event)
        at = parse_timestamp(str(event["occurred_at"]))
        if key is None or at is None:
            continue
        # Each stream's table keeps its own window: a ticket and a chat never share one.
        times[(str(event["type"]).split(".")[0], key)].append(at.timestamp())
        count += 1
    print(f"{count} events, {len(times)} keys, {args.profile} seed {args.seed}, "
          f"{args.hours:g} h; window = {WINDOW} ids\n")
    print(f"{'retry horizon':<24} {'p50':>5} {'p99':>5} {'p99.9':>6} {'max':>5} "
          f"{'events past window':>19}")
    for name, horizon in HORIZONS.items():
        later: list[int] = []
        for (kind, _), stamps in times.items():
            if kind == "agent":  # presence is not deduplicated by id (it is a last-write state)
                continue
            stamps.sort()
            for i, t in enumerate(stamps):
                later.append(bisect.bisect_right(stamps, t + horizon) - i - 1)
        later.sort()
        past = sum(1 for n in later if n >= WINDOW)
        print(f"{name:<24} {percentile(later, 0.5):>5} {percentile(later, 0.99):>5} "
              f"{percentile(later, 0.999):>6} {later[-1]:>5} {past:>12} "
              f"({past / len(later):.4%})")


if __name__ == "__main__":
    main()
