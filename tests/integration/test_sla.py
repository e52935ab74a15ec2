"""The SLA engine end to end, at a fixed clock, against hand-computed expectations.

Every conversation below is built so that its state at NOW is known by plain arithmetic on a
24x7 policy (no business hours), including a pause and a priority change that re-chooses the
policy. After a SIGKILL and restart no `support.sla` event may be emitted twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.fixtures import Deployment, by_labels, total, wait_until

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
POLICY = """
policies:
  - name: chat
    match: {channel: [chat]}
    targets: {first_response: 2m}
    warn_before: 50%
  - name: urgent
    match: {priority: [urgent]}
    targets: {first_response: 15m, resolution: 4h}
    warn_before: 25%
  - name: default
    match: {}
    targets: {first_response: 1h, next_response: 30m, resolution: 24h}
    warn_before: 10m
"""


def at(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


class Script:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, when: str, **fields: Any) -> None:
        self.events.append({"type": kind, "event_id": f"e{len(self.events)}",
                            "occurred_at": when, **fields})

    def ticket(self, tid: str, when: str, priority: str = "normal",
               channel: str = "email") -> None:
        self.add("ticket.created", when, ticket_id=tid, channel=channel, priority=priority,
                 queue="orders")

    def reply(self, tid: str, when: str, author: str = "agent") -> None:
        self.add("ticket.replied", when, ticket_id=tid, author=author, agent_id="a1")


def build() -> list[dict[str, Any]]:
    s = Script()
    s.ticket("A", at(hours=3))                                  # FR breached 2h ago
    s.ticket("B", at(minutes=55))                               # FR due in 5m: at risk
    s.ticket("C", at(hours=2))    # FR met in time
    s.reply("C", at(minutes=90))
    s.ticket("D", at(hours=2))    # FR met late: breached + met
    s.reply("D", at(minutes=30))
    s.ticket("E", at(minutes=230), "urgent")                    # urgent: RES due in 10m
    s.reply("E", at(minutes=225))
    s.ticket("F", at(hours=5), "urgent", "web_form")            # paused 2.5h: RES due in 1.5h
    s.reply("F", at(minutes=295))
    s.add("ticket.status_changed", at(hours=4), ticket_id="F", status="pending")
    s.add("ticket.status_changed", at(minutes=90), ticket_id="F", status="open")
    s.ticket("G", at(minutes=20))                               # urgent now: FR due 5m ago
    s.add("ticket.priority_changed", at(minutes=18), ticket_id="G", priority="urgent")
    s.ticket("H", at(hours=2))   # solved: FR and RES met
    s.reply("H", at(minutes=110))
    s.add("ticket.status_changed", at(hours=1), ticket_id="H", status="solved")
    s.ticket("I", at(hours=2))   # NR breached 10m ago
    s.reply("I", at(minutes=115))
    s.reply("I", at(minutes=40), author="customer")
    for cid, minutes in (("J", 0.5), ("K", 1.5), ("L", 10)):    # waiting chats
        s.add("chat.requested", at(minutes=minutes), chat_id=cid, queue="orders")
    s.add("chat.requested", at(minutes=10), chat_id="M", queue="orders")
    s.add("chat.accepted", at(minutes=9), chat_id="M", agent_id="a2")
    s.add("chat.requested", at(minutes=20), chat_id="N", queue="orders")
    s.add("chat.abandoned", at(minutes=19), chat_id="N")
    return s.events


EXPECTED_EVENTS = Counter({
    ("A", "first_response", "sla.breached"): 1,
    ("B", "first_response", "sla.at_risk"): 1,
    ("C", "first_response", "sla.met"): 1,
    ("D", "first_response", "sla.breached"): 1,
    ("D", "first_response", "sla.met"): 1,
    ("E", "first_response", "sla.met"): 1,
    ("E", "resolution", "sla.at_risk"): 1,
    ("F", "first_response", "sla.met"): 1,
    ("G", "first_response", "sla.breached"): 1,
    ("H", "first_response", "sla.met"): 1,
    ("H", "resolution", "sla.met"): 1,
    ("I", "first_response", "sla.met"): 1,
    ("I", "next_response", "sla.breached"): 1,
    ("K", "first_response", "sla.at_risk"): 1,
    ("L", "first_response", "sla.breached"): 1,
    ("M", "first_response", "sla.met"): 1,
})

# (conversation, target) → (status, deadline offset from NOW)
EXPECTED_AT_RISK = [
    ("A", "first_response", "breached", -timedelta(hours=2)),
    ("I", "next_response", "breached", -timedelta(minutes=10)),
    ("L", "first_response", "breached", -timedelta(minutes=8)),
    ("G", "first_response", "breached", -timedelta(minutes=5)),
    ("K", "first_response", "at_risk", timedelta(seconds=30)),
    ("B", "first_response", "at_risk", timedelta(minutes=5)),
    ("E", "resolution", "at_risk", timedelta(minutes=10)),
]


def gauges(samples: Any, name: str) -> dict[tuple[str, ...], float]:
    """Non-zero values by their label values, the queue left out (summed over queues)."""
    out: dict[tuple[str, ...], float] = {}
    for labels, value in by_labels(samples, name).items():
        if value:
            key = tuple(v for k, v in labels if k != "queue")
            out[key] = out.get(key, 0) + value
    return out


def queues_of(samples: Any, name: str) -> set[str]:
    return {dict(labels)["queue"] for labels, value in by_labels(samples, name).items() if value}


def sla_events(deployment: Deployment) -> Counter[tuple[str, str, str]]:
    records = deployment.consume(deployment.settings().topic_sla, idle_ms=1000)
    found: Counter[tuple[str, str, str]] = Counter()
    for record in records:
        event = json.loads(record.value)
        conversation = event.get("ticket_id") or event.get("chat_id")
        found[(conversation, event["target"], event["type"])] += 1
    return found


def test_sla_gauges_events_and_drilldown_at_fixed_clock(
    deployment_factory: Any, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    deployment: Deployment = deployment_factory(SUPPORTPULSE_SLA_POLICY_FILE=str(policy))
    deployment.produce(build())
    fixed = f"fixed:{NOW.isoformat()}"
    worker = deployment.worker(clock=fixed).start()

    wait_until(lambda: sla_events(deployment) == EXPECTED_EVENTS, 60,
               lambda: f"SLA events {sorted(sla_events(deployment).items())}")
    samples = worker.samples()
    # (channel, priority, target) labels, sorted by label name.
    assert gauges(samples, "support_sla_at_risk") == {
        ("email", "normal", "first_response"): 1,   # B
        ("email", "urgent", "resolution"): 1,       # E
        ("chat", "normal", "first_response"): 1,    # K
    }
    assert gauges(samples, "support_sla_breached_open") == {
        ("email", "normal", "first_response"): 1,   # A
        ("email", "urgent", "first_response"): 1,   # G (re-chosen policy)
        ("email", "normal", "next_response"): 1,    # I
        ("chat", "normal", "first_response"): 1,    # L
    }
    assert gauges(samples, "support_tickets_awaiting_first_response") == {
        ("email", "normal"): 2,                     # A, B
        ("email", "urgent"): 1,                     # G
    }
    # Every conversation of the script is in queue orders (the gauges' queue label).
    for name in ("support_sla_at_risk", "support_sla_breached_open", "support_tickets_open"):
        assert queues_of(samples, name) == {"orders"}, name
    assert total(samples, "support_sla_breaches_total") == 5  # A, D, G, I, L
    # Met before the deadline: C, E, F, H (first response and resolution), I, M; D was late.
    assert total(samples, "support_sla_met_total") == 7

    status, body = worker.http("/sla/at-risk?limit=50")
    assert status == 200
    items = json.loads(body)
    assert [(i["conversation_id"], i["target"], i["status"]) for i in items] == [
        (c, t, s) for c, t, s, _ in EXPECTED_AT_RISK
    ]
    for item, (_, _, _, offset) in zip(items, EXPECTED_AT_RISK, strict=True):
        assert datetime.fromisoformat(item["deadline"]) == NOW + offset
        assert item["seconds_left"] == offset.total_seconds()
        assert item["queue"] == "orders"
    assert worker.http("/sla/at-risk?limit=2")[1] and len(
        json.loads(worker.http("/sla/at-risk?limit=2")[1])) == 2
    assert worker.http("/sla/at-risk?limit=zero")[0] == 400
    # The on-call drill-down from the command line reads the same list.
    cli = subprocess.run(
        [sys.executable, "-m", "stream.cli", "at-risk", "--json", "--limit", "3",
         "--url", worker.url],
        capture_output=True, text=True, timeout=60, env={**os.environ, **deployment.env()},
    )
    assert cli.returncode == 0, cli.stderr
    assert [i["conversation_id"] for i in json.loads(cli.stdout)] == ["A", "I", "L"]

    # A hard crash and a restart: state and Redis markers say everything was sent already.
    worker.kill()
    restarted = deployment.worker(clock=fixed).start()
    time.sleep(4)  # several sweep ticks
    assert sla_events(deployment) == EXPECTED_EVENTS
    # Nothing is counted again by the new process: breaches and met once per target and cycle.
    after = restarted.samples()
    assert total(after, "support_sla_met_total") == total(after, "support_sla_breaches_total") == 0
    assert gauges(restarted.samples(), "support_sla_at_risk") == gauges(samples,
                                                                        "support_sla_at_risk")
    # The drill-down list is rebuilt from the recovered tables.
    assert json.loads(restarted.http("/sla/at-risk?limit=50")[1]) == items

