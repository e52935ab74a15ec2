"""Stage two with two workers sharing the partitions: each staffing gauge is published by exactly
one worker, and equals the Erlang formulas applied to the scenario's cluster-wide totals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream.domain.staffing import evaluate, required_agents
from tests.integration.fixtures import Deployment, Samples, total, wait_until

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def scenario() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def add(kind: str, seconds_ago: float, **fields: Any) -> None:
        events.append({"type": kind, "event_id": f"s{len(events)}",
                       "occurred_at": (NOW - timedelta(seconds=seconds_ago)).isoformat(),
                       **fields})

    for n in range(3):  # orders: 3 agents online, 2 chats each
        add("agent.status_changed", 3000, agent_id=f"o{n}", status="online", queues=["orders"],
            max_chats=2)
    add("agent.status_changed", 3000, agent_id="r0", status="online", queues=["returns"])
    add("agent.status_changed", 3000, agent_id="r1", status="away", queues=["returns"])
    # orders: nine chats within the last 15 minutes, spread over many keys (so partitions).
    for n in range(6):  # answered after 30 s, handled for 300 s
        start = 800 - n * 60
        add("chat.requested", start, chat_id=f"ok{n}", queue="orders")
        add("chat.accepted", start - 30, chat_id=f"ok{n}", agent_id=f"o{n % 3}")
        add("chat.ended", start - 330, chat_id=f"ok{n}")
    add("chat.requested", 500, chat_id="gone", queue="orders")
    add("chat.abandoned", 440, chat_id="gone")  # waited 60 s
    add("chat.requested", 100, chat_id="wait1", queue="orders")
    add("chat.requested", 50, chat_id="wait2", queue="orders")
    for n in range(3):  # returns: three requests, none answered yet
        add("chat.requested", 600 - n * 100, chat_id=f"ret{n}", queue="returns")
    events.sort(key=lambda e: e["occurred_at"])
    return events


def expected(queue: str) -> dict[str, float]:
    """The formulas on the scenario's totals: orders with the default target (80 % within
    60 s), returns with its own (95 % within 20 s, SUPPORTPULSE_STAFFING_QUEUE_TARGETS)."""
    if queue == "orders":
        rate, aht, patience, online, concurrency = 9 / 900, 1800 / 6, 6 * 30 + 60.0, 3, 2
        ratio, within = 0.8, 60.0
    else:
        rate, aht, patience, online, concurrency = 3 / 900, 480.0, None, 1, 1
        ratio, within = 0.95, 20.0
    # Chat slots serve chats (agents × their max_chats); agents needed = slots / mean max_chats.
    slots = online * concurrency
    need = required_agents(rate, aht, ratio, within, patience_seconds=patience)
    agents = math.ceil(need.required_agents / concurrency)
    now = evaluate(slots, rate, aht, within, patience_seconds=patience)
    return {
        "support_staffing_required_agents": agents,
        "support_staffing_available_agents": online,
        "support_staffing_gap_agents": agents - online,
        "support_staffing_predicted_wait_seconds": now.predicted_wait_seconds,
        "support_staffing_predicted_service_level_ratio": now.service_level_ratio,
    }


def staffing(samples: Samples, queue: str) -> dict[str, float]:
    return {
        name: value
        for (name, labels), value in samples.items()
        if name.startswith("support_staffing_") and dict(labels).get("queue") == queue
    }


def test_two_workers_publish_each_signal_once_with_the_formula_value(
    deployment_factory: Any,
) -> None:
    deployment: Deployment = deployment_factory(
        partitions=6, SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS="1",
        SUPPORTPULSE_STAFFING_QUEUE_TARGETS='{"returns": {"target_ratio": 0.95, '
                                            '"within_seconds": 20}}',
    )
    deployment.produce(scenario())
    fixed = f"fixed:{NOW.isoformat()}"
    first = deployment.worker(clock=fixed).start(wait_ready=False)
    second = deployment.worker(clock=fixed).start(wait_ready=False)
    first.wait_ready(120)
    second.wait_ready(120)

    def owned() -> tuple[float, float]:
        return (total(first.samples(), "support_partitions_owned"),
                total(second.samples(), "support_partitions_owned"))

    wait_until(lambda: sum(owned()) == 6 and min(owned()) > 0, 90,
               lambda: f"partitions owned {owned()}")

    for queue in ("orders", "returns"):
        want = expected(queue)

        def published(q: str = queue, w: dict[str, float] = want) -> bool:
            a, b = staffing(first.samples(), q), staffing(second.samples(), q)
            # Exactly one worker owns the queue's key; its values are the formulas'.
            return (not a or not b) and (a or b) == pytest.approx(w)

        wait_until(published, 60, lambda q=queue: f"{q}: {staffing(first.samples(), q)} / "
                   f"{staffing(second.samples(), q)} != {expected(q)}")
