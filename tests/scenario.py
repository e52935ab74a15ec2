"""A scripted, seeded scenario of ticket and chat events, and an independent model of the truth.

The truth model is written from CONTRACT §1/§4 directly, without the domain code, so a test that
compares the worker's metrics to it checks the pipeline against the contract, not against itself.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CHANNELS = ("email", "chat", "phone", "social", "web_form")
PRIORITIES = ("low", "normal", "high", "urgent")
QUEUES = ("orders", "returns", "payments", "general")


def ts(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def scenario(
    seed: int, tickets: int, chats: int, start: datetime, duplicates: int = 20
) -> list[dict[str, Any]]:
    """Events sorted by occurred_at; per conversation they are causally ordered."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    counter = 0

    def add(kind: str, at: datetime, **fields: Any) -> None:
        nonlocal counter
        counter += 1
        events.append({"type": kind, "event_id": f"s{seed}-{counter}", "occurred_at": ts(at),
                       **fields})

    span = timedelta(hours=2)
    for n in range(tickets):
        tid = f"T{seed}-{n}"
        at = start + span * rng.random()
        add("ticket.created", at, ticket_id=tid, channel=rng.choice(CHANNELS),
            priority=rng.choice(PRIORITIES), queue=rng.choice((*QUEUES, "vip")),
            customer_id=f"cust-{rng.randrange(500)}")
        for _ in range(rng.randrange(5)):
            at += timedelta(minutes=rng.randrange(1, 30))
            step = rng.random()
            if step < 0.35:
                add("ticket.replied", at, ticket_id=tid, author="agent",
                    public=rng.random() < 0.85, agent_id=f"a{rng.randrange(20)}")
            elif step < 0.5:
                add("ticket.replied", at, ticket_id=tid, author="customer")
            elif step < 0.7:
                add("ticket.status_changed", at, ticket_id=tid,
                    status=rng.choice(("open", "pending", "on_hold", "solved", "solved", "closed")))
            elif step < 0.8:
                add("ticket.priority_changed", at, ticket_id=tid, priority=rng.choice(PRIORITIES))
            else:
                add("ticket.assigned", at, ticket_id=tid, agent_id=f"a{rng.randrange(20)}")
    for n in range(chats):
        cid = f"C{seed}-{n}"
        at = start + span * rng.random()
        add("chat.requested", at, chat_id=cid, queue=rng.choice((*QUEUES, "vip")))
        fate = rng.random()
        at += timedelta(seconds=rng.randrange(5, 400))
        if fate < 0.25:
            continue  # still waiting
        if fate < 0.4:
            add("chat.abandoned", at, chat_id=cid)
            continue
        if rng.random() < 0.1:
            add("chat.transferred", at, chat_id=cid, queue=rng.choice(QUEUES))
            at += timedelta(seconds=5)
        if rng.random() < 0.3:
            add("chat.message", at, chat_id=cid, author="agent", agent_id="a1")
        else:
            add("chat.accepted", at, chat_id=cid, agent_id=f"a{rng.randrange(20)}")
        if rng.random() < 0.6:
            at += timedelta(seconds=rng.randrange(30, 900))
            add("chat.ended", at, chat_id=cid)
    events.sort(key=lambda e: e["occurred_at"])
    # Producer retries: the same event delivered twice, at a later offset.
    for original in rng.sample(events, min(duplicates, len(events))):
        position = events.index(original)
        events.insert(position + 1, dict(original))
    return events


@dataclass
class Truth:
    tickets_open: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # + queue
    awaiting_first_response: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    chat_waiting: Counter[str] = field(default_factory=Counter)
    chats_active: Counter[str] = field(default_factory=Counter)
    oldest_wait: dict[str, float] = field(default_factory=dict)
    created: Counter[tuple[str, str]] = field(default_factory=Counter)
    solved: Counter[tuple[str, str]] = field(default_factory=Counter)
    requested: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)


def truth(events: list[dict[str, Any]], now: datetime, queues: tuple[str, ...] = QUEUES) -> Truth:
    def label(queue: str) -> str:
        return queue if queue in queues else "other"

    result = Truth()
    seen: set[str] = set()
    tickets: dict[str, dict[str, Any]] = {}
    chats: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["event_id"] in seen:
            continue
        seen.add(e["event_id"])
        kind = e["type"]
        if kind == "ticket.created":
            tickets[e["ticket_id"]] = {"channel": e["channel"], "priority": e["priority"],
                                       "queue": label(e.get("queue") or ""),
                                       "status": "new", "replied": False}
            result.created[(e["channel"], e["priority"])] += 1
        elif kind.startswith("ticket."):
            t = tickets[e["ticket_id"]]
            if kind == "ticket.replied" and e["author"] == "agent" and e.get("public", True):
                t["replied"] = True
            elif kind == "ticket.priority_changed":
                t["priority"] = e["priority"]
            elif kind == "ticket.assigned" and e.get("queue"):
                t["queue"] = label(e["queue"])
            elif kind == "ticket.status_changed":
                was_open = t["status"] not in ("solved", "closed")
                t["status"] = e["status"]
                if was_open and e["status"] in ("solved", "closed"):
                    result.solved[(t["channel"], t["priority"])] += 1
        elif kind == "chat.requested":
            chats[e["chat_id"]] = {"queue": e["queue"], "state": "waiting",
                                   "since": datetime.fromisoformat(e["occurred_at"])}
            result.requested[label(e["queue"])] += 1
        else:
            c = chats[e["chat_id"]]
            if kind == "chat.transferred":
                c["queue"] = e["queue"]
            elif kind in ("chat.accepted", "chat.message") and c["state"] == "waiting":
                c["state"] = "active"
            elif kind == "chat.ended":
                c["state"] = "ended"
            elif kind == "chat.abandoned" and c["state"] == "waiting":
                c["state"] = "abandoned"
                result.missed[label(c["queue"])] += 1
    for t in tickets.values():
        if t["status"] not in ("solved", "closed"):
            result.tickets_open[(t["channel"], t["priority"], t["queue"])] += 1
            if not t["replied"]:
                result.awaiting_first_response[(t["channel"], t["priority"], t["queue"])] += 1
    for c in chats.values():
        q = label(c["queue"])
        if c["state"] == "waiting":
            result.chat_waiting[q] += 1
            age = (now - c["since"]).total_seconds()
            result.oldest_wait[q] = max(result.oldest_wait.get(q, 0.0), age)
        elif c["state"] == "active":
            result.chats_active[q] += 1
    return result
