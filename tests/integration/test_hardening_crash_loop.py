"""Crash loop: five SIGKILLs while a worker replays a Black Friday log; the result equals one pass.

The log (the simulator's `black-friday` profile, 20 simulated hours ≈ 50.7k events on all four
input topics) is produced first, then the worker replays it with `--clock fixed:END` (END = end of
the simulated window), so both passes are deterministic: the SLA sweep only runs once a partition
has caught up with the end of its source as it was at assignment, i.e. on complete state.

Five times, at seeded random points, the worker is SIGKILLed and restarted: four kills after the
incarnation applied a random number of new events (so they land mid-stream, between any two
awaits of a batch), one during start-up/recovery. After the last restart the crash-looped app is
compared with a clean reference pass (a fresh app id over the same input topics, with its own
SLA and DLQ output topics):

- every live gauge (backlog, first-response, chat queue and oldest wait, active chats, SLA at risk
  and breached-open, agents, capacity) is equal;
- every table is equal record for record: the last changelog record per key of the tickets,
  chats and agents tables, including the event-time window buckets (the windowed counts) and the
  per-partition meta record (applied offset, watermark);
- the `support.sla` events are equal as a set, and neither pass has a duplicate
  (dedupe key: conversation id, target, type). Before commit 7ae6c00 most runs lost some
  (notices were published after the changelog write; fixed, notices now go out first), and
  until 295e924 about one run in six still differed (33 lost in one, 118 missing from the
  reference in another): the producer does not deliver in send order across partitions, and a
  failed delivery was dropped. The changelog records now wait until the notices are delivered,
  and a failed delivery is sent again;
- the reference pass's counters equal counts taken from the log itself.

Prometheus counters of the crash-looped worker are not compared: a restarted process starts
them at zero (at-least-once across a crash, see README *Guarantees*).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream.simulator import generate
from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.hardening import (
    changelog_topic,
    live_gauges,
    read_changelog,
    sla_events,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # Black Friday, midnight UTC
# 20.5 simulated hours of the black-friday profile: 50,959 events with seed 11 (measured). The
# issue asks for 50k; on this 2-core machine the whole test (produce, five restarts with 6 s
# session timeouts, the final replay and a reference pass) takes about 90 s.
HOURS = 20.5
SEED = 11
END = START + timedelta(hours=HOURS)
FIXED = f"fixed:{END.isoformat().replace('+00:00', 'Z')}"
KILL_SEED = 20261127
TABLES = ("tickets", "chats", "agents")


def events() -> list[dict[str, Any]]:
    return list(generate("black-friday", SEED, START, HOURS * 3600.0))


def applied(worker: Any) -> float:
    try:
        return total(worker.samples(), "support_events_total")
    except AssertionError:
        return 0.0


def test_five_sigkills_during_black_friday_replay_equal_one_clean_pass(
    deployment: Deployment,
) -> None:
    log = events()
    assert len(log) >= 50_000
    distinct = {e["event_id"]: e for e in log}.values()
    kinds = Counter(e["type"] for e in distinct)
    started = time.monotonic()
    deployment.produce(log)
    produced_in = time.monotonic() - started

    # One clean pass over the same input, with its own output topics (SLA, DLQ) and app id. It
    # runs alongside the crash loop, which spends most of its time waiting for session timeouts.
    reference_deployment = Deployment(
        deployment.bootstrap, deployment.redis_url, deployment.workdir, deployment.partitions,
        prefix=deployment.prefix,
        extra_env={"SUPPORTPULSE_TOPIC_SLA": f"{deployment.prefix}.sla-reference",
                   "SUPPORTPULSE_TOPIC_DLQ": f"{deployment.prefix}.dlq-reference"},
    )
    reference = reference_deployment.worker(clock=FIXED)
    worker = deployment.worker(clock=FIXED)
    try:
        reference.start(wait_ready=False)
        kills = crash_loop(deployment, worker, started)
        worker = kills.pop()  # the last incarnation
        worker.wait_ready(90)

        def reference_done() -> bool:
            s = reference.samples()
            return (total(s, "support_events_total") == len(log)
                    and total(s, "support_tickets_created_total") == kinds["ticket.created"])

        reference.wait_ready(90)
        wait_until(reference_done, 120, lambda: f"reference pass incomplete:\n"
                   f"{total(reference.samples(), 'support_events_total')} of {len(log)}")
        ref = reference.samples()
        # The reference's counters against counts taken from the log itself.
        assert total(ref, "support_chats_requested_total") == kinds["chat.requested"]
        assert total(ref, "support_events_rejected_total") == 0

        # Every live gauge.
        def same_gauges() -> bool:
            return live_gauges(worker.samples()) == live_gauges(reference.samples())

        wait_until(same_gauges, 90, lambda: (
            f"kills: {kills}\ncrash-looped: {live_gauges(worker.samples())}\n"
            f"reference: {live_gauges(reference.samples())}"))
        gauges = live_gauges(reference.samples())
        assert gauges["support_tickets_open"] and gauges["support_chats_active"]
        assert gauges["support_sla_breached_open"]  # the comparison covers SLA state too
        assert gauges["support_agents"]
        assert total(worker.samples(), "support_partitions_owned") == deployment.partitions

        # Every table, record for record (values carry source offsets, so equal means equal
        # bytes), including the event-time window buckets and the meta records.
        windows = 0
        for stream in TABLES:
            mine = read_changelog(deployment.bootstrap, changelog_topic(deployment, stream),
                                  deployment.partitions).live()
            theirs = read_changelog(deployment.bootstrap,
                                    changelog_topic(reference_deployment, stream),
                                    deployment.partitions).live()
            assert len(mine) == len(theirs), (stream, len(mine), len(theirs))
            differing = [k for k in theirs if mine.get(k) != theirs[k]]
            assert differing == [], f"{stream}: {len(differing)} keys differ, e.g. {differing[:5]}"
            windows += sum(1 for _, key in theirs if key.startswith((b"\x00w:", b"\x00h:")))
        assert windows > 0

        # support.sla: the sweep runs every second; wait until both sides have settled.
        latest: list[Any] = [None]

        def sla_settled() -> bool:
            now = (sla_events(deployment), sla_events(reference_deployment))
            stable = now == latest[0]
            latest[0] = now
            return stable and now[0] == now[1]

        wait_until(sla_settled, 60, lambda: _sla_diff(*latest[0]))
        crashed_sla, reference_sla = latest[0]
        assert len(reference_sla) > 1000
        assert {k: n for k, n in reference_sla.items() if n > 1} == {}
        assert {k: n for k, n in crashed_sla.items() if n > 1} == {}, "duplicate SLA events"
        assert worker.alive()
        print(f"\nproduced {len(log)} events in {produced_in:.1f}s; kills: {kills}; "
              f"{windows} window buckets and {len(reference_sla)} SLA events compared; "
              f"{time.monotonic() - started:.0f}s")
    finally:
        reference.kill()
        worker.kill()


def crash_loop(deployment: Deployment, worker: Any, started: float) -> list[Any]:
    """Five SIGKILLs at seeded points; returns the kill descriptions and, last, the live worker."""
    rng = random.Random(KILL_SEED)
    # Four kills after a random number of newly applied events, one during start-up/recovery.
    plan: list[tuple[str, float]] = [("applied", rng.randint(1500, 7000)) for _ in range(4)]
    plan.insert(rng.randrange(1, 5), ("startup", rng.uniform(0.5, 3.0)))
    kills: list[Any] = []
    worker.start(wait_ready=False)
    for mode, point in plan:
        if mode == "startup":
            time.sleep(point)
            kills.append(f"{point:.2f}s after spawn (readyz {worker.http('/readyz')[0]})")
        else:
            worker.wait_ready(90)
            wait_until(lambda w=worker, n=point: applied(w) >= n or not w.alive(), 90,
                       lambda w=worker: f"no progress before a kill:\n{w.log_tail()}")
            kills.append(f"after {applied(worker):.0f} applied events")
        assert worker.alive(), worker.log_tail()
        kills[-1] += f" at t={time.monotonic() - started:.1f}s"
        worker.kill()
        worker = deployment.worker(clock=FIXED)
        worker.start(wait_ready=False)
    return [*kills, worker]


def _sla_diff(mine: Counter[Any], theirs: Counter[Any]) -> str:
    only_mine = sorted((mine - theirs).items())[:10]
    only_theirs = sorted((theirs - mine).items())[:10]
    return (f"SLA events: {sum(mine.values())} crash-looped vs {sum(theirs.values())} reference; "
            f"only crash-looped: {only_mine}; only reference (first 10): {only_theirs}")
