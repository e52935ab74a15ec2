"""The translated sequences, applied by the worker's own pure state machines: a webhook
delivered twice changes nothing more, and the chat goes waiting → active → ended."""

from __future__ import annotations

from typing import Any

import msgspec

from stream.domain.chats import ChatState, apply_chat
from stream.domain.events import Decoded, decode
from stream.domain.tickets import TicketState, apply_ticket
from stream.gateway import chatwoot, zendesk
from stream.gateway.connectors import Connectors
from tests.unit.gateway.conftest import NOW, body

CHAT_SEQUENCE = ["conversation_created", "message_created_incoming",
                 "conversation_updated_assignee", "conversation_status_changed_resolved",
                 "message_updated_csat"]
TICKET_SEQUENCE = ["ticket_created", "ticket_comment_added_public_staff", "ticket_status_changed"]


def events(module: Any, source: str, names: list[str], connectors: Connectors) -> list[Decoded]:
    decoded = []
    for name in names:
        for event in module.translate(body(source, name), {}, connectors):
            result = decode(msgspec.json.encode(event), lambda: NOW)
            assert isinstance(result, Decoded)
            decoded.append(result)
    return decoded


def run_chat(decoded: list[Decoded]) -> tuple[ChatState | None, list[Any]]:
    state: ChatState | None = None
    effects: list[Any] = []
    for offset, item in enumerate(decoded):
        new, found = apply_chat(
            state, item.event, item.occurred_at, offset, lambda q: q or "other"
        )
        state = new or state
        effects += found
    return state, effects


def run_ticket(decoded: list[Decoded]) -> tuple[TicketState | None, list[Any]]:
    state: TicketState | None = None
    effects: list[Any] = []
    for offset, item in enumerate(decoded):
        new, found = apply_ticket(state, item.event, item.occurred_at, offset)
        state = new or state
        effects += found
    return state, effects


def test_chatwoot_chat_sequence_and_its_redelivery(connectors: Connectors) -> None:
    once = events(chatwoot, "chatwoot", CHAT_SEQUENCE, connectors)
    state, effects = run_chat(once)
    assert state is not None
    assert (state.status, state.agent_id, state.queue) == ("ended", "chatwoot:1:1", "web-chat")
    twice = [item for item in once for _ in range(2)]
    state2, effects2 = run_chat(twice)
    assert state2 is not None and state2.status == state.status
    assert effects2 == effects


def test_zendesk_ticket_sequence_and_its_redelivery(connectors: Connectors) -> None:
    once = events(zendesk, "zendesk", TICKET_SEQUENCE, connectors)
    state, effects = run_ticket(once)
    assert state is not None
    assert (state.status, state.public_agent_replies, state.queue) == ("solved", 1, "support")
    twice = [item for item in once for _ in range(2)]
    state2, effects2 = run_ticket(twice)
    assert state2 is not None
    assert (state2.status, state2.public_agent_replies) == ("solved", 1)
    assert effects2 == effects


def test_a_reopened_chatwoot_chat_waits_again(connectors: Connectors) -> None:
    names = [*CHAT_SEQUENCE, "conversation_status_changed_reopened"]
    state, _ = run_chat(events(chatwoot, "chatwoot", names, connectors))
    assert state is not None and state.status == "waiting"
