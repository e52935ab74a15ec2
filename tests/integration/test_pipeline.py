"""The foundation end to end: real broker, real worker process, metrics compared to the truth."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from tests.integration.fixtures import Deployment, Samples, by_labels, total, wait_until
from tests.scenario import CHANNELS, PRIORITIES, QUEUES, Truth, scenario, truth

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Black Friday morning
NOW = START + timedelta(hours=3)
FIXED = f"fixed:{NOW.isoformat().replace('+00:00', 'Z')}"


def live_gauges(samples: Samples) -> dict[str, dict[Any, float]]:
    """The live gauges as {metric: {labels: value}} without zero entries."""
    names = (
        "support_tickets_open",
        "support_tickets_awaiting_first_response",
        "support_chat_queue_waiting",
        "support_chats_active",
        "support_chat_queue_oldest_wait_seconds",
    )
    return {
        name: {labels: value for labels, value in by_labels(samples, name).items() if value}
        for name in names
    }


def expected_gauges(t: Truth) -> dict[str, dict[Any, float]]:
    def cp(counter: Any) -> dict[Any, float]:
        return {
            (("channel", c), ("priority", p), ("queue", q)): float(n)
            for (c, p, q), n in counter.items() if n
        }

    def q(values: Any) -> dict[Any, float]:
        return {(("queue", k),): float(v) for k, v in values.items() if v}

    return {
        "support_tickets_open": cp(t.tickets_open),
        "support_tickets_awaiting_first_response": cp(t.awaiting_first_response),
        "support_chat_queue_waiting": q(t.chat_waiting),
        "support_chats_active": q(t.chats_active),
        "support_chat_queue_oldest_wait_seconds": q(t.oldest_wait),
    }


def counters_match(samples: Samples, t: Truth) -> bool:
    for channel in CHANNELS:
        for priority in PRIORITIES:
            labels = {"channel": channel, "priority": priority}
            if total(samples, "support_tickets_created_total", **labels) != t.created[
                (channel, priority)
            ]:
                return False
            if total(samples, "support_tickets_solved_total", **labels) != t.solved[
                (channel, priority)
            ]:
                return False
    for queue in (*QUEUES, "other"):
        if total(samples, "support_chats_requested_total", queue=queue) != t.requested[queue]:
            return False
        if total(samples, "support_chats_missed_total", queue=queue) != t.missed[queue]:
            return False
    return True


def test_fixed_clock_pass_matches_independent_truth(deployment: Deployment, tmp_path: Any) -> None:
    events = scenario(seed=1, tickets=300, chats=300, start=START)
    expected = truth(events, NOW)
    # Produce through the CLI, as a user would.
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(msgspec.json.encode(e) + b"\n" for e in events))
    done = subprocess.run(
        [sys.executable, "-m", "stream.cli", "produce", str(path)],
        env={**os.environ, **deployment.env()}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"published {len(events)} events" in done.stderr

    worker = deployment.worker(clock=FIXED).start()
    want = expected_gauges(expected)
    wait_until(
        lambda: live_gauges(worker.samples()) == want and counters_match(worker.samples(),
                                                                         expected),
        60,
        lambda: f"gauges {live_gauges(worker.samples())}\n!= expected {want}",
    )
    samples = worker.samples()
    # The oldest wait is a *fixed-clock* age: TS minus the earliest waiting request, per queue.
    assert total(samples, "support_chat_queue_oldest_wait_seconds") > 0
    # Valid events consumed, duplicates included (they are harmless, not invisible).
    assert total(samples, "support_events_total") == len(events)
    assert total(samples, "support_partitions_owned") == deployment.partitions
    assert total(samples, "support_events_rejected_total") == 0
    wait_until(lambda: total(worker.samples(), "support_redis_up") == 1, 15, "redis not up")
    # Faust's own pages are off (CONTRACT §5).
    assert worker.http("/table")[0] == 404
    assert worker.http("/router")[0] == 404
    assert worker.http("/healthz")[0] == 200


def test_sigkill_during_processing_equals_one_clean_pass(
    deployment: Deployment,
) -> None:
    events = scenario(seed=2, tickets=1200, chats=1200, start=START, duplicates=60)
    assert len(events) > 4000
    expected = truth(events, NOW)
    want = expected_gauges(expected)

    worker = deployment.worker(clock=FIXED).start()
    # Pace the input (600 events every 0.4 s) so that the kills land mid-stream.
    chunks = [events[i : i + 600] for i in range(0, len(events), 600)]

    def feed() -> None:
        for chunk in chunks:
            deployment.produce(chunk)
            time.sleep(0.4)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    kills = 0
    for _ in range(2):
        current = worker
        wait_until(lambda w=current: total(w.samples(), "support_events_total") > 300, 60,
                   "worker made no progress before the kill")
        current.kill()
        kills += 1
        worker = deployment.worker(clock=FIXED).start()
    feeder.join(120)
    wait_until(lambda: live_gauges(worker.samples()) == want, 90,
               lambda: f"after {kills} kills: {live_gauges(worker.samples())}\n!= {want}")

    # A fresh consumer group making one clean pass over the same topics agrees exactly.
    clean = Deployment(deployment.bootstrap, deployment.redis_url, deployment.workdir,
                       deployment.partitions, prefix=deployment.prefix)
    reference = clean.worker(clock=FIXED).start()
    try:
        wait_until(lambda: counters_match(reference.samples(), expected)
                   and live_gauges(reference.samples()) == want, 90,
                   "the clean pass did not reach the truth")
        assert live_gauges(worker.samples()) == live_gauges(reference.samples())
    finally:
        reference.kill()


def test_agent_presence_gauges(deployment: Deployment) -> None:
    def presence(n: int, agent: str, status: str, queues: list[str], max_chats: int = 1,
                 minute: int = 0) -> dict[str, Any]:
        return {"type": "agent.status_changed", "event_id": f"p{n}", "agent_id": agent,
                "occurred_at": (START + timedelta(minutes=minute)).isoformat(),
                "status": status, "queues": queues, "max_chats": max_chats}

    worker = deployment.worker(clock=FIXED).start()
    deployment.produce([
        presence(1, "a1", "online", ["orders", "returns"], 3),
        presence(2, "a2", "online", ["orders"], 2),
        presence(3, "a3", "online", ["general", "vip", "vip2"], 1),
        presence(4, "a3", "away", ["general", "vip", "vip2"], 1, minute=5),
        presence(5, "a4", "online", ["returns"], 2),
        presence(6, "a4", "offline", ["returns"], 2, minute=9),
        presence(7, "a4", "online", ["returns"], 2, minute=3),  # stale: a newer status exists
    ])
    expected = {
        ("support_agents", "orders", "online"): 2,
        ("support_agents", "returns", "online"): 1,
        ("support_agents", "returns", "offline"): 1,
        ("support_agents", "general", "away"): 1,
        ("support_agents", "other", "away"): 1,  # vip and vip2 are one bounded label
        ("support_agent_chat_capacity", "orders"): 5,
        ("support_agent_chat_capacity", "returns"): 3,
    }

    def observed() -> dict[tuple[str, ...], float]:
        samples = worker.samples()
        result: dict[tuple[str, ...], float] = {}
        for (name, labels), value in samples.items():
            if name in ("support_agents", "support_agent_chat_capacity") and value:
                result[(name, *(v for _, v in sorted(labels, key=lambda kv: kv[0])))] = value
        return result

    wait_until(lambda: observed() == expected, 60, lambda: f"{observed()} != {expected}")
    assert total(worker.samples(), "support_events_late_total", stream="agents") == 1
