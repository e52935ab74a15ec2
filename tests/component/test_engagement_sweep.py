"""Engagement windows through the worker's own parts (issue 15): `Pipeline.process` for the
orders, the event clock, `Sweep.tick` sending the customer's sla-due command and the sla-due
agent's `Sweep.evaluate` applying it — then the gauges on the registry, as /metrics shows them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from stream.domain.clock import EventClock
from stream.settings import Settings
from stream.worker import Pipeline
from tests.component.conftest import Message, RecordingProducer, make_ready, message

T1 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
COMMERCE = "support.commerce"


def order(event_id: str, customer: str, at: datetime, amount: str, **extra: Any) -> dict[str, Any]:
    return {"type": "order.placed", "event_id": event_id, "order_id": f"o-{event_id}",
            "customer_id": customer, "amount": amount, "currency": "EUR",
            "occurred_at": at.isoformat().replace("+00:00", "Z"), **extra}


def gauge(registry: CollectorRegistry, name: str, **labels: str) -> float:
    values = [s.value for f in registry.collect() for s in f.samples
              if s.name == name and s.labels == labels]
    assert len(values) == 1, (name, labels, values)
    return values[0]


async def sweep(pipeline: Pipeline, producer: RecordingProducer) -> list[bytes]:
    """One tick of the sweep timer, then its commands through the sla-due agent."""
    before = len(producer.sent)
    await pipeline.sweep.tick()
    commands = [s for s in producer.sent[before:] if s.topic.endswith("-sla-due")]
    await pipeline.sweep.evaluate([
        Message(c.topic, c.partition or 0, n, c.key, c.value) for n, c in enumerate(commands)
    ])
    return [c.key or b"" for c in commands]


@pytest.mark.parametrize("policy", ["shipped", "none"])
async def test_a_repeat_buyer_leaves_the_30d_window_when_the_event_clock_gets_there(
    settings: Settings, policy: str
) -> None:
    registry = CollectorRegistry()
    settings = settings.model_copy(update={"sla_policy_file": policy})
    pipeline = Pipeline(settings, EventClock(), registry)
    producer = pipeline.app.producer = RecordingProducer()
    make_ready(pipeline, "commerce", 0)

    await pipeline.process("commerce", [
        message(COMMERCE, 0, 0, order("a1", "ann", T1, "40.00")),
        message(COMMERCE, 0, 1, order("a2", "ann", T1 + timedelta(days=10), "60.00",
                                      guest=True)),
    ])
    assert await sweep(pipeline, producer) == []
    assert gauge(registry, "support_window_repeat_customers", window="30d", segment="all") == 1
    assert gauge(registry, "support_window_revenue", window="30d", segment="all",
                 currency="EUR") == 100.0
    assert gauge(registry, "support_window_orders", window="30d", segment="not_contacted",
                 guest="yes", currency="EUR") == 1
    assert gauge(registry, "support_orders_total", currency="EUR", guest="yes") == 1
    assert gauge(registry, "support_revenue_total", currency="EUR") == 100.0

    # Another customer's order one microsecond before ann's first order is 30 days old.
    edge = T1 + timedelta(days=30)
    await pipeline.process("commerce", [
        message(COMMERCE, 0, 2, order("b1", "bea", edge - timedelta(microseconds=1), "1.00")),
    ])
    assert await sweep(pipeline, producer) == []
    assert gauge(registry, "support_window_repeat_customers", window="30d", segment="all") == 1

    # The event clock reaches the instant: the sweep sends ann's command, the agent applies it.
    await pipeline.process("commerce", [message(COMMERCE, 0, 3, order("c1", "cy", edge, "2.00"))])
    assert await sweep(pipeline, producer) == [b"ann"]
    assert gauge(registry, "support_window_repeat_customers", window="30d", segment="all") == 0
    assert gauge(registry, "support_window_repeat_customers", window="365d", segment="all") == 1
    assert gauge(registry, "support_window_customers", window="30d", segment="all") == 3
    assert gauge(registry, "support_window_revenue", window="30d", segment="all",
                 currency="EUR") == 63.0
    # The evaluated value went to the changelog (a recovery starts from it).
    changelog = [s.key for s in producer.to(f"{settings.app_id}-commerce-changelog")]
    assert changelog[-1] == b"ann"
