"""Zendesk event-subscription webhooks → §1 events: one test per fixture, decode, redelivery."""

from __future__ import annotations

from typing import Any

import pytest

from stream.gateway import zendesk
from stream.gateway.connectors import Connectors, parse_connectors_text
from stream.gateway.translation import Rejection
from tests.unit.gateway.conftest import FIXTURES, assert_decodes, body, dump, payload

TICKET = "zendesk:22129848:5158"
REQUESTER = "zendesk:22129848:8447388090494"
AGENT = "zendesk:22129848:8447388090495"


def eid(event: str, role: str) -> str:
    return f"zendesk:22129848:{event}:{role}"


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "ticket_created": [
        {"event_id": eid("cbe4028c-7239-495d-b020-f22348516046", "created"),
         "type": "ticket.created", "occurred_at": "2025-01-08T10:12:07.672717Z",
         "ticket_id": TICKET, "channel": "web_form", "priority": "high", "queue": "support",
         "customer_id": REQUESTER, "agent_id": REQUESTER},
    ],
    "ticket_status_changed": [
        {"event_id": eid("a8b9c1d2-3e4f-5a6b-7c8d-9e0f1a2b3c4d", "status"),
         "type": "ticket.status_changed", "occurred_at": "2025-01-08T16:45:20.987654Z",
         "ticket_id": TICKET, "status": "solved", "agent_id": REQUESTER},
    ],
    "ticket_priority_changed": [
        {"event_id": eid("b7c8d9e0-1f2a-3b4c-5d6e-7f8a9b0c1d2e", "priority"),
         "type": "ticket.priority_changed", "occurred_at": "2025-01-08T11:30:15.456789Z",
         "ticket_id": TICKET, "priority": "urgent"},
    ],
    "ticket_agent_assignment_changed": [
        {"event_id": eid("c6d7e8f9-0a1b-2c3d-4e5f-6a7b8c9d0e1f", "assign"),
         "type": "ticket.assigned", "occurred_at": "2025-01-08T12:15:45.789012Z",
         "ticket_id": TICKET, "agent_id": "zendesk:22129848:8447388090496"},
    ],
    "ticket_group_assignment_changed": [
        {"event_id": eid("01JH3B2N5F7T3QH1M4W6YB8K0C", "group"), "type": "ticket.assigned",
         "occurred_at": "2025-01-08T12:20:02.118404Z", "ticket_id": TICKET,
         "agent_id": "zendesk:22129848:8447388090496", "queue": "billing"},
    ],
    "ticket_comment_added_public_staff": [
        {"event_id": eid("d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52", "comment"),
         "type": "ticket.replied", "occurred_at": "2025-01-08T14:25:30.123456Z",
         "ticket_id": TICKET, "author": "agent", "public": True, "agent_id": AGENT},
    ],
    "ticket_comment_added_private": [
        {"event_id": eid("d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d53", "comment"),
         "type": "ticket.replied", "occurred_at": "2025-01-08T14:27:02.554433Z",
         "ticket_id": TICKET, "author": "agent", "public": False, "agent_id": AGENT},
    ],
    "ticket_comment_added_end_user": [
        {"event_id": eid("d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d54", "comment"),
         "type": "ticket.replied", "occurred_at": "2025-01-08T15:02:41Z", "ticket_id": TICKET,
         "author": "customer", "public": True},
    ],
    "messaging_ticket_message_added": [
        {"event_id": "zendesk:21825834:01JQMQH83YNAKWSWJ8B1QH2NSC:message",
         "type": "ticket.replied", "occurred_at": "2025-02-11T14:32:05.254571Z",
         "ticket_id": "zendesk:21825834:141", "author": "bot"},
    ],
    # Account 2 has no groups in the connectors file: every configured queue.
    "agent_state_changed": [
        {"event_id": "zendesk:2:01GX79ST1QX01C889XV42S2J5T:state",
         "type": "agent.status_changed", "occurred_at": "2023-05-10T23:31:58.64263Z",
         "agent_id": "zendesk:2:10011", "status": "online",
         "queues": ["web-chat", "email-support", "billing", "support"]},
    ],
    # A capacity without a presence: the worker keeps the agent's presence as it is.
    "agent_max_capacity_changed": [
        {"event_id": "zendesk:2:01GX7A0Q3B8J4K5M6N7P8Q9R0S:capacity",
         "type": "agent.status_changed", "occurred_at": "2023-05-10T23:40:12.118212Z",
         "agent_id": "zendesk:2:10011",
         "queues": ["web-chat", "email-support", "billing", "support"], "max_chats": 3},
    ],
}


def test_every_fixture_has_an_expectation_and_an_origin() -> None:
    names = {path.stem for path in (FIXTURES / "zendesk").glob("*.json")}
    assert names == set(EXPECTED)
    origins = (FIXTURES / "zendesk" / "ORIGINS.md").read_text()
    assert all(f"`{name}.json`" in origins for name in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str, connectors: Connectors) -> None:
    assert zendesk.translate(body("zendesk", name), {}, connectors) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_event_passes_the_workers_decoder(name: str, connectors: Connectors) -> None:
    events = zendesk.translate(body("zendesk", name), {}, connectors)
    assert isinstance(events, list)
    assert_decodes(events)


def test_redelivery_gives_the_same_ids(connectors: Connectors) -> None:
    raw = body("zendesk", "ticket_comment_added_public_staff")
    first = zendesk.translate(raw, {"x-zendesk-webhook-invocation-id": "1"}, connectors)
    retry = zendesk.translate(raw, {"x-zendesk-webhook-invocation-id": "2"}, connectors)
    assert first == retry


@pytest.mark.parametrize(
    ("native", "status"),
    [("HOLD", "on_hold"), ("hold", "on_hold"), ("Open", "open"), ("pending", "pending"),
     ("CLOSED", "closed"), ("DELETED", "closed"), ("New", "new")],
)
def test_statuses_case_insensitive(native: str, status: str, connectors: Connectors) -> None:
    data = payload("zendesk", "ticket_status_changed")
    data["event"]["current"] = native
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list) and events[0]["status"] == status


@pytest.mark.parametrize(
    ("via", "channel"),
    [("email", "email"), ("web", "web_form"), ("api", "web_form"), ("mobile", "web_form"),
     ("chat", "chat"), ("native_messaging", "chat"), ("voice", "phone"), ("twitter", "social"),
     ("facebook", "social"), ("sample_ticket", "web_form")],
)
def test_via_channel(via: str, channel: str, connectors: Connectors) -> None:
    data = payload("zendesk", "ticket_created")
    data["detail"]["via"]["channel"] = via
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list) and events[0]["channel"] == channel


def test_created_solved_priority_null_and_brand_queue(connectors: Connectors) -> None:
    data = payload("zendesk", "ticket_created")
    data["detail"].update({"status": "SOLVED", "priority": None, "group_id": None})
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    assert [(e["type"], e.get("queue"), e.get("priority"), e.get("status")) for e in events] == [
        ("ticket.created", "shop-eu", "normal", None),
        ("ticket.status_changed", None, None, "solved"),
    ]


def test_unknown_values(connectors: Connectors) -> None:
    data = payload("zendesk", "ticket_priority_changed")
    data["event"]["current"] = "SEVERE"
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list) and events[0]["priority"] == "normal"
    status = payload("zendesk", "ticket_status_changed")
    status["event"]["current"] = "EXPLODED"
    result = zendesk.translate(dump(status), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unmapped_status"


def test_unassigned_and_ignored_types(connectors: Connectors) -> None:
    data = payload("zendesk", "ticket_agent_assignment_changed")
    data["event"]["current"] = None
    assert zendesk.translate(dump(data), {}, connectors) == []
    data["type"] = "zen:event-type:ticket.tags_changed"
    assert zendesk.translate(dump(data), {}, connectors) == []
    data["type"] = "ticket.created"  # not an event-subscription body
    result = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unsupported_event"


def test_agent_presence_per_account_queues_capacity_and_channels() -> None:
    connectors = parse_connectors_text(
        "zendesk:\n  accounts:\n    '2':\n      groups: {5: billing, 6: support}\n"
        "      max_chats: 4\n      presence_channels: [messaging]\n"
    )
    data = payload("zendesk", "agent_state_changed")
    assert zendesk.translate(dump(data), {}, connectors) == []  # the `support` channel
    data["event"].update({"channel": "messaging", "new_state": "AWAY"})
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    assert (events[0]["status"], events[0]["queues"], events[0]["max_chats"]) == (
        "away", ["billing", "support"], 4
    )
    data["event"]["new_state"] = "busy"
    result = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unmapped_status"


def test_messaging_actor_types(connectors: Connectors) -> None:
    data = payload("zendesk", "messaging_ticket_message_added")
    data["event"]["actor"] = {"id": "8447388090495", "name": "Agent", "type": "agent"}
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    agent = "zendesk:21825834:8447388090495"
    assert (events[0]["author"], events[0]["agent_id"]) == ("agent", agent)
    data["event"]["actor"]["type"] = "end_user"
    events = zendesk.translate(dump(data), {}, connectors)
    assert isinstance(events, list) and events[0]["author"] == "customer"
