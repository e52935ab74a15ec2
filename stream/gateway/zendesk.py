"""Zendesk event-subscription webhooks (`zen:event-type:*`) → §1 events.

The envelope carries the account (`account_id`), a unique event `id` (the event id of every
§1 event it yields, with the event's role) and the event time (`time`). Ticket ids are
`zendesk:<account>:<ticket id>`; Zendesk users (agents and requesters alike) are
`zendesk:<account>:<user id>`. Enums are compared case-insensitively (upper case in the schema,
`Open` and lower case seen in the wild). Channel from `via.channel` per CONTRACT §7; queue from
the group, else the brand, else `other`.

Agent availability: `agent.state_changed` → `agent.status_changed` with the presence (and the
connectors file's `max_chats` for the account, if it sets one); `agent.max_capacity_changed` →
`agent.status_changed` with `max_chats` and no status (a §1 extension: the presence stays as it
is, and the worker keeps each with its own time, so their order does not matter). Other event
types (`user.*`, `organization.*`, tag or field changes…) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from stream.gateway.mapping import OTHER_QUEUE, Account, Connectors, Route
from stream.gateway.translation import (
    Event,
    Reject,
    Translation,
    event_id,
    finish,
    mapped_priority,
    mapped_status,
    native_id,
    obj,
    parse_body,
    timestamp,
)

SOURCE: Final = "zendesk"
PREFIX: Final = "zen:event-type:"
CHANNELS: Final = {
    "email": "email", "web": "web_form", "web_service": "web_form", "api": "web_form",
    "mobile": "web_form", "web_form": "web_form", "chat": "chat", "messaging": "chat",
    "native_messaging": "chat", "voice": "phone", "twitter": "social", "facebook": "social",
    "instagram_dm": "social", "whatsapp": "social", "line": "social", "wechat": "social",
    "telegram": "social", "sms": "social", "any_channel": "social",
}
STATUSES: Final = {
    "new": "new", "open": "open", "pending": "pending", "hold": "on_hold", "on_hold": "on_hold",
    "solved": "solved", "closed": "closed",
    # Gone from every backlog: deleted, archived (closed tickets after 120 days), scrubbed.
    "deleted": "closed", "archived": "closed", "scrubbed": "closed",
}
PRIORITIES: Final = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
PRESENCE: Final = {"online": "online", "away": "away", "offline": "offline",
                   "invisible": "offline", "transfers_only": "away"}
ACTORS: Final = {"end_user": "customer", "agent": "agent", "trigger": "bot", "system": "bot"}


class _Envelope:
    def __init__(self, payload: dict[str, Any], connectors: Connectors) -> None:
        self.payload = payload
        self.account_id = native_id(payload.get("account_id"), "account_id") or ""
        self.account = connectors.account(SOURCE, self.account_id)
        self.connectors = connectors
        self.id = native_id(payload.get("id"), "event id") or ""
        self.at = timestamp(payload.get("time"), "time")
        self.detail = obj(payload.get("detail"))
        self.event = obj(payload.get("event"))

    def key(self, role: str) -> str:
        return event_id(SOURCE, self.account_id, self.id, role)

    def user(self, value: object, what: str) -> str | None:
        user = native_id(value, what, required=False)
        return f"{SOURCE}:{self.account_id}:{user}" if user else None

    def ticket(self) -> str:
        number = self.detail.get("id")
        subject = self.payload.get("subject")
        if number is None and isinstance(subject, str) and subject.startswith("zen:ticket:"):
            number = subject.removeprefix("zen:ticket:")
        return f"{SOURCE}:{self.account_id}:{native_id(number, 'ticket id')}"

    def base(self, role: str, kind: str) -> Event:
        return {"event_id": self.key(role), "type": kind, "occurred_at": self.at,
                "ticket_id": self.ticket()}

    def queue(self) -> str | None:
        """The mapped queue of the ticket's group or brand; None when neither is mapped."""
        return _route(self).queue


def priority(value: object, account: Account) -> str:
    name = str(value).lower() if value is not None else "null"
    return mapped_priority(name, account.priorities, PRIORITIES)


def status(value: object, account: Account) -> str:
    return mapped_status(str(value).lower(), account.statuses, STATUSES, "ticket status")


def channel(value: object) -> str:
    return CHANNELS.get(str(value).lower(), "web_form")  # §7: anything else is web_form


def translate(body: bytes, headers: Mapping[str, str], connectors: Connectors) -> Translation:
    """One Zendesk webhook body → §1 events, `[]` (nothing for the monitor) or a Rejection."""
    try:
        payload = parse_body(body)
        kind = payload.get("type")
        if not isinstance(kind, str):
            raise Reject("missing_field", "missing type")
        if not kind.startswith(PREFIX):
            raise Reject("unsupported_event", f"type {kind[:64]!r}")
        handler = _HANDLERS.get(kind.removeprefix(PREFIX))
        if handler is None:
            return []
        return finish(handler(_Envelope(payload, connectors)))
    except Reject as rejected:
        return rejected.rejection


def _created(env: _Envelope) -> list[Event]:
    detail = env.detail
    route_channel = _route(env).channel
    event = env.base("created", "ticket.created") | {
        "channel": route_channel or channel(obj(detail.get("via")).get("channel")),
        "priority": priority(detail.get("priority"), env.account),
        "queue": env.queue() or OTHER_QUEUE,
    }
    for field, value in (("customer_id", detail.get("requester_id")),
                         ("agent_id", detail.get("assignee_id"))):
        user = env.user(value, field)
        if user:
            event[field] = user
    events = [event]
    # Created straight into a later status (an agent's ticket solved on creation, say).
    current = status(detail.get("status") or "new", env.account)
    if current not in ("new", "open"):
        events.append(env.base("created-status", "ticket.status_changed") | {"status": current})
    return events


def _route(env: _Envelope) -> Route:
    group = native_id(env.detail.get("group_id"), "group_id", required=False)
    brand = native_id(env.detail.get("brand_id"), "brand_id", required=False)
    return env.account.groups.get(group or "") or env.account.brands.get(brand or "") or Route()


def _status_changed(env: _Envelope) -> list[Event]:
    event = env.base("status", "ticket.status_changed") | {
        "status": status(env.event.get("current"), env.account)
    }
    agent = env.user(env.detail.get("assignee_id"), "assignee_id")
    if agent:
        event["agent_id"] = agent
    return [event]


def _priority_changed(env: _Envelope) -> list[Event]:
    return [env.base("priority", "ticket.priority_changed") | {
        "priority": priority(env.event.get("current"), env.account)
    }]


def _assigned(env: _Envelope, agent: str | None, queue: str | None, role: str) -> list[Event]:
    if agent is None:
        return []  # unassigned: §1 has no "unassigned" event
    event = env.base(role, "ticket.assigned") | {"agent_id": agent}
    if queue:
        event["queue"] = queue
    return [event]


def _agent_assignment(env: _Envelope) -> list[Event]:
    return _assigned(env, env.user(env.event.get("current"), "assignee"), env.queue(), "assign")


def _group_assignment(env: _Envelope) -> list[Event]:
    group = native_id(env.event.get("current"), "group", required=False)
    route = env.account.groups.get(group or "") or Route()
    # §1 can carry a queue change only together with an agent.
    agent = env.user(env.detail.get("assignee_id"), "assignee_id")
    return _assigned(env, agent, route.queue or OTHER_QUEUE, "group")


def _comment_added(env: _Envelope) -> list[Event]:
    comment = obj(env.event.get("comment"))
    author = obj(comment.get("author"))
    staff = author.get("is_staff") is True
    event = env.base("comment", "ticket.replied") | {
        "author": "agent" if staff else "customer",
        "public": comment.get("is_public") is not False,
    }
    if staff:
        agent = env.user(author.get("id"), "comment author")
        if agent:
            event["agent_id"] = agent
    return [event]


def _message_added(env: _Envelope) -> list[Event]:
    actor = obj(env.event.get("actor"))
    author = ACTORS.get(str(actor.get("type")).lower())
    if author is None:
        raise Reject("unmapped_author", f"actor type {str(actor.get('type'))[:32]!r}")
    event = env.base("message", "ticket.replied") | {"author": author}
    if author == "agent":
        agent = env.user(actor.get("id"), "actor id")
        if agent:
            event["agent_id"] = agent
    return [event]


def _agent_state(env: _Envelope) -> list[Event]:
    if not _counted_channel(env):
        return []
    state = str(env.event.get("new_state")).lower()
    presence = PRESENCE.get(state)
    if presence is None:
        raise Reject("unmapped_status", f"agent state {state[:32]!r}")
    event = _agent_event(env, "state") | {"status": presence}
    if env.account.max_chats is not None:
        event["max_chats"] = env.account.max_chats
    return [event]


def _agent_capacity(env: _Envelope) -> list[Event]:
    if not _counted_channel(env):
        return []
    capacity = env.event.get("new_max_capacity")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 1000:
        # 0 is "no chats": §1's max_chats starts at 1, and the agent's presence says the rest.
        raise Reject("invalid_field", f"new_max_capacity {str(capacity)[:16]!r}")
    return [_agent_event(env, "capacity") | {"max_chats": capacity}]


def _counted_channel(env: _Envelope) -> bool:
    """Zendesk reports presence and capacity per channel; the file may keep only some."""
    channels = env.account.presence_channels
    return channels is None or str(env.event.get("channel")).lower() in channels


def _agent_event(env: _Envelope, role: str) -> Event:
    agent = env.user(env.detail.get("agent_id"), "agent_id")
    if agent is None:
        raise Reject("missing_field", "missing agent_id")
    queues = env.account.queues() or list(env.connectors.queues) or [OTHER_QUEUE]
    return {"event_id": env.key(role), "type": "agent.status_changed", "occurred_at": env.at,
            "agent_id": agent, "queues": queues}


_HANDLERS: Final = {
    "ticket.created": _created,
    "ticket.status_changed": _status_changed,
    "ticket.priority_changed": _priority_changed,
    "ticket.agent_assignment_changed": _agent_assignment,
    "ticket.group_assignment_changed": _group_assignment,
    "ticket.comment_added": _comment_added,
    "messaging_ticket.message_added": _message_added,
    "agent.state_changed": _agent_state,
    "agent.max_capacity_changed": _agent_capacity,
}
