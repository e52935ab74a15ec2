"""Rebalances: workers of one app share 8 partitions, die, join and leave; totals stay the truth.

1. Two workers share the partitions and the first third of a seeded scenario; the sum of their
   gauges equals the independent truth model (tests/scenario.py). One worker is SIGKILLed. After
   the dead member's session timeout (6 s in tests) the survivor owns all 8 partitions, recovers
   their state from the changelogs, and its gauges alone equal the truth.
2. While the rest of the scenario keeps flowing, workers join and leave five times in a row (a new
   worker starts; once both own partitions one of them is stopped with SIGTERM or SIGKILL, old
   or new by a fixed schedule). At the end the gauges of the live worker equal the truth of the
   whole scenario: no update lost, none applied twice, no stale gauge left behind.

The app is fresh and has 8 partitions: it also covers the start-up race of
test_hardening_fresh_partitions.py.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.fixtures import Deployment, Samples, WorkerProcess, total, wait_until
from tests.integration.hardening import Feeder, sum_gauges
from tests.integration.test_pipeline import expected_gauges
from tests.scenario import scenario, truth

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
FIXED = f"fixed:{NOW.isoformat().replace('+00:00', 'Z')}"
PARTITIONS = 8
COUNTED = (
    "support_tickets_open",
    "support_tickets_awaiting_first_response",
    "support_chat_queue_waiting",
    "support_chats_active",
)
OLDEST = "support_chat_queue_oldest_wait_seconds"
# (how the leaving worker goes, which one leaves) for the five join/leave cycles.
SCHEDULE = [("stop", "old"), ("stop", "new"), ("kill", "old"), ("stop", "old"), ("stop", "new")]


def owned(worker: WorkerProcess) -> float:
    try:
        return total(worker.samples(), "support_partitions_owned")
    except AssertionError:
        return -1


def cluster_gauges(workers: list[WorkerProcess]) -> dict[str, Any]:
    """Counts summed over workers; the oldest wait is a maximum over workers."""
    scrapes: list[Samples] = [w.samples() for w in workers]
    result = sum_gauges(scrapes, COUNTED)
    oldest: dict[Any, float] = {}
    for samples in scrapes:
        for (name, labels), value in samples.items():
            if name == OLDEST and value:
                oldest[labels] = max(oldest.get(labels, 0.0), value)
    result[OLDEST] = oldest
    return result


def settled(workers: list[WorkerProcess]) -> bool:
    return (all(w.http("/readyz")[0] == 200 for w in workers)
            and sum(owned(w) for w in workers) == PARTITIONS
            and all(owned(w) > 0 for w in workers))


def test_kill_one_of_two_then_five_joins_and_leaves(deployment_factory: Any) -> None:
    deployment: Deployment = deployment_factory(partitions=PARTITIONS)
    events = scenario(seed=5, tickets=1500, chats=1500, start=START, duplicates=80)
    first, rest = events[: len(events) // 3], events[len(events) // 3 :]
    log: list[str] = []
    started = time.monotonic()

    def note(what: str) -> None:
        log.append(f"{time.monotonic() - started:5.1f}s {what}")

    a = deployment.worker(clock=FIXED).start()
    b = deployment.worker(clock=FIXED).start()
    wait_until(lambda: settled([a, b]), 60, lambda: f"a={owned(a)} b={owned(b)}")
    note(f"a owns {owned(a):.0f}, b owns {owned(b):.0f}")
    deployment.produce(first)
    want = expected_gauges(truth(first, NOW))
    wait_until(lambda: cluster_gauges([a, b]) == want, 60,
               lambda: f"{cluster_gauges([a, b])}\n!= {want}")

    b.kill()
    note("b killed")
    wait_until(lambda: owned(a) == PARTITIONS and a.http("/readyz")[0] == 200, 60,
               lambda: f"survivor owns {owned(a)}:\n{a.log_tail()}")
    note("a owns all 8")
    wait_until(lambda: cluster_gauges([a]) == want, 30,
               lambda: f"after takeover {cluster_gauges([a])}\n!= {want}")
    note("a's gauges equal the truth")

    feeder = Feeder(deployment, rest, chunk=150, pause=0.8)
    feeder.start()
    live = [a]
    for how, which in SCHEDULE:
        joined = deployment.worker(clock=FIXED).start(wait_ready=False)
        live.append(joined)
        wait_until(lambda: settled(live), 60,
                   lambda j=joined: f"{[owned(w) for w in live]}\n{j.log_tail()}")
        note(f"join: {[int(owned(w)) for w in live]}")
        leaving = live[0] if which == "old" else live[-1]
        live.remove(leaving)
        (leaving.stop if how == "stop" else leaving.kill)()
        wait_until(lambda: settled(live), 60, lambda: f"{[owned(w) for w in live]}")
        note(f"{which} worker {how}: {[int(owned(w)) for w in live]}")
    sent = feeder.finish(120)
    assert len(sent) == len(rest)
    note("feeder done")

    want = expected_gauges(truth(events, NOW))
    wait_until(lambda: cluster_gauges(live) == want, 60,
               lambda: f"{cluster_gauges(live)}\n!= {want}\n" + "\n".join(log))
    note(f"final: {[int(owned(w)) for w in live]} equal the truth")
    assert sum(Counter(want[COUNTED[0]]).values()) > 100
    assert all(w.alive() for w in live)
    assert all(total(w.samples(), "support_events_rejected_total") == 0 for w in live)
    print("\n" + "\n".join(log))
