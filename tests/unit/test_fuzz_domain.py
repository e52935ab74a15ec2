"""Whatever `decode` accepts, the domain must digest: fuzzing decode → PartitionState (hypothesis).

Sequences of events of one stream (random types, a few conversation ids, random field values and
timestamps, re-sent duplicates) go through `decode` and, when accepted, through the partition
core with the shipped SLA policy, the SLA sweep (`pop_due`/`evaluate`) and, for commerce, the
contacts join. Nothing may raise (an exception there kills the worker's agent for that topic) and
no gauge may go negative.

Both for timestamps in a realistic range (the last 40 days to 6 days ahead) and over the whole
range anyone can send (years 1 to 9999). Found and fixed (commit 7ae6c00): `decode` accepted
year-1 timestamps, and the domain overflowed on them (stream/domain/calendar.py
`_check_reachable`, Commerce `_prune` and `contact`), killing the agent of the topic; `decode`
now rejects times outside 2000–2100.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.domain.commerce import Commerce, ContactRecord
from stream.domain.conversations import Chats, Tickets
from stream.domain.events import Decoded, decode
from stream.domain.partition import PartitionState
from stream.domain.presence import Presence
from tests.hostile import VALID, valid_event
from tests.unit.conftest import BLACK_FRIDAY_NOON as NOW
from tests.unit.conftest import CLOCK, shipped_rules
from tests.unit.conftest import queue_label as label

RULES = shipped_rules()

def kind_for(stream: str) -> Any:
    return {
        "tickets": lambda: Tickets(RULES, label),
        "chats": lambda: Chats(label, RULES),
        "agents": lambda: Presence(label),
        "commerce": lambda: Commerce(timedelta(days=5), label),
    }[stream]()


TYPES_OF = {s: [t for t in VALID if t.startswith(p)] for s, p in (
    ("tickets", "ticket."), ("chats", "chat."), ("agents", "agent."))}
TYPES_OF["commerce"] = ["order.placed", "campaign.shown", "selfservice.session"]
VARIANTS: dict[str, list[Any]] = {
    "channel": ["email", "chat", "phone", "social", "web_form"],
    "priority": ["low", "normal", "high", "urgent"],
    "status": ["new", "open", "pending", "on_hold", "solved", "closed"],
    "author": ["agent", "customer", "bot"],
    "queue": ["orders", "returns", "vip", "payments"],
    "score": [1, 3, 5],
    "request_type": ["order_status", "refund", None],
    "resolved_by": ["agent", "bot", "self_service"],
    "public": [True, False],
}
ID_FIELDS = ("ticket_id", "chat_id", "agent_id", "customer_id", "session_id", "campaign_id",
             "order_id")


def timestamps(realistic: bool) -> st.SearchStrategy[datetime]:
    if realistic:
        return st.datetimes(NOW.replace(tzinfo=None) - timedelta(days=40),
                            NOW.replace(tzinfo=None) + timedelta(days=6)).map(
            lambda d: d.replace(tzinfo=UTC))
    return st.one_of(
        st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)).map(
            lambda d: d.replace(tzinfo=UTC)),
        st.sampled_from([datetime(1, 1, 1, tzinfo=UTC), NOW + timedelta(days=6, hours=23)]),
    )


@st.composite
def event_batches(draw: st.DrawFn, stream: str, realistic: bool) -> list[dict[str, Any]]:
    events = []
    for n in range(draw(st.integers(1, 25))):
        type_name = draw(st.sampled_from(TYPES_OF[stream]))
        body: dict[str, Any] = {"type": type_name, "event_id": f"e{n}",
                                "occurred_at": draw(timestamps(realistic)).isoformat(),
                                **VALID[type_name]}
        for field in list(body):
            if field in ID_FIELDS:
                body[field] = f"{field[0]}{draw(st.integers(0, 2))}"
            elif field in VARIANTS:
                body[field] = draw(st.sampled_from(VARIANTS[field]))
        for field in ("priority", "request_type", "public", "resolved_by"):
            if draw(st.booleans()) and field not in body:
                body[field] = draw(st.sampled_from(VARIANTS[field]))
        if type_name.startswith("ticket.") and draw(st.booleans()):
            body["customer_id"] = f"k{draw(st.integers(0, 2))}"
        events.append(body)
        if draw(st.integers(0, 9)) == 0:
            events.append(dict(body))  # a re-sent duplicate
    return events


def run(stream: str, events: list[dict[str, Any]]) -> None:
    kind = kind_for(stream)
    part: PartitionState[Any] = PartitionState(0, kind, timedelta(days=3))
    for offset, body in enumerate(events):
        decoded = decode(json.dumps(body).encode(), CLOCK.now, stream=stream)
        if not isinstance(decoded, Decoded):
            continue
        key = next(body[f] for f in ID_FIELDS if f in body and f != "order_id")
        if body["type"] == "order.placed":
            key = body["customer_id"]
        part.apply(key, offset, decoded)
        if stream == "commerce":
            record = ContactRecord(key, f"conv-{offset}", decoded.occurred_at)
            part.update(key, lambda old, r=record: kind.contact(old, r))
        for due in part.pop_due(NOW):
            part.evaluate(due, NOW)
        assert all(v >= 0 for v in part.gauges.values()), part.gauges
        assert all(v > 0 for v in part.rollup_counts.values()), part.rollup_counts
    incremental = ({k: v for k, v in part.gauges.items() if v}, dict(part.rollup_counts))
    part.drain()
    part.rebuild()
    assert ({k: v for k, v in part.gauges.items() if v}, dict(part.rollup_counts)) == incremental


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.sampled_from(["tickets", "chats", "agents", "commerce"]), st.data())
def test_accepted_events_in_a_realistic_time_range_never_break_the_domain(
    stream: str, data: st.DataObject
) -> None:
    run(stream, data.draw(event_batches(stream, realistic=True)))


YEAR_ONE = datetime(1, 1, 1, 12, 0, tzinfo=UTC)


@FUZZ
@given(st.sampled_from(["tickets", "chats", "agents", "commerce"]), st.data())
def test_accepted_events_at_any_time_never_break_the_domain(
    stream: str, data: st.DataObject
) -> None:
    run(stream, data.draw(event_batches(stream, realistic=False)))


@pytest.mark.parametrize(("stream", "type_name"), [
    ("tickets", "ticket.created"), ("commerce", "order.placed"), ("commerce", "campaign.shown"),
])
def test_an_event_in_year_one_does_not_break_the_domain(stream: str, type_name: str) -> None:
    # The three crash sites found (calendar, Commerce._prune, Commerce.contact via the contact
    # that `run` adds for every commerce event).
    run(stream, [valid_event(type_name, event_id="y1", occurred_at=YEAR_ONE.isoformat())])
