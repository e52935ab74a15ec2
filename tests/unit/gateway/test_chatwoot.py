"""Chatwoot webhooks → §1 events: one test per fixture (exact events), decode, redelivery."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stream.gateway import chatwoot
from stream.gateway.connectors import Connectors, parse_connectors_text
from stream.gateway.translation import Rejection
from tests.unit.gateway.conftest import FIXTURES, assert_decodes, body, dump, payload

CHAT = "chatwoot:1:10"
TICKET = "chatwoot:1:11"
JANE = "chatwoot:1:contact:12"
JOHN = "chatwoot:1:1"

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "conversation_created": [
        {"event_id": "chatwoot:1:10:created:request", "type": "chat.requested",
         "occurred_at": "2021-07-23T18:01:48Z", "chat_id": CHAT, "queue": "web-chat",
         "priority": "normal", "customer_id": JANE},
    ],
    "conversation_created_email": [
        {"event_id": "chatwoot:1:11:created", "type": "ticket.created",
         "occurred_at": "2021-07-23T18:01:48Z", "ticket_id": TICKET, "channel": "email",
         "priority": "normal", "queue": "email-support", "customer_id": JANE},
    ],
    # With the bot (`pending`): not waiting for an agent yet, nothing to count.
    "conversation_created_bot_pending": [],
    # The docs sample: open, a bot hand-off or reopen; time from `timestamp` (no updated_at).
    "conversation_status_changed": [
        {"event_id": "chatwoot:1:10:status:open:2021-07-23T18:02:49Z:request",
         "type": "chat.requested", "occurred_at": "2021-07-23T18:02:49Z", "chat_id": CHAT,
         "queue": "web-chat", "priority": "normal", "customer_id": JANE},
    ],
    "conversation_status_changed_resolved": [
        {"event_id": "chatwoot:1:10:status:solved:2021-07-23T18:06:40.5Z:end",
         "type": "chat.ended", "occurred_at": "2021-07-23T18:06:40.5Z", "chat_id": CHAT},
    ],
    "conversation_status_changed_reopened": [
        {"event_id": "chatwoot:1:10:status:open:2021-07-23T19:53:20.75Z:request",
         "type": "chat.requested", "occurred_at": "2021-07-23T19:53:20.75Z", "chat_id": CHAT,
         "queue": "web-chat", "priority": "normal", "customer_id": JANE},
    ],
    "conversation_updated_assignee": [
        {"event_id": "chatwoot:1:10:assign:1:2021-07-23T18:03:40.25Z", "type": "chat.accepted",
         "occurred_at": "2021-07-23T18:03:40.25Z", "chat_id": CHAT, "agent_id": JOHN},
    ],
    "conversation_updated_assignee_transfer": [
        {"event_id": "chatwoot:1:10:assign:2:2021-07-23T18:05:00.5Z",
         "type": "chat.transferred", "occurred_at": "2021-07-23T18:05:00.5Z", "chat_id": CHAT,
         "agent_id": "chatwoot:1:2"},
    ],
    "conversation_updated_priority": [
        {"event_id": "chatwoot:1:11:priority:high:2021-07-23T18:13:20.125Z",
         "type": "ticket.priority_changed", "occurred_at": "2021-07-23T18:13:20.125Z",
         "ticket_id": TICKET, "priority": "high"},
    ],
    "conversation_updated_team": [
        {"event_id": "chatwoot:1:10:team:2:2021-07-23T18:04:10Z", "type": "chat.transferred",
         "occurred_at": "2021-07-23T18:04:10Z", "chat_id": CHAT, "queue": "billing"},
    ],
    "message_created_incoming": [
        {"event_id": "chatwoot:1:message:118", "type": "chat.message",
         "occurred_at": "2021-07-23T18:02:48Z", "chat_id": CHAT, "author": "customer"},
    ],
    "message_created_outgoing_agent": [
        {"event_id": "chatwoot:1:message:130", "type": "ticket.replied",
         "occurred_at": "2021-07-23T18:05:12.431Z", "ticket_id": TICKET, "author": "agent",
         "public": True, "agent_id": JOHN},
    ],
    "message_created_private_note": [
        {"event_id": "chatwoot:1:message:131", "type": "ticket.replied",
         "occurred_at": "2021-07-23T18:06:00.01Z", "ticket_id": TICKET, "author": "agent",
         "public": False, "agent_id": JOHN},
    ],
    "message_created_bot": [
        {"event_id": "chatwoot:1:message:132", "type": "chat.message",
         "occurred_at": "2021-07-23T18:01:50Z", "chat_id": CHAT, "author": "bot"},
    ],
    "message_updated_csat": [
        {"event_id": "chatwoot:1:csat:133:5", "type": "chat.rated",
         "occurred_at": "2021-07-23T18:10:00Z", "chat_id": CHAT, "score": 5},
    ],
    "message_updated_edit": [],  # an edit without a CSAT answer: nothing for the monitor
}


def test_every_fixture_has_an_expectation_and_an_origin() -> None:
    names = {path.stem for path in (FIXTURES / "chatwoot").glob("*.json")}
    assert names == set(EXPECTED)
    origins = (FIXTURES / "chatwoot" / "ORIGINS.md").read_text()
    assert all(f"`{name}.json`" in origins for name in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str, connectors: Connectors) -> None:
    events = chatwoot.translate(body("chatwoot", name), {}, connectors)
    assert events == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_event_passes_the_workers_decoder(name: str, connectors: Connectors) -> None:
    events = chatwoot.translate(body("chatwoot", name), {}, connectors)
    assert isinstance(events, list)
    assert_decodes(events)


def test_redelivery_and_a_second_sink_give_the_same_ids(connectors: Connectors) -> None:
    raw = body("chatwoot", "message_created_outgoing_agent")
    account = {"X-Chatwoot-Delivery": "6f1c0c52-0d6b-4f57-8d8e-2f0c9c1f0b11"}
    api_inbox = {"X-Chatwoot-Delivery": "0b9a7d3e-4b65-4a8b-bf5e-7f2c1d0e9a22"}
    first = chatwoot.translate(raw, account, connectors)
    again = chatwoot.translate(raw, account, connectors)
    other_sink = chatwoot.translate(raw, api_inbox, connectors)
    assert first == again == other_sink
    # Re-serialised by another sink (other key order, spacing): still the same fact.
    items = list(payload("chatwoot", "message_created_outgoing_agent").items())
    reordered = dump(dict(reversed(items)))
    assert chatwoot.translate(reordered, api_inbox, connectors) == first


def test_status_in_conversation_updated_has_the_status_changed_events_id(
    connectors: Connectors,
) -> None:
    data = payload("chatwoot", "conversation_status_changed_resolved")
    data["event"] = "conversation_updated"
    data["status"] = "resolved"
    change = {"previous_value": "open", "current_value": "resolved"}
    data["changed_attributes"] = [{"status": change}]
    assert chatwoot.translate(dump(data), {}, connectors) == EXPECTED[
        "conversation_status_changed_resolved"
    ]


def test_a_reopened_chat_is_a_new_request(connectors: Connectors) -> None:
    first = chatwoot.translate(body("chatwoot", "conversation_status_changed"), {}, connectors)
    reopened = body("chatwoot", "conversation_status_changed_reopened")
    again = chatwoot.translate(reopened, {}, connectors)
    assert isinstance(first, list) and isinstance(again, list)
    assert first[0]["type"] == again[0]["type"] == "chat.requested"
    assert first[0]["event_id"] != again[0]["event_id"]


def test_a_private_note_in_a_chat_is_not_a_chat_message(connectors: Connectors) -> None:
    data = payload("chatwoot", "message_created_private_note")
    data["conversation"] = payload("chatwoot", "conversation_created")
    assert chatwoot.translate(dump(data), {}, connectors) == []


def test_ticket_status_assignment_and_team(connectors: Connectors) -> None:
    data = payload("chatwoot", "conversation_updated_priority")
    data["meta"]["assignee"] = {"id": 1, "name": "John", "type": "user"}
    data["meta"]["team"] = {"id": 2, "name": "billing"}
    data["status"] = "snoozed"
    data["changed_attributes"] = [
        {"status": {"previous_value": "open", "current_value": "snoozed"}},
        {"team_id": {"previous_value": None, "current_value": 2}},
    ]
    at = "2021-07-23T18:13:20.125Z"
    assert chatwoot.translate(dump(data), {}, connectors) == [
        {"event_id": f"chatwoot:1:11:status:pending:{at}", "type": "ticket.status_changed",
         "occurred_at": at, "ticket_id": TICKET, "status": "pending"},
        {"event_id": f"chatwoot:1:11:team:2:{at}", "type": "ticket.assigned", "occurred_at": at,
         "ticket_id": TICKET, "agent_id": JOHN, "queue": "billing"},
    ]
    data["changed_attributes"] = [{"assignee_id": {"previous_value": None, "current_value": 1}}]
    assert chatwoot.translate(dump(data), {}, connectors) == [
        {"event_id": f"chatwoot:1:11:assign:1:{at}", "type": "ticket.assigned",
         "occurred_at": at, "ticket_id": TICKET, "agent_id": JOHN, "queue": "billing"},
    ]


@pytest.mark.parametrize(
    ("inbox_class", "channel"),
    [("Channel::Api", "web_form"), ("Channel::Whatsapp", "social"),
     ("Channel::FacebookPage", "social"), ("Channel::Email", "email")],
)
def test_inbox_channel_mapping(inbox_class: str, channel: str, connectors: Connectors) -> None:
    data = payload("chatwoot", "conversation_created_email")
    data["channel"] = inbox_class
    events = chatwoot.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    assert events[0]["channel"] == channel


def test_connectors_override_kind_channel_priority_and_status() -> None:
    connectors = parse_connectors_text(
        "chatwoot:\n  accounts:\n    '*':\n      inboxes:\n"
        "        2: {queue: vip, kind: chat}\n"
        "      priorities: {medium: high}\n      statuses: {pending: open}\n"
    )
    data = payload("chatwoot", "conversation_created_email")
    data["priority"] = "medium"
    data["status"] = "pending"
    events = chatwoot.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    assert [(e["type"], e["queue"], e["priority"]) for e in events] == [
        ("chat.requested", "vip", "high")
    ]


def test_unknown_priority_is_normal_and_unmapped_values_are_rejected(
    connectors: Connectors,
) -> None:
    data = payload("chatwoot", "conversation_created_email")
    data["priority"] = "critical"
    events = chatwoot.translate(dump(data), {}, connectors)
    assert isinstance(events, list) and events[0]["priority"] == "normal"
    data["channel"] = "Channel::Carrier"
    assert chatwoot.translate(dump(data), {}, connectors) == Rejection(
        "unmapped_channel", "inbox channel 'Channel::Carrier'"
    )
    status = payload("chatwoot", "conversation_status_changed_resolved")
    status["status"] = "archived"
    result = chatwoot.translate(dump(status), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unmapped_status"
    csat = payload("chatwoot", "message_updated_csat")
    csat["content_attributes"]["submitted_values"]["csat_survey_response"]["rating"] = 9
    result = chatwoot.translate(dump(csat), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "unmapped_score"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"not json", "not_json"), (b"[1]", "not_object"), (b"{}", "missing_field"),
     (b'{"event": "conversation_exploded"}', "unsupported_event"),
     (b'{"event": "message_created", "id": 1}', "unmapped_account")],
)
def test_bad_bodies_are_rejected(raw: bytes, reason: str, connectors: Connectors) -> None:
    result = chatwoot.translate(raw, {}, connectors)
    assert isinstance(result, Rejection) and result.reason == reason


@pytest.mark.parametrize(
    "event",
    ["contact_updated", "conversation_typing_on", "webwidget_triggered",
     "automation_event.message_created"],
)
def test_ignored_events(event: str, connectors: Connectors) -> None:
    assert chatwoot.translate(dump({"event": event, "id": 5}), {}, connectors) == []


def test_human_reply_from_an_automation_rule_is_a_bot(connectors: Connectors) -> None:
    data = payload("chatwoot", "message_created_outgoing_agent")
    data["content_attributes"] = {"automation_rule_id": 4}
    events = chatwoot.translate(dump(data), {}, connectors)
    assert isinstance(events, list)
    assert (events[0]["author"], "agent_id" in events[0]) == ("bot", False)


def test_a_hostile_id_is_rejected_not_passed_on(connectors: Connectors) -> None:
    data = copy.deepcopy(payload("chatwoot", "conversation_created"))
    data["id"] = "x" * 200
    result = chatwoot.translate(dump(data), {}, connectors)
    assert isinstance(result, Rejection) and result.reason == "invalid_field"
