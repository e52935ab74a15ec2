"""What the unit tests build alike (issue 16 step 4): named instants and a clock fixed at one,
§1 events as dicts and as decoded structs, the shipped SLA policy located one way
(`stream.shipped`), the default queues' label and the effect filters. Plain functions, not
fixtures: hypothesis tests and module-level tables use them too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from stream import shipped
from stream.domain.clock import FixedClock
from stream.domain.effects import AgentStat, Effect
from stream.domain.events import Decoded, Event
from stream.domain.sla import SlaRules

# --- instants and the clock ----------------------------------------------------------------------
PRAGUE = ZoneInfo("Europe/Prague")  # the default business time zone
BLACK_FRIDAY_MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 10:00 in Prague
BLACK_FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLOCK = FixedClock(BLACK_FRIDAY_NOON)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def prague(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PRAGUE)


# --- events as dicts -----------------------------------------------------------------------------
AT = "2026-11-27T11:00:00Z"

# One valid example per CONTRACT §1 type, with only the required fields, and the key field the
# contract prescribes for its Kafka message key.
EXAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "ticket.created": (
        {"ticket_id": "T1", "channel": "email", "priority": "high", "queue": "orders"},
        "ticket_id",
    ),
    "ticket.replied": ({"ticket_id": "T1", "author": "agent"}, "ticket_id"),
    "ticket.status_changed": ({"ticket_id": "T1", "status": "solved"}, "ticket_id"),
    "ticket.assigned": ({"ticket_id": "T1", "agent_id": "A1"}, "ticket_id"),
    "ticket.priority_changed": ({"ticket_id": "T1", "priority": "urgent"}, "ticket_id"),
    "ticket.rated": ({"ticket_id": "T1", "score": 5}, "ticket_id"),
    "ticket.effort_rated": ({"ticket_id": "T1", "score": 1}, "ticket_id"),
    "chat.requested": ({"chat_id": "C1", "queue": "returns"}, "chat_id"),
    "chat.accepted": ({"chat_id": "C1", "agent_id": "A1"}, "chat_id"),
    "chat.message": ({"chat_id": "C1", "author": "customer"}, "chat_id"),
    "chat.transferred": ({"chat_id": "C1", "queue": "payments"}, "chat_id"),
    "chat.ended": ({"chat_id": "C1"}, "chat_id"),
    "chat.abandoned": ({"chat_id": "C1"}, "chat_id"),
    "chat.rated": ({"chat_id": "C1", "score": 3}, "chat_id"),
    "chat.converted": ({"chat_id": "C1", "ticket_id": "T9"}, "chat_id"),
    "agent.status_changed": (
        {"agent_id": "A1", "status": "online", "queues": ["orders", "returns"]},
        "agent_id",
    ),
    "order.placed": (
        {"order_id": "O1", "customer_id": "K1", "amount": "19.90", "currency": "EUR"},
        "customer_id",
    ),
    "campaign.shown": ({"campaign_id": "CMP1"}, "campaign_id"),
    "selfservice.session": ({"session_id": "S1", "resolved": True}, "session_id"),
}

DROP = object()  # an override that removes the field


def event(type_name: str, **override: Any) -> dict[str, Any]:
    """The example of `type_name` at `AT`, with fields overridden (or removed with `DROP`)."""
    fields, _ = EXAMPLES[type_name]
    body = {"type": type_name, "event_id": f"e-{type_name}", "occurred_at": AT, **fields}
    body.update(override)
    return {k: v for k, v in body.items() if v is not DROP}


# --- events as the decoder returns them ----------------------------------------------------------
def struct(cls: type[Event], at: datetime, event_id: str, **fields: Any) -> Event:
    return cls(event_id=event_id, occurred_at=at.isoformat(), **fields)  # type: ignore[call-arg]


def decoded(cls: type[Event], at: datetime, event_id: str, **fields: Any) -> Decoded:
    return Decoded(struct(cls, at, event_id, **fields), at)


# --- the shipped SLA policy ----------------------------------------------------------------------
SHIPPED_POLICY: Path = Path(str(shipped.shipped_file(shipped.POLICY)))


def shipped_rules() -> SlaRules:
    # Fresh on every call: SlaRules remembers deadlines.
    return SlaRules(shipped.shipped_policy())


# --- labels and effects --------------------------------------------------------------------------
QUEUES = frozenset({"orders", "returns", "payments", "general"})


def queue_label(queue: str | None) -> str:
    return queue if queue in QUEUES else "other"


def named(effects: list[Effect], metric: str) -> list[Effect]:
    return [e for e in effects if getattr(e, "metric", None) == metric]


def agent_stats(effects: list[Effect]) -> list[Effect]:
    return [e for e in effects if isinstance(e, AgentStat)]
