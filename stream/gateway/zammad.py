"""Zammad trigger webhooks (`{ticket, article}`) → §1 events.

Zammad's body names no event; `X-Zammad-Trigger` carries the trigger's name. Convention (words
matched case-insensitively anywhere in the name; several may combine, e.g.
`support-pulse state+article`):

| the name contains | the translation yields |
| --- | --- |
| `creat` | `ticket.created` (+ status if created past open, owner, first article) |
| `article`, `reply`, `note`, `comment` | `ticket.replied` for the article (internal → not public) |
| `state`, `status` | `ticket.status_changed` with the current state |
| `priority` | `ticket.priority_changed` with the current priority |
| `owner`, `assign` | `ticket.assigned` to the current owner |
| none of these (`updated`, …) | the four above from the current ticket (+ created, see below) |

Without a named fact, `ticket.created` is added when the ticket was updated within 2 s of its
creation. Re-asserting the current state is harmless to the worker (no transition, no count);
ids come from the ticket id + `updated_at` (or the article id), so a retry (same
`X-Zammad-Delivery`) or a second trigger on the same update gives the same ids.

States: new → new, open → open, pending reminder / pending close → pending, closed → solved
(a Zammad `closed` ticket reopens on the customer's next reply, which is what §1 `solved` means;
§1 `closed` is final), merged / removed → closed. Priorities `1 low`, `2 normal`, `3 high` →
low / normal / high; anything unknown → normal. Both overridable in the connectors file.
Ids: `zammad:<instance>:<ticket id>` and `zammad:<instance>:<user id>`; owner 1 is Zammad's
"-" system user, i.e. nobody.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from stream.gateway.mapping import OTHER_QUEUE, Connectors, Route
from stream.gateway.translation import (
    Event,
    Reject,
    Translation,
    event_id,
    finish,
    header,
    mapped_priority,
    mapped_status,
    native_id,
    obj,
    parse_body,
    timestamp,
)

SOURCE: Final = "zammad"
STATES: Final = {
    "new": "new", "open": "open", "pending reminder": "pending", "pending close": "pending",
    "closed": "solved", "merged": "closed", "removed": "closed",
}
PRIORITY_WORDS: Final = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
ARTICLE_CHANNELS: Final = {
    "email": "email", "phone": "phone", "web": "web_form", "note": "web_form", "chat": "chat",
    "sms": "social", "twitter status": "social", "twitter direct-message": "social",
    "facebook feed post": "social", "facebook feed comment": "social",
    "telegram personal-message": "social", "whatsapp message": "social",
}
SENDERS: Final = {"customer": "customer", "agent": "agent", "system": "bot"}
NOBODY: Final = "1"
FACTS: Final = {
    "created": ("creat",),
    "article": ("article", "reply", "note", "comment"),
    "status": ("state", "status"),
    "priority": ("priority",),
    "owner": ("owner", "assign"),
}
_LEADING_NUMBER: Final = re.compile(r"^\d+\s+")


def facts_for(trigger: str | None) -> set[str]:
    """The facts a trigger name asks for (see the module docstring); empty = not named."""
    name = (trigger or "").lower()
    return {fact for fact, words in FACTS.items() if any(word in name for word in words)}


def _name(value: object) -> str:
    return str(obj(value).get("name") if isinstance(value, dict) else value).strip().lower()


class _Ticket:
    def __init__(self, data: dict[str, Any], connectors: Connectors) -> None:
        self.data = data
        self.instance = connectors.zammad_instance
        self.account = connectors.zammad
        self.id = f"{SOURCE}:{self.instance}:{native_id(data.get('id'), 'ticket id')}"
        group = _name(data.get("group")) if data.get("group") is not None else ""
        self.route = next(
            (route for name, route in self.account.groups.items() if name.lower() == group),
            Route(),
        )
        self.updated_at = timestamp(data.get("updated_at"), "ticket updated_at")

    def user(self, value: object, what: str) -> str | None:
        user = native_id(value, what, required=False)
        return f"{SOURCE}:{self.instance}:{user}" if user and user != NOBODY else None

    def key(self, *parts: object) -> str:
        return event_id(SOURCE, self.id.removeprefix(f"{SOURCE}:"), *parts)

    def base(self, kind: str, at: str, *parts: object) -> Event:
        return {"event_id": self.key(*parts), "type": kind, "occurred_at": at,
                "ticket_id": self.id}

    def status(self) -> str:
        return mapped_status(_name(self.data.get("state")), self.account.statuses, STATES,
                             "ticket state")

    def priority(self) -> str:
        name = _name(self.data.get("priority"))
        # `2 normal`: the words after Zammad's leading number (names are editable).
        return self.account.priorities.get(name) or mapped_priority(
            _LEADING_NUMBER.sub("", name), {}, PRIORITY_WORDS)

    def channel(self) -> str:
        if self.route.channel:
            return self.route.channel
        kind = _name(self.data.get("create_article_type"))
        mapped = ARTICLE_CHANNELS.get(kind)
        if mapped is None:
            raise Reject("unmapped_channel", f"create_article_type {kind[:64]!r}")
        return mapped


def translate(body: bytes, headers: Mapping[str, str], connectors: Connectors) -> Translation:
    """One Zammad webhook body → §1 events, `[]` (nothing for the monitor) or a Rejection."""
    try:
        payload = parse_body(body)
        data = payload.get("ticket")
        if not isinstance(data, dict) or not data:
            raise Reject("missing_field", "missing ticket")
        ticket = _Ticket(data, connectors)
        facts = facts_for(header(headers, "X-Zammad-Trigger"))
        if not facts:
            facts = {"article", "status", "priority", "owner"}
            if _just_created(data):
                facts.add("created")
        return finish(_events(ticket, obj(payload.get("article")), facts))
    except Reject as rejected:
        return rejected.rejection


def _just_created(data: dict[str, Any]) -> bool:
    try:
        created = datetime.fromisoformat(timestamp(data.get("created_at"), "created_at"))
        updated = datetime.fromisoformat(timestamp(data.get("updated_at"), "updated_at"))
    except (Reject, ValueError):
        return False
    return abs((updated - created).total_seconds()) <= 2.0


def _events(ticket: _Ticket, article: dict[str, Any], facts: set[str]) -> list[Event]:
    events: list[Event] = []
    at = ticket.updated_at
    owner = ticket.user(ticket.data.get("owner_id"), "owner_id")
    if "created" in facts:
        created_at = timestamp(ticket.data.get("created_at"), "ticket created_at")
        event = ticket.base("ticket.created", created_at, "created") | {
            "channel": ticket.channel(), "priority": ticket.priority(),
            "queue": ticket.route.queue or OTHER_QUEUE,
        }
        customer = ticket.user(ticket.data.get("customer_id"), "customer_id")
        event.update({k: v for k, v in (("customer_id", customer), ("agent_id", owner)) if v})
        events.append(event)
        if ticket.status() not in ("new", "open"):
            facts.add("status")
    if "status" in facts and not ("created" in facts and ticket.status() in ("new", "open")):
        status = ticket.status()
        events.append(ticket.base("ticket.status_changed", at, "state", status, at)
                      | {"status": status})
    if "priority" in facts and "created" not in facts:
        priority = ticket.priority()
        events.append(ticket.base("ticket.priority_changed", at, "priority", priority, at)
                      | {"priority": priority})
    if "owner" in facts and owner and "created" not in facts:
        event = ticket.base("ticket.assigned", at, "owner", owner.rsplit(":", 1)[1], at) | {
            "agent_id": owner
        }
        if ticket.route.queue:
            event["queue"] = ticket.route.queue
        events.append(event)
    if ("article" in facts or "created" in facts) and article:
        events.append(_article(ticket, article))
    return events


def _article(ticket: _Ticket, article: dict[str, Any]) -> Event:
    number = native_id(article.get("id"), "article id")
    sender = _name(article.get("sender"))
    author = SENDERS.get(sender)
    if author is None:
        raise Reject("unmapped_author", f"article sender {sender[:32]!r}")
    at = timestamp(article.get("created_at"), "article created_at")
    event = {"event_id": event_id(SOURCE, ticket.instance, "article", number),
             "type": "ticket.replied", "occurred_at": at, "ticket_id": ticket.id,
             "author": author, "public": article.get("internal") is not True}
    if author == "agent":
        agent = ticket.user(article.get("created_by_id"), "created_by_id")
        if agent:
            event["agent_id"] = agent
    return event
