"""The gateway on real servers: helpdesk webhooks move the worker exactly as §1 events do.

Two deployments on one broker, each with its own worker (clock fixed, so both see the same
"now"). Deployment A is fed by a `supportpulse gateway` process, the way a helpdesk feeds it:
a Chatwoot web-widget conversation as its webhook sequence (created → customer message →
assigned → agent reply → resolved → CSAT) and a Zendesk ticket (created → public agent comment
→ pending → solved), each webhook signed and delivered twice. Halfway, the gateway is cut off
from the broker (a loopback proxy drops its connections, the worker's stay): it answers 503,
and the sender retries until 202, as the helpdesks do. Deployment B gets the same
conversations produced directly as §1 events. Afterwards every gauge and counter of A equals
B's (events consumed aside: A consumed every event twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stream.embedded import Redis
from stream.gateway.connectors import load_connectors
from stream.gateway.delivery import CLIENT_ID
from stream.gateway.translation import Rejection, translator
from tests.integration.fixtures import Deployment, parse_samples, total, wait_until
from tests.integration.gateway_process import CONNECTORS, GatewayProcess
from tests.integration.hardening import TcpProxy, proxied_broker
from tests.unit.gateway.conftest import body

pytestmark = pytest.mark.integration

QUEUES = "web-chat,email-support,billing,support,shop-eu"
CLOCK = "fixed:2026-12-03T10:00:00Z"
# Not compared: A consumed every event twice (duplicates are counted as consumed, then
# skipped), and the gateway's own series are only on A.
# Recovery timings differ between any two workers (they are durations, not state).
NOT_COMPARED = ("support_events_total", "support_gateway_", "support_table_recovery_seconds")


def chat_agent_reply() -> bytes:
    """Chatwoot's outgoing agent message, in the web-widget conversation of the sequence
    (the fixture's own agent reply belongs to an e-mail conversation)."""
    incoming = json.loads(body("chatwoot", "message_created_incoming"))
    agent = json.loads(body("chatwoot", "message_created_outgoing_agent"))
    reply = {**incoming, "id": 125, "message_type": "outgoing", "sender": agent["sender"],
             "content": "Let me check that order for you.",
             "created_at": "2021-07-23T18:04:30.000Z"}
    return json.dumps(reply).encode()


def zendesk_pending() -> bytes:
    solved = json.loads(body("zendesk", "ticket_status_changed"))
    pending = {**solved, "id": "5f3a1c2e-0000-4000-8000-000000005158",
               "time": "2025-01-08T15:00:00Z",
               "detail": {**solved["detail"], "status": "PENDING"},
               "event": {"current": "PENDING", "previous": "OPEN"}}
    return json.dumps(pending).encode()


CHATWOOT = [body("chatwoot", "conversation_created"), body("chatwoot", "message_created_incoming"),
            body("chatwoot", "conversation_updated_assignee"), chat_agent_reply(),
            body("chatwoot", "conversation_status_changed_resolved"),
            body("chatwoot", "message_updated_csat")]
ZENDESK = [body("zendesk", "ticket_created"), body("zendesk", "ticket_comment_added_public_staff"),
           zendesk_pending(), body("zendesk", "ticket_status_changed")]
WEBHOOKS = [*(("chatwoot", raw) for raw in CHATWOOT), *(("zendesk", raw) for raw in ZENDESK)]


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[TcpProxy]:
    with proxied_broker(tmp_path / "tansu.log") as (_, proxy):
        yield proxy


def compared(samples: dict[Any, float]) -> dict[Any, float]:
    return {key: value for key, value in samples.items()
            if key[0].startswith("support_") and not key[0].startswith(NOT_COMPARED)}


def direct_events() -> list[dict[str, Any]]:
    connectors = load_connectors(CONNECTORS)
    events: list[dict[str, Any]] = []
    for source, raw in WEBHOOKS:
        result = translator(source)(raw, {}, connectors)
        assert not isinstance(result, Rejection), result
        events += result
    return events


def test_webhooks_through_the_gateway_equal_direct_events_despite_redelivery_and_an_outage(
    proxied: TcpProxy, redis_server: Redis, tmp_path: Path
) -> None:
    bootstrap = f"127.0.0.1:{proxied.port}"
    a = Deployment(bootstrap, redis_server.url, tmp_path / "a", 4,
                   extra_env={"SUPPORTPULSE_QUEUES": QUEUES})
    b = Deployment(bootstrap, redis_server.url, tmp_path / "b", 4,
                   extra_env={"SUPPORTPULSE_QUEUES": QUEUES})
    for deployment in (a, b):
        deployment.workdir.mkdir()
        deployment.create_topics()
    workers = [a.worker(clock=CLOCK).start(wait_ready=False),
               b.worker(clock=CLOCK).start(wait_ready=False)]
    gateway = GatewayProcess(a, tmp_path, SUPPORTPULSE_GATEWAY_DELIVERY_TIMEOUT_SECONDS="2")
    try:
        for worker in workers:
            worker.wait_ready()
        expected = direct_events()
        b.produce(expected)

        codes: list[int] = []
        for number, (source, raw) in enumerate(WEBHOOKS):
            if number == 3:
                proxied.cut(only=[CLIENT_ID])  # the gateway loses the broker, workers do not
                codes += [gateway.post(source, raw) for _ in range(2)]  # 503, 503
                proxied.restore()
            codes += gateway.deliver(source, raw)
            codes += gateway.deliver(source, raw)  # every webhook twice
        assert 503 in codes, codes

        def consumed(worker: Any) -> float:
            return total(worker.samples(), "support_events_total")

        wait_until(lambda: consumed(workers[0]) >= 2 * len(expected)
                   and consumed(workers[1]) >= len(expected), 60,
                   lambda: f"consumed {consumed(workers[0])}, {consumed(workers[1])}")
        time.sleep(3)  # a sweep and a rollup interval past the last event
        seen_a, seen_b = compared(workers[0].samples()), compared(workers[1].samples())
        differ = {k: (seen_a.get(k), seen_b.get(k)) for k in seen_a.keys() | seen_b.keys()
                  if seen_a.get(k) != seen_b.get(k)}
        assert not differ, differ
        assert total(seen_b, "support_chats_active") == 0  # the chat ended …
        assert any(k[0].startswith("support_csat") for k in seen_b)  # … and was rated

        metrics = parse_samples(gateway.get("/metrics")[1].decode())
        assert total(metrics, "support_gateway_requests_total", source="chatwoot",
                     code="202") == 2 * len(CHATWOOT)
        assert total(metrics, "support_gateway_requests_total", code="503") >= 1
    finally:
        gateway.stop()
        for worker in workers:
            worker.kill()
