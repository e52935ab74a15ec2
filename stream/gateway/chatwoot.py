"""Chatwoot account / API-inbox webhooks → §1 events.

The inbox decides what a conversation is (CONTRACT §7): `Channel::WebWidget` a live chat
(`chat.*`), `Channel::Email` a ticket of channel email, `Channel::Api` web_form, social and
messaging inboxes social; the connectors file overrides kind, channel and queue per inbox, and
the team's queue wins over the inbox's. Ids: `chatwoot:<account>:<display id>` for
conversations, `chatwoot:<account>:<user id>` for agents, `chatwoot:<account>:contact:<id>`
for customers (contacts and users are numbered separately).

Status (top-level `status` of `conversation_status_changed`, or `status` in the
`changed_attributes` of `conversation_updated`; both give the same event id):
open → open, resolved → solved, snoozed → pending, pending (with the bot) → new. For a chat,
`open` is `chat.requested` (a bot hand-off, or a reopen: a new cycle once ended) and a mapped
solved/closed is `chat.ended`; other statuses say nothing about a chat.
Stateless: a transition is inferred only from what the payload carries (`previous_value`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stream.gateway.chatwoot_conversation import (
    SOURCE,
    Conversation,
    account_id_of,
    priority,
    status,
)
from stream.gateway.mapping import Connectors
from stream.gateway.translation import (
    Event,
    Reject,
    Translation,
    event_id,
    finish,
    native_id,
    obj,
    parse_body,
    timestamp,
)

IGNORED: Final = frozenset({
    "contact_created", "contact_updated", "contact_won", "inbox_created", "inbox_updated",
    "webwidget_triggered", "conversation_typing_on", "conversation_typing_off",
    # Agent-bot sinks only, and duplicates of conversation_status_changed.
    "conversation_opened", "conversation_resolved", "macro.executed",
})
BOT_SENDERS: Final = frozenset({"agent_bot", "captain_assistant"})
MESSAGE_TYPES: Final = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


def translate(body: bytes, headers: Mapping[str, str], connectors: Connectors) -> Translation:
    """One Chatwoot webhook body → §1 events, `[]` (nothing for the monitor) or a Rejection."""
    try:
        payload = parse_body(body)
        name = payload.get("event")
        if not isinstance(name, str):
            raise Reject("missing_field", "missing event")
        if name in IGNORED or name.startswith("automation_event."):
            return []
        handler = _HANDLERS.get(name)
        if handler is None:
            raise Reject("unsupported_event", f"event {name[:64]!r}")
        data = obj(payload.get("conversation")) if name.startswith("message_") else payload
        account_id = account_id_of(payload, data)
        conversation = Conversation(data, account_id, connectors.account(SOURCE, account_id))
        return finish(handler(payload, conversation))
    except Reject as rejected:
        return rejected.rejection


def _created(payload: dict[str, Any], conv: Conversation) -> list[Event]:
    at = timestamp(conv.data.get("created_at"), "created_at")
    if not conv.is_chat:
        event = {"event_id": event_id(SOURCE, conv.ref, "created"), "type": "ticket.created",
                 **conv.base(at), "channel": conv.channel, "priority": conv.priority,
                 "queue": conv.queue}
        event.update({k: v for k, v in (("customer_id", conv.customer_id),
                                         ("agent_id", conv.agent_id)) if v})
        return [event]
    # A chat with the bot (`pending`) is not waiting for an agent yet: its request comes with
    # the hand-off (status open).
    if status(conv.data.get("status"), conv.account) != "open":
        return []
    events = [_requested(conv, at, "created")]
    if conv.agent_id:
        events.append({"event_id": event_id(SOURCE, conv.ref, "created", "accept"),
                       "type": "chat.accepted", **conv.base(at), "agent_id": conv.agent_id})
    return events


def _requested(conv: Conversation, at: str, *version: object) -> Event:
    event = {"event_id": event_id(SOURCE, conv.ref, *version, "request"),
             "type": "chat.requested", **conv.base(at), "queue": conv.queue,
             "priority": conv.priority}
    if conv.customer_id:
        event["customer_id"] = conv.customer_id
    return event


def _status_events(conv: Conversation, new: object, at: str) -> list[Event]:
    mapped = status(new, conv.account)
    version = ("status", mapped, at)
    if not conv.is_chat:
        return [{"event_id": event_id(SOURCE, conv.ref, *version), "type": "ticket.status_changed",
                 **conv.base(at), "status": mapped}]
    if mapped == "open":
        return [_requested(conv, at, *version)]
    if mapped in ("solved", "closed"):
        return [{"event_id": event_id(SOURCE, conv.ref, *version, "end"), "type": "chat.ended",
                 **conv.base(at)}]
    return []


def _status_changed(payload: dict[str, Any], conv: Conversation) -> list[Event]:
    # `changed_attributes` is null here: the new status is the top-level one.
    return _status_events(conv, conv.data.get("status"), conv.updated_at())


def _changes(payload: dict[str, Any]) -> dict[str, tuple[object, object]]:
    """`changed_attributes` (a list of one-key objects, or one object) → name → (old, new)."""
    raw = payload.get("changed_attributes")
    items = raw if isinstance(raw, list) else [raw]
    found: dict[str, tuple[object, object]] = {}
    for item in items:
        for key, change in obj(item).items():
            change = obj(change)
            found[str(key)] = (change.get("previous_value"), change.get("current_value"))
    return found


def _updated(payload: dict[str, Any], conv: Conversation) -> list[Event]:
    changes = _changes(payload)
    at = conv.updated_at()
    events: list[Event] = []
    if "status" in changes:
        events += _status_events(conv, changes["status"][1], at)
    if "assignee_id" in changes:
        old, new = changes["assignee_id"]
        user = native_id(new, "assignee id", required=False)
        if user:
            agent = conv.agent(user)
            key = event_id(SOURCE, conv.ref, "assign", user, at)
            if not conv.is_chat:
                events.append({"event_id": key, "type": "ticket.assigned", **conv.base(at),
                               "agent_id": agent, "queue": conv.queue})
            elif old is None:  # a waiting chat taken by an agent
                events.append({"event_id": key, "type": "chat.accepted", **conv.base(at),
                               "agent_id": agent})
            else:  # an active chat handed to another agent
                events.append({"event_id": key, "type": "chat.transferred", **conv.base(at),
                               "agent_id": agent})
    if "team_id" in changes and changes["team_id"][1] is not None:
        key = event_id(SOURCE, conv.ref, "team", changes["team_id"][1], at)
        if conv.is_chat:
            events.append({"event_id": key, "type": "chat.transferred", **conv.base(at),
                           "queue": conv.queue})
        elif conv.agent_id and "assignee_id" not in changes:
            # §1 has no queue change without an agent: only an assigned ticket can say it.
            events.append({"event_id": key, "type": "ticket.assigned", **conv.base(at),
                           "agent_id": conv.agent_id, "queue": conv.queue})
    if "priority" in changes and not conv.is_chat:
        new_priority = priority(changes["priority"][1], conv.account)
        events.append({"event_id": event_id(SOURCE, conv.ref, "priority", new_priority, at),
                       "type": "ticket.priority_changed", **conv.base(at),
                       "priority": new_priority})
    return events


def _author(payload: dict[str, Any], kind: str) -> tuple[str, str | None]:
    """(author, user id) of a message: incoming = customer; a human user = agent; bots,
    automation rules, campaigns and system messages (no sender) = bot."""
    if kind == "incoming":
        return "customer", None
    sender = obj(payload.get("sender"))
    attributes = {**obj(payload.get("content_attributes")),
                  **obj(payload.get("additional_attributes"))}
    automated = any(attributes.get(key) for key in ("automation_rule_id", "campaign_id"))
    if kind == "template" or not sender or sender.get("type") in BOT_SENDERS or automated:
        return "bot", None
    if sender.get("type", "user") != "user":
        raise Reject("unmapped_author", f"sender type {str(sender.get('type'))[:32]!r}")
    return "agent", native_id(sender.get("id"), "sender id")


def _message_created(payload: dict[str, Any], conv: Conversation) -> list[Event]:
    raw_kind = payload.get("message_type")
    kind = MESSAGE_TYPES.get(raw_kind, "") if isinstance(raw_kind, int) else str(raw_kind)
    if kind not in ("incoming", "outgoing", "template"):
        return []  # activity messages ("conversation resolved by …") are not replies
    message = native_id(payload.get("id"), "message id")
    at = timestamp(payload.get("created_at"), "message created_at")
    author, user = _author(payload, kind)
    private = payload.get("private") is True
    key = event_id(SOURCE, conv.account_id, "message", message)
    if conv.is_chat:
        if private:
            return []  # an internal note is not part of the chat
        event = {"event_id": key, "type": "chat.message", **conv.base(at), "author": author}
    else:
        event = {"event_id": key, "type": "ticket.replied", **conv.base(at), "author": author,
                 "public": not private}
    if user:
        event["agent_id"] = conv.agent(user)
    return [event]


def _message_updated(payload: dict[str, Any], conv: Conversation) -> list[Event]:
    attributes = obj(payload.get("content_attributes"))
    answer = obj(obj(attributes.get("submitted_values")).get("csat_survey_response"))
    rating = answer.get("rating")
    if rating is None:
        return []  # an edit, a delivery status: nothing for the monitor
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Reject("unmapped_score", f"CSAT rating {str(rating)[:16]!r}")
    message = native_id(payload.get("id"), "message id")
    at = timestamp(payload.get("updated_at") or payload.get("created_at"), "message time")
    # A changed answer (allowed for 14 days) is a new fact: its rating is part of the id.
    return [{"event_id": event_id(SOURCE, conv.account_id, "csat", message, rating),
             "type": "chat.rated" if conv.is_chat else "ticket.rated", **conv.base(at),
             "score": rating}]


_HANDLERS: Final = {
    "conversation_created": _created,
    "conversation_updated": _updated,
    "conversation_status_changed": _status_changed,
    "message_created": _message_created,
    "message_updated": _message_updated,
}
