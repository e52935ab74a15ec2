"""Zammad trigger webhooks → §1 events: one test per fixture, decode, redelivery, naming."""

from __future__ import annotations

from typing import Any

import pytest

from stream.gateway import zammad
from stream.gateway.connectors import Connectors, parse_connectors_text
from stream.gateway.translation import Rejection
from tests.unit.gateway.conftest import FIXTURES, assert_decodes, body, dump, payload

TICKET = "zammad:acme:81"
EMMA = "zammad:acme:5"
TRIGGERS = {
    "ticket_created": "Support Pulse: ticket created",
    "ticket_updated_state": "Support Pulse: state changed",
    "article_internal": "Support Pulse: article added",
    "article_public": "Support Pulse: article added",
    "ticket_updated_closed": "Support Pulse: ticket updated",
}
CLOSED_AT = "2020-11-13T16:20:00.53Z"
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "ticket_created": [
        {"event_id": "zammad:acme:81:created", "type": "ticket.created",
         "occurred_at": "2020-11-13T14:34:35.282Z", "ticket_id": TICKET, "channel": "phone",
         "priority": "normal", "queue": "support", "customer_id": "zammad:acme:8",
         "agent_id": EMMA},
        {"event_id": "zammad:acme:article:104", "type": "ticket.replied",
         "occurred_at": "2020-11-13T14:34:35.318Z", "ticket_id": TICKET, "author": "customer",
         "public": True},
    ],
    "ticket_updated_state": [
        {"event_id": "zammad:acme:81:state:pending:2020-11-13T15:10:02.417Z",
         "type": "ticket.status_changed", "occurred_at": "2020-11-13T15:10:02.417Z",
         "ticket_id": TICKET, "status": "pending"},
    ],
    "article_internal": [
        {"event_id": "zammad:acme:article:105", "type": "ticket.replied",
         "occurred_at": "2020-11-13T14:52:10.871Z", "ticket_id": TICKET, "author": "agent",
         "public": False, "agent_id": EMMA},
    ],
    "article_public": [
        {"event_id": "zammad:acme:article:106", "type": "ticket.replied",
         "occurred_at": "2020-11-13T15:01:44.102Z", "ticket_id": TICKET, "author": "agent",
         "public": True, "agent_id": EMMA},
    ],
    # No fact word in the trigger name: the current state of the ticket. Zammad `closed`
    # reopens on a customer reply: §1 `solved`.
    "ticket_updated_closed": [
        {"event_id": f"zammad:acme:81:state:solved:{CLOSED_AT}", "type": "ticket.status_changed",
         "occurred_at": CLOSED_AT, "ticket_id": TICKET, "status": "solved"},
        {"event_id": f"zammad:acme:81:priority:high:{CLOSED_AT}",
         "type": "ticket.priority_changed", "occurred_at": CLOSED_AT, "ticket_id": TICKET,
         "priority": "high"},
        {"event_id": f"zammad:acme:81:owner:5:{CLOSED_AT}", "type": "ticket.assigned",
         "occurred_at": CLOSED_AT, "ticket_id": TICKET, "agent_id": EMMA, "queue": "support"},
    ],
}


def translate(name: str, connectors: Connectors, trigger: str | None = None) -> Any:
    headers = {"X-Zammad-Trigger": trigger or TRIGGERS[name], "X-Zammad-Delivery": "j-1"}
    return zammad.translate(body("zammad", name), headers, connectors)


def test_every_fixture_has_an_expectation_and_an_origin() -> None:
    names = {path.stem for path in (FIXTURES / "zammad").glob("*.json")}
    assert names == set(EXPECTED) == set(TRIGGERS)
    origins = (FIXTURES / "zammad" / "ORIGINS.md").read_text()
    assert all(f"`{name}.json`" in origins and TRIGGERS[name] in origins for name in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str, connectors: Connectors) -> None:
    assert translate(name, connectors) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_event_passes_the_workers_decoder(name: str, connectors: Connectors) -> None:
    events = translate(name, connectors)
    assert isinstance(events, list)
    assert_decodes(events)


def test_retry_and_a_second_trigger_give_the_same_ids(connectors: Connectors) -> None:
    raw = body("zammad", "ticket_updated_state")
    delivery = {"X-Zammad-Trigger": "state", "X-Zammad-Delivery": "a"}
    first = zammad.translate(raw, delivery, connectors)
    lower = {name.lower(): value for name, value in delivery.items()}
    retry = zammad.translate(raw, lower, connectors)
    snapshot = zammad.translate(raw, {"X-Zammad-Trigger": "any update"}, connectors)
    assert first == retry
    assert isinstance(first, list) and isinstance(snapshot, list)
    assert first[0] in snapshot


@pytest.mark.parametrize(
    ("state", "status"),
    [("new", "new"), ("open", "open"), ("pending reminder", "pending"),
     ("pending close", "pending"), ("closed", "solved"), ("merged", "closed"),
     ("removed", "closed"), ("Open", "open")],
)
def test_states(state: str, status: str, connectors: Connectors) -> None:
    data = payload("zammad", "ticket_updated_state")
    data["ticket"]["state"] = state
    events = zammad.translate(dump(data), {"X-Zammad-Trigger": "state"}, connectors)
    assert isinstance(events, list) and events[0]["status"] == status


def test_state_and_priority_overrides_and_unknowns() -> None:
    connectors = parse_connectors_text(
        "zammad:\n  statuses: {waiting for customer: on_hold}\n"
        "  priorities: {'4 very high': urgent}\n"
    )
    data = payload("zammad", "ticket_updated_state")
    data["ticket"]["state"] = "Waiting for customer"
    data["ticket"]["priority"]["name"] = "4 very high"
    events = zammad.translate(dump(data), {"X-Zammad-Trigger": "state+priority"}, connectors)
    assert isinstance(events, list)
    assert [(e["type"], e.get("status"), e.get("priority")) for e in events] == [
        ("ticket.status_changed", "on_hold", None), ("ticket.priority_changed", None, "urgent")
    ]
    assert all(e["ticket_id"] == "zammad:default:81" for e in events)  # default instance
    data["ticket"]["priority"]["name"] = "5 apocalyptic"
    data["ticket"]["state"] = "archived"
    events = zammad.translate(dump(data), {"X-Zammad-Trigger": "priority"}, connectors)
    assert isinstance(events, list) and events[0]["priority"] == "normal"
    result = zammad.translate(dump(data), {"X-Zammad-Trigger": "state"}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unmapped_status"


def test_payload_decides_when_the_name_says_nothing(connectors: Connectors) -> None:
    # Updated 51 ms after creation: a creation (the snapshot facts are part of it).
    assert zammad.translate(body("zammad", "ticket_created"), {}, connectors) == EXPECTED[
        "ticket_created"
    ]
    # Later updates without a fact word: the current state, no creation.
    events = zammad.translate(body("zammad", "article_public"), {}, connectors)
    assert isinstance(events, list)
    assert [e["type"] for e in events] == [
        "ticket.status_changed", "ticket.priority_changed", "ticket.assigned", "ticket.replied"
    ]


def test_unassigned_owner_and_bad_bodies(connectors: Connectors) -> None:
    data = payload("zammad", "ticket_updated_closed")
    data["ticket"]["owner_id"] = 1  # Zammad's "-" system user
    events = zammad.translate(dump(data), {"X-Zammad-Trigger": "owner"}, connectors)
    assert events == []
    for raw, reason in ((b"{", "not_json"), (b'{"article": {}}', "missing_field")):
        result = zammad.translate(raw, {}, connectors)
        assert isinstance(result, Rejection) and result.reason == reason
