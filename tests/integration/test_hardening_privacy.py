"""Privacy and the bearer token, on a live worker.

Privacy: a scenario whose events carry customer ids (one of them an e-mail address), agent ids,
personal names in free-text fields (queue names, request types, template ids, agent queues) and
conversation/order/campaign ids — valid events, rejected ones and a key mismatch among them — is
processed by a worker at LOG_LEVEL=info and, in a second test, at LOG_LEVEL=debug. Neither the
full /metrics text nor the worker's log file may contain any of them. (Found and fixed in
7ae6c00: at debug, aiokafka logged every message key and payload.)

Token: with SUPPORTPULSE_API_TOKEN set, /metrics, /readyz and /sla/at-risk answer 401 without a
token or with a wrong one and 200 with it; /healthz answers 200 without; no other path answers
200 without the token; the token itself is never logged.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.fixtures import (
    Deployment,
    WorkerProcess,
    parse_samples,
    total,
    wait_until,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
FIXED = f"fixed:{NOW.isoformat()}"
TOKEN = "tok-9Qw7Zr4Lp2"

EMAIL = "jane.doe@example.com"
SECRETS = [
    EMAIL, "jane.doe", "Jane Doe", "cust-Zq81x", "Petra Nováková", "agent-Jx72p", "John Smith",
    "agent-Mh40t", "tkt-Pv93k", "tkt-Rb18d", "chat-Wd55n", "chat-Ky07s", "ord-Lm20v",
    "cmp-Kq55b", "sess-Tn64c", "tpl-Hx31u",
]


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def scenario_with_personal_data() -> list[dict[str, Any]]:
    e: list[dict[str, Any]] = []

    def add(kind: str, minutes_ago: float, **fields: Any) -> None:
        e.append({"type": kind, "event_id": f"pii-{len(e)}", "occurred_at": at(minutes_ago),
                  **fields})

    add("agent.status_changed", 300, agent_id="agent-Jx72p", status="online",
        queues=["orders", "Jane Doe's VIP queue"], max_chats=3)
    add("agent.status_changed", 300, agent_id="John Smith", status="online", queues=["returns"])
    add("agent.status_changed", 290, agent_id="agent-Mh40t", status="away", queues=["orders"])
    add("ticket.created", 240, ticket_id="tkt-Pv93k", channel="email", priority="high",
        queue="Jane Doe's VIP queue", request_type="refund for jane.doe@example.com",
        customer_id=EMAIL, agent_id="agent-Jx72p")
    add("ticket.replied", 200, ticket_id="tkt-Pv93k", author="agent", agent_id="John Smith",
        template_id="tpl-Hx31u")
    add("ticket.replied", 150, ticket_id="tkt-Pv93k", author="customer")
    add("ticket.assigned", 140, ticket_id="tkt-Pv93k", agent_id="agent-Mh40t",
        queue="Petra Nováková")
    add("ticket.status_changed", 100, ticket_id="tkt-Pv93k", status="solved",
        agent_id="agent-Mh40t")
    add("ticket.rated", 90, ticket_id="tkt-Pv93k", score=5)
    add("ticket.created", 500, ticket_id="tkt-Rb18d", channel="social", priority="urgent",
        queue="orders", customer_id="Jane Doe", request_type="Petra Nováková")
    add("chat.requested", 30, chat_id="chat-Wd55n", queue="orders", customer_id="cust-Zq81x",
        campaign_id="cmp-Kq55b")
    add("chat.accepted", 29, chat_id="chat-Wd55n", agent_id="agent-Jx72p")
    add("chat.message", 28, chat_id="chat-Wd55n", author="agent", agent_id="agent-Jx72p",
        template_id="tpl-Hx31u")
    add("chat.transferred", 27, chat_id="chat-Wd55n", queue="John Smith",
        agent_id="John Smith")
    add("chat.requested", 20, chat_id="chat-Ky07s", queue="Jane Doe's VIP queue",
        customer_id=EMAIL)
    add("campaign.shown", 40, campaign_id="cmp-Kq55b", customer_id="cust-Zq81x")
    add("order.placed", 10, order_id="ord-Lm20v", customer_id=EMAIL, amount="129.00",
        currency="EUR")
    add("selfservice.session", 5, session_id="sess-Tn64c", resolved=False)
    return e


def bad_messages() -> list[tuple[bytes, bytes]]:
    """Rejected input that carries the same personal data (key, value)."""
    body = {"type": "ticket.status_changed", "event_id": "pii-bad", "occurred_at": at(1),
            "ticket_id": "tkt-Pv93k", "status": "archived-by-John Smith"}
    return [
        (b"tkt-Pv93k", json.dumps(body).encode()),
        (EMAIL.encode(), json.dumps({**body, "status": "open"}).encode()),  # key mismatch
        (b"tkt-Rb18d", b'{"customer_id": "jane.doe@example.com", "type": "ticket.cre'),
        (b"tkt-Rb18d", json.dumps({**body, "occurred_at": "Jane Doe"}).encode()),
    ]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def run_scenario(deployment: Deployment, worker: WorkerProcess, token: str | None) -> str:
    """Wait until the worker has processed everything; return its full /metrics text."""
    def metrics() -> str:
        status, body = worker.http("/metrics", token=token)
        assert status == 200, status
        return body.decode()

    wait_until(lambda: total(parse_samples(metrics()), "support_events_rejected_total") == 4
               and total(parse_samples(metrics()), "support_events_total") == 18, 60,
               lambda: f"not processed:\n{worker.log_tail()}")
    time.sleep(2.5)  # a couple of SLA sweeps and Redis health checks, which may log
    return metrics()


def test_no_personal_data_in_metrics_or_logs_and_the_token_guards_http(
    deployment_factory: Any,
) -> None:
    deployment: Deployment = deployment_factory()
    deployment.produce(scenario_with_personal_data())
    deployment.produce_raw(deployment.settings().topic_tickets, bad_messages())

    info = deployment.worker(clock=FIXED, SUPPORTPULSE_LOG_LEVEL="info",
                             SUPPORTPULSE_API_TOKEN=TOKEN)
    info.start(wait_ready=False)
    wait_until(lambda: info.http("/readyz", token=TOKEN)[0] == 200, 60,
               lambda: f"not ready:\n{info.log_tail()}")

    # --- the bearer token -------------------------------------------------------------------------
    for path in ("/metrics", "/readyz", "/sla/at-risk?limit=5"):
        assert info.http(path)[0] == 401, path
        assert info.http(path, token="wrong")[0] == 401, path
        assert info.http(path, token=TOKEN[:-1])[0] == 401, path
        assert info.http(path, token=TOKEN + "x")[0] == 401, path
        assert info.http(path, token=TOKEN)[0] == 200, path
    assert info.http("/healthz")[0] == 200
    for path in ("/agents", "/table", "/router", "/graph", "/stats", "/debug", "/metrics/",
                 "/METRICS", "/sla/at-risk/", "/readyz?x=1", "/readyz/../metrics"):
        assert info.http(path)[0] != 200, f"{path} answers 200 without the token"

    metrics_text = run_scenario(deployment, info, TOKEN)
    info.stop()
    info_log = info.log_path.read_text(errors="replace")
    assert "INFO" in info_log  # the info run really logs at info
    assert TOKEN not in info_log
    assert leaks(metrics_text) == [], "personal data in /metrics"
    assert leaks(info_log) == [], f"personal data in the info log: {leaks(info_log)}"
    print(f"\ninfo log {len(info_log)} bytes, metrics {len(metrics_text)} bytes: "
          "no personal data")


class PersonalDataLogged(AssertionError):
    pass


def test_no_personal_data_in_the_debug_log(deployment: Deployment) -> None:
    deployment.produce(scenario_with_personal_data())
    deployment.produce_raw(deployment.settings().topic_tickets, bad_messages())
    debug = deployment.worker(clock=FIXED, SUPPORTPULSE_LOG_LEVEL="debug").start()
    try:
        metrics_text = run_scenario(deployment, debug, None)
    finally:
        debug.stop()
    debug_log = debug.log_path.read_text(errors="replace")
    assert "DEBUG" in debug_log
    assert leaks(metrics_text) == [], "personal data in /metrics (debug run)"
    if leaks(debug_log):
        example = next(line[:300] for line in debug_log.splitlines() if leaks(line))
        raise PersonalDataLogged(f"in the debug log: {leaks(debug_log)}; e.g. {example}")


def test_every_path_but_healthz_needs_the_token(deployment: Deployment) -> None:
    worker = deployment.worker(clock=FIXED, SUPPORTPULSE_API_TOKEN=TOKEN)
    worker.start(wait_ready=False)
    wait_until(lambda: worker.http("/healthz")[0] == 200, 60, lambda: worker.log_tail())
    for path in ("/", "/agents", "/metrics", "/readyz", "/sla/at-risk"):
        assert worker.http(path)[0] != 200, f"{path} answers 200 without the token"
