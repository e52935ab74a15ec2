"""The consumer's bulk ingest path under rebalances and a crash at its most delicate point.

1. Revocations while bulk batches are in flight: every batch is held 0.15 s after it is tracked
   (test fault `hold`), and a second worker joins and leaves until at least 20 revocations have
   begun while a batch was held (each logged by the worker that held it). A revocation waits for
   the tracked batch; a batch is not started once the flow stopped. At the end a fault-free
   worker finishes the log.
2. A SIGKILL after a batch's changelog records are on the broker and before its offsets are
   acknowledged or committed (test fault `kill_after_batch`): the restart re-reads input the
   changelog already covers and must skip it.

Both end like the crash-loop test: every live gauge and every table record equal a clean
reference pass over the same input, and the SLA events are the same set with none twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream.simulator import generate
from tests.integration.fixtures import Deployment, WorkerProcess, total, wait_until
from tests.integration.hardening import changelog_topic, live_gauges, read_changelog, sla_events

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
HOURS = 2.0  # 4,332 events of the black-friday profile, seed 11
END = START + timedelta(hours=HOURS)
FIXED = f"fixed:{END.isoformat().replace('+00:00', 'Z')}"
# As in the crash-loop test: a commerce value also holds the contacts that reach it through the
# contacts topic, whose interleaving with the orders differs from pass to pass (the join is
# symmetric in event time, so counters and gauges agree; the stored bytes need not).
TABLES = ("tickets", "chats", "agents")
HELD = "test fault: a revocation began while a bulk batch was held"
SMALL_BATCHES = {"SUPPORTPULSE_BATCH_MAX": "10"}  # many batches, so one is always in flight


def events() -> list[dict[str, Any]]:
    return list(generate("black-friday", 11, START, HOURS * 3600.0))


def owned(worker: WorkerProcess) -> float:
    try:
        return total(worker.samples(), "support_partitions_owned")
    except AssertionError:
        return -1


def applied(worker: WorkerProcess) -> float:
    try:
        return total(worker.samples(), "support_events_total")
    except AssertionError:
        return 0.0


def held(workers: list[WorkerProcess]) -> int:
    return sum(w.log_path.read_text(errors="replace").count(HELD)
               for w in workers if w.log_path.exists())


def reference(deployment: Deployment) -> tuple[Deployment, WorkerProcess]:
    """A clean pass over the same input: its own app id and output topics."""
    ref = Deployment(
        deployment.bootstrap, deployment.redis_url, deployment.workdir, deployment.partitions,
        prefix=deployment.prefix,
        extra_env={"SUPPORTPULSE_TOPIC_SLA": f"{deployment.prefix}.sla-reference",
                   "SUPPORTPULSE_TOPIC_DLQ": f"{deployment.prefix}.dlq-reference"},
    )
    return ref, ref.worker(clock=FIXED)


def assert_equal_to_reference(
    deployment: Deployment, worker: WorkerProcess, ref: Deployment, clean: WorkerProcess,
    n: int,
) -> None:
    # The clean pass applies every event; the other worker's count misses what an earlier
    # process applied, so it is done when its gauges equal the clean pass's.
    wait_until(lambda: applied(clean) >= n, 120, lambda: f"incomplete:\n{clean.log_tail()}")
    wait_until(lambda: live_gauges(worker.samples()) == live_gauges(clean.samples()), 60,
               lambda: f"{live_gauges(worker.samples())}\n!=\n{live_gauges(clean.samples())}")
    assert live_gauges(clean.samples())["support_tickets_open"]
    for stream in TABLES:
        mine = read_changelog(deployment.bootstrap, changelog_topic(deployment, stream),
                              deployment.partitions).live()
        theirs = read_changelog(deployment.bootstrap, changelog_topic(ref, stream),
                                deployment.partitions).live()
        differing = [k for k in theirs.keys() | mine.keys() if mine.get(k) != theirs.get(k)]
        assert differing == [], f"{stream}: {len(differing)} keys differ, e.g. {differing[:5]}"
    latest: list[Any] = [None]

    def settled() -> bool:
        now = (sla_events(deployment), sla_events(ref))
        stable, latest[0] = now == latest[0], now
        return stable and now[0] == now[1]

    wait_until(settled, 60, lambda: f"SLA events differ: {latest[0]}")
    mine_sla, _ = latest[0]
    assert len(mine_sla) > 100 and max(mine_sla.values()) == 1, "an SLA event twice"


def test_revocations_while_bulk_batches_are_in_flight_equal_one_clean_pass(
    deployment: Deployment,
) -> None:
    log = events()
    deployment.produce(log)
    ref, clean = reference(deployment)
    faulty = {**SMALL_BATCHES, "SUPPORTPULSE_TEST_FAULTS": "hold=0.15"}
    first = deployment.worker(clock=FIXED, **faulty)
    workers = [first]
    finisher = None
    try:
        clean.start(wait_ready=False)
        first.start()
        started = time.monotonic()
        while held(workers) < 20 and time.monotonic() - started < 150:
            joiner = deployment.worker(clock=FIXED, **faulty)
            workers.append(joiner)
            joiner.start(wait_ready=False)
            wait_until(lambda j=joiner: owned(j) > 0 and owned(first) > 0, 60,
                       lambda j=joiner: f"no shared assignment:\n{j.log_tail()}")
            joiner.stop()  # a clean leave: another rebalance
            wait_until(lambda: owned(first) == deployment.partitions, 60, first.log_tail)
        assert held(workers) >= 20, f"only {held(workers)} revocations hit a batch in flight"
        assert applied(first) < len(log)  # the rebalances happened mid-stream
        first.stop()
        finisher = deployment.worker(clock=FIXED).start()
        assert_equal_to_reference(deployment, finisher, ref, clean, len(log))
    finally:
        for w in [*workers, finisher, clean]:
            if w is not None:
                w.kill()


def test_a_sigkill_between_the_changelog_and_the_commit_equals_one_clean_pass(
    deployment: Deployment,
) -> None:
    log = events()
    deployment.produce(log)
    ref, clean = reference(deployment)
    doomed = deployment.worker(clock=FIXED, **SMALL_BATCHES,
                               SUPPORTPULSE_TEST_FAULTS="kill_after_batch=60")
    restarted = None
    try:
        clean.start(wait_ready=False)
        doomed.start(wait_ready=False)  # it may reach batch 60 before /readyz answers
        wait_until(lambda: not doomed.alive(), 90, doomed.log_tail)
        assert "SIGKILL after batch 60" in doomed.log_path.read_text(errors="replace")
        restarted = deployment.worker(clock=FIXED).start()
        assert_equal_to_reference(deployment, restarted, ref, clean, len(log))
    finally:
        for w in (doomed, restarted, clean):
            if w is not None:
                w.kill()
