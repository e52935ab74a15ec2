"""Every KPI through the real broker, against values worked out by hand from the script.

Also: the windowed values (arrival rates, hourly volume) are the same after a SIGKILL and
restart, and a replay of the same script one year earlier (with the clock fixed one year earlier)
gives identical windowed values (event time, invariant 6).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.fixtures import Deployment, Samples, by_labels, total, wait_until

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


def script(now: datetime) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def add(kind: str, minutes_ago: float, **fields: Any) -> None:
        at = (now - timedelta(minutes=minutes_ago)).isoformat()
        events.append({"type": kind, "event_id": f"k{len(events)}", "occurred_at": at, **fields})

    # Orders first: the join must also work when an order is processed before its contact.
    add("order.placed", 30, order_id="o1", customer_id="c1", amount="100.50", currency="EUR")
    add("order.placed", 1, order_id="o2", customer_id="c4", amount=20, currency="USD")
    add("order.placed", 5, order_id="o3", customer_id="c6", amount="5", currency="CZK")
    add("order.placed", 6 * 24 * 60, order_id="o4", customer_id="c7", amount="7.00",
        currency="EUR")
    add("order.placed", 15, order_id="o5", customer_id="c2", amount="42.00", currency="XYZ")
    add("campaign.shown", 15, campaign_id="k1", customer_id="c4")
    add("campaign.shown", 14, campaign_id="k1", customer_id="c6")
    add("selfservice.session", 20, session_id="s1", resolved=True)
    add("selfservice.session", 19, session_id="s2", resolved=False)
    add("selfservice.session", 18, session_id="s3", resolved=True)

    add("ticket.created", 50, ticket_id="T1", channel="email", priority="normal",
        queue="orders", customer_id="c1")
    add("ticket.replied", 45, ticket_id="T1", author="agent", agent_id="a1", template_id="X")
    add("ticket.status_changed", 40, ticket_id="T1", status="solved", agent_id="a1")
    add("ticket.rated", 39, ticket_id="T1", score=5)
    add("ticket.effort_rated", 39, ticket_id="T1", score=1)

    add("ticket.created", 20, ticket_id="T2", channel="email", priority="high",
        queue="returns", customer_id="c2")
    add("ticket.replied", 18, ticket_id="T2", author="agent", agent_id="a1")
    add("ticket.replied", 10, ticket_id="T2", author="customer")
    add("ticket.replied", 5, ticket_id="T2", author="agent", agent_id="a2", template_id="Y")
    add("ticket.status_changed", 2, ticket_id="T2", status="solved", resolved_by="bot")
    add("ticket.rated", 1, ticket_id="T2", score=2)
    add("ticket.effort_rated", 1, ticket_id="T2", score=5)

    add("ticket.created", 70, ticket_id="T3", channel="social", priority="normal",
        queue="payments", customer_id="c3")
    add("ticket.status_changed", 65, ticket_id="T3", status="solved",
        resolved_by="self_service")

    add("ticket.created", 3, ticket_id="T4", channel="web_form", priority="low", queue="vip")
    add("ticket.replied", 3, ticket_id="T4", author="bot")

    add("chat.requested", 12, chat_id="C1", queue="orders", customer_id="c4", campaign_id="k1")
    add("chat.accepted", 11, chat_id="C1", agent_id="a2")
    add("chat.message", 10, chat_id="C1", author="agent", agent_id="a2", template_id="Z")
    add("chat.message", 9, chat_id="C1", author="customer")
    add("chat.ended", 4, chat_id="C1")
    add("chat.rated", 3, chat_id="C1", score=4)
    add("chat.converted", 3, chat_id="C1", ticket_id="T9")
    add("chat.requested", 8, chat_id="C2", queue="orders", customer_id="c5")
    add("chat.abandoned", 6, chat_id="C2")
    add("chat.requested", 2, chat_id="C3", queue="general", customer_id="c1")
    return events


EXPECTED_COUNTERS: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
    ("support_csat_responses_total", (("channel", "email"), ("score", "5"))): 1,
    ("support_csat_responses_total", (("channel", "email"), ("score", "2"))): 1,
    ("support_csat_responses_total", (("channel", "chat"), ("score", "4"))): 1,
    ("support_ces_responses_total", (("channel", "email"), ("score", "1"))): 1,
    ("support_ces_responses_total", (("channel", "email"), ("score", "5"))): 1,
    ("support_tickets_solved_one_touch_total", (("channel", "email"), ("priority", "normal"))): 1,
    ("support_tickets_solved_total", (("channel", "email"), ("priority", "normal"))): 1,
    ("support_tickets_solved_total", (("channel", "email"), ("priority", "high"))): 1,
    ("support_tickets_solved_total", (("channel", "social"), ("priority", "normal"))): 1,
    ("support_resolutions_total", (("channel", "email"), ("resolver", "agent"))): 1,
    ("support_resolutions_total", (("channel", "email"), ("resolver", "bot"))): 1,
    ("support_resolutions_total", (("channel", "social"), ("resolver", "self_service"))): 1,
    ("support_resolutions_total", (("channel", "chat"), ("resolver", "agent"))): 1,
    ("support_replies_total", (("author", "agent"), ("channel", "email"), ("template", "yes"))): 2,
    ("support_replies_total", (("author", "agent"), ("channel", "email"), ("template", "no"))): 1,
    ("support_replies_total", (("author", "customer"), ("channel", "email"),
                               ("template", "no"))): 1,
    ("support_replies_total", (("author", "bot"), ("channel", "web_form"), ("template", "no"))): 1,
    ("support_replies_total", (("author", "agent"), ("channel", "chat"), ("template", "yes"))): 1,
    ("support_replies_total", (("author", "customer"), ("channel", "chat"), ("template", "no"))): 1,
    ("support_selfservice_sessions_total", (("resolved", "yes"),)): 2,
    ("support_selfservice_sessions_total", (("resolved", "no"),)): 1,
    ("support_campaign_shown_total", ()): 2,
    ("support_campaign_chats_total", ()): 1,
    ("support_chat_conversions_total", ()): 1,
    ("support_chats_missed_total", (("queue", "orders"),)): 1,
    ("support_chats_requested_total", (("queue", "orders"),)): 2,
    ("support_chats_requested_total", (("queue", "general"),)): 1,
    ("support_assisted_orders_total", (("currency", "EUR"),)): 1,
    ("support_assisted_orders_total", (("currency", "USD"),)): 1,
    ("support_assisted_orders_total", (("currency", "other"),)): 1,
    ("support_assisted_revenue_total", (("currency", "EUR"),)): 100.5,
    ("support_assisted_revenue_total", (("currency", "USD"),)): 20.0,
    ("support_assisted_revenue_total", (("currency", "other"),)): 42.0,
    ("support_orders_total", (("currency", "EUR"), ("guest", "no"))): 2,
    ("support_orders_total", (("currency", "USD"), ("guest", "no"))): 1,
    ("support_orders_total", (("currency", "CZK"), ("guest", "no"))): 1,
    ("support_orders_total", (("currency", "other"), ("guest", "no"))): 1,
}
COUNTER_NAMES = {name for name, _ in EXPECTED_COUNTERS}

# Arrivals per queue at NOW: orders T1 (-50m), C1 (-12m), C2 (-8m); returns T2 (-20m);
# payments T3 (-70m: outside every window); general C3 (-2m); vip → other T4 (-3m).
EXPECTED_ARRIVALS = {
    ("orders", "5m"): 0, ("orders", "15m"): 2, ("orders", "60m"): 3,
    ("returns", "5m"): 0, ("returns", "15m"): 0, ("returns", "60m"): 1,
    ("payments", "5m"): 0, ("payments", "15m"): 0, ("payments", "60m"): 0,
    ("general", "5m"): 1, ("general", "15m"): 1, ("general", "60m"): 1,
    ("other", "5m"): 1, ("other", "15m"): 1, ("other", "60m"): 1,
}
SPANS = {"5m": 300, "15m": 900, "60m": 3600}
# Arrivals since 15:00 UTC: T2 email, C1 C2 C3 chat, T4 web_form (T1, T3 were before 15:00).
EXPECTED_VOLUME = {"email": 1, "chat": 3, "web_form": 1, "phone": 0, "social": 0}


def counters(samples: Samples) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (name, labels): value
        for (name, labels), value in samples.items()
        if name in COUNTER_NAMES and value
    }


def windowed(samples: Samples) -> dict[str, dict[Any, float]]:
    return {
        "arrival_rate": by_labels(samples, "support_arrival_rate"),
        "volume_actual": by_labels(samples, "support_volume_actual"),
    }


def expected_windowed() -> dict[str, dict[Any, float]]:
    return {
        "arrival_rate": {
            (("queue", q), ("window", w)): n / SPANS[w] for (q, w), n in EXPECTED_ARRIVALS.items()
        },
        "volume_actual": {(("channel", c),): float(n) for c, n in EXPECTED_VOLUME.items()},
    }


def deploy(factory: Any) -> Deployment:
    deployment: Deployment = factory(SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS="1",
                                     SUPPORTPULSE_CURRENCIES="EUR,USD,CZK")
    return deployment


def test_every_kpi_matches_the_script_and_windows_survive_crash_and_shift(
    deployment_factory: Any,
) -> None:
    deployment = deploy(deployment_factory)
    deployment.produce(script(NOW))
    worker = deployment.worker(clock=f"fixed:{NOW.isoformat()}").start()

    wait_until(lambda: counters(worker.samples()) == EXPECTED_COUNTERS, 60,
               lambda: f"counters {sorted(counters(worker.samples()).items())}")
    wait_until(lambda: windowed(worker.samples()) == expected_windowed(), 60,
               lambda: f"windows {windowed(worker.samples())}")
    # Contact rate today: contacted c1..c5 of seen c1..c6 (c7's order was six days ago).
    wait_until(lambda: total(worker.samples(), "support_contact_rate_ratio") > 0, 30,
               "no contact rate")
    assert total(worker.samples(), "support_contact_rate_ratio") == pytest.approx(5 / 6, abs=0.01)

    status, body = worker.http("/agents")
    assert status == 200
    cards = {c["agent_id"]: c for c in json.loads(body)}
    assert cards["a1"]["replies"] == 2 and cards["a1"]["solved"] == 1
    assert cards["a1"]["median_first_response_seconds"] == 210.0  # T1 300 s, T2 120 s
    assert cards["a1"]["csat_ratio"] == 1.0  # T1 rated 5; T2's rating goes to a2 (last reply)
    assert cards["a2"]["replies"] == 2  # T2's second reply and C1's message
    assert cards["a2"]["median_first_response_seconds"] == 60.0  # C1 accepted after 1 min
    assert cards["a2"]["solved"] == 1 and cards["a2"]["csat_ratio"] == 0.5  # C1: 4, T2: 2

    first_pass = windowed(worker.samples())
    worker.kill()
    restarted = deployment.worker(clock=f"fixed:{NOW.isoformat()}").start()
    wait_until(lambda: windowed(restarted.samples()) == first_pass, 60,
               lambda: f"after restart {windowed(restarted.samples())}")

    # The same script one year earlier, on fresh topics, at a clock one year earlier.
    earlier = NOW.replace(year=NOW.year - 1)
    shifted = deploy(deployment_factory)
    shifted.produce(script(earlier))
    replay = shifted.worker(clock=f"fixed:{earlier.isoformat()}").start()
    wait_until(lambda: windowed(replay.samples()) == first_pass, 60,
               lambda: f"shifted replay {windowed(replay.samples())}")
    assert counters(replay.samples()) == EXPECTED_COUNTERS
