"""The Chatwoot conversation a webhook is about, with the connectors file applied.

Which inbox makes a live chat or a ticket, the channel, queue, priority and status names, and
the ids, as `stream.gateway.chatwoot`'s docstring describes; the handlers there turn what
changed into §1 events.
"""

from __future__ import annotations

from typing import Any, Final

from stream.gateway.mapping import OTHER_QUEUE, Account, Route
from stream.gateway.translation import (
    Reject,
    mapped_priority,
    mapped_status,
    native_id,
    obj,
    timestamp,
)

SOURCE: Final = "chatwoot"
SOCIAL_INBOXES: Final = frozenset({
    "Channel::Whatsapp", "Channel::FacebookPage", "Channel::Instagram", "Channel::TwitterProfile",
    "Channel::Telegram", "Channel::Line", "Channel::Sms", "Channel::TwilioSms", "Channel::Tiktok",
})
DEFAULT_STATUSES: Final = {"open": "open", "resolved": "solved", "snoozed": "pending",
                           "pending": "new"}
PRIORITIES: Final = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}


class Conversation:
    """The conversation a webhook is about, with its mapping resolved."""

    def __init__(self, data: dict[str, Any], account_id: str, account: Account) -> None:
        self.data = data
        self.account_id = account_id
        self.account = account
        number = native_id(data.get("id"), "conversation id")
        self.ref = f"{account_id}:{number}"  # the id without the source, for event ids
        self.id = f"{SOURCE}:{self.ref}"
        inbox = native_id(data.get("inbox_id"), "inbox_id", required=False)
        meta = obj(data.get("meta"))
        team = native_id(obj(meta.get("team")).get("id"), "team id", required=False)
        inbox_route = account.inboxes.get(inbox or "", Route())
        team_route = account.teams.get(team or "", Route())
        self.queue = team_route.queue or inbox_route.queue or OTHER_QUEUE
        channel_class = data.get("channel")
        self.kind = inbox_route.kind or ("chat" if channel_class == "Channel::WebWidget"
                                         else "ticket")
        self.channel = inbox_route.channel or _channel(channel_class, self.kind)
        self.priority = priority(data.get("priority"), account)
        sender = native_id(obj(meta.get("sender")).get("id"), "contact id", required=False)
        self.customer_id = f"{SOURCE}:{account_id}:contact:{sender}" if sender else None
        assignee = obj(meta.get("assignee"))
        user = native_id(assignee.get("id"), "assignee id", required=False)
        is_user = assignee.get("type", "user") == "user"
        self.agent_id = self.agent(user) if user and is_user else None

    @property
    def is_chat(self) -> bool:
        return self.kind == "chat"

    def agent(self, user_id: str) -> str:
        return f"{SOURCE}:{self.account_id}:{user_id}"

    def base(self, at: str) -> dict[str, Any]:
        return {"occurred_at": at, ("chat_id" if self.is_chat else "ticket_id"): self.id}

    def updated_at(self) -> str:
        return timestamp(self.data.get("updated_at") or self.data.get("timestamp"), "updated_at")


def _channel(channel_class: object, kind: str) -> str:
    if kind == "chat" or channel_class == "Channel::WebWidget":
        return "chat"
    if channel_class == "Channel::Email":
        return "email"
    if channel_class == "Channel::Api":
        return "web_form"
    if channel_class == "Channel::Voice":
        return "phone"
    if channel_class in SOCIAL_INBOXES:
        return "social"
    raise Reject("unmapped_channel", f"inbox channel {str(channel_class)[:64]!r}")


def priority(value: object, account: Account) -> str:
    """Native priority → §1; null, medium and anything unknown are `normal` (§1's default)."""
    name = str(value).lower() if value is not None else "null"
    return mapped_priority(name, account.priorities, PRIORITIES)


def status(value: object, account: Account) -> str:
    return mapped_status(str(value).lower(), account.statuses, DEFAULT_STATUSES,
                         "conversation status")


def account_id_of(payload: dict[str, Any], conversation: dict[str, Any]) -> str:
    # `account` is on message events and, since PR #12445, on conversation events; older
    # builds carry it only as `account_id` or inside the last message.
    for candidate in (
        obj(payload.get("account")).get("id"), payload.get("account_id"),
        conversation.get("account_id"),
        *(obj(message).get("account_id") for message in conversation.get("messages") or []),
    ):
        found = native_id(candidate, "account id", required=False)
        if found:
            return found
    raise Reject("unmapped_account", "no account id in the payload")
