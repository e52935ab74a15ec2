"""Input events (CONTRACT §1): schema, decoding and validation.

`decode()` turns raw Kafka bytes into a typed event or a `Rejection` naming one of a fixed set of
reasons (the `reason` label of `support_events_rejected_total`, so it must stay bounded). Nothing
here raises on bad input: the worker must never stop on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Final, Literal

import msgspec

Channel = Literal["email", "chat", "phone", "social", "web_form"]
Priority = Literal["low", "normal", "high", "urgent"]
Author = Literal["agent", "customer", "bot"]
TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
TicketResolver = Literal["agent", "bot", "self_service"]
ChatResolver = Literal["agent", "bot"]
AgentPresence = Literal["online", "away", "offline"]

CHANNELS: Final = ("email", "chat", "phone", "social", "web_form")
PRIORITIES: Final = ("low", "normal", "high", "urgent")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
QueueName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    event_id: EventId
    occurred_at: str
    schema: str = "support.v1"


# --- tickets ---------------------------------------------------------------------------------
class TicketCreated(Event, tag="ticket.created", frozen=True):
    ticket_id: Id
    channel: Channel
    priority: Priority
    queue: QueueName
    request_type: str | None = None
    customer_id: Id | None = None
    agent_id: Id | None = None


class TicketReplied(Event, tag="ticket.replied", frozen=True):
    ticket_id: Id
    author: Author
    agent_id: Id | None = None
    public: bool = True
    template_id: Id | None = None


class TicketStatusChanged(Event, tag="ticket.status_changed", frozen=True):
    ticket_id: Id
    status: TicketStatus
    agent_id: Id | None = None
    resolved_by: TicketResolver = "agent"


class TicketAssigned(Event, tag="ticket.assigned", frozen=True):
    ticket_id: Id
    agent_id: Id
    queue: QueueName | None = None


class TicketPriorityChanged(Event, tag="ticket.priority_changed", frozen=True):
    ticket_id: Id
    priority: Priority


class TicketRated(Event, tag="ticket.rated", frozen=True):
    ticket_id: Id
    score: Score


class TicketEffortRated(Event, tag="ticket.effort_rated", frozen=True):
    ticket_id: Id
    score: Score


# --- chats -----------------------------------------------------------------------------------
class ChatRequested(Event, tag="chat.requested", frozen=True):
    chat_id: Id
    queue: QueueName
    customer_id: Id | None = None
    campaign_id: Id | None = None
    priority: Priority = "normal"


class ChatAccepted(Event, tag="chat.accepted", frozen=True):
    chat_id: Id
    agent_id: Id


class ChatMessage(Event, tag="chat.message", frozen=True):
    chat_id: Id
    author: Author
    agent_id: Id | None = None
    template_id: Id | None = None


class ChatTransferred(Event, tag="chat.transferred", frozen=True):
    chat_id: Id
    queue: QueueName | None = None
    agent_id: Id | None = None


class ChatEnded(Event, tag="chat.ended", frozen=True):
    chat_id: Id
    resolved_by: ChatResolver | None = None


class ChatAbandoned(Event, tag="chat.abandoned", frozen=True):
    chat_id: Id


class ChatRated(Event, tag="chat.rated", frozen=True):
    chat_id: Id
    score: Score


class ChatConverted(Event, tag="chat.converted", frozen=True):
    chat_id: Id
    ticket_id: Id


# --- agents and commerce -------------------------------------------------------------------------
class AgentStatusChanged(Event, tag="agent.status_changed", frozen=True):
    agent_id: Id
    queues: list[QueueName]
    # Extension (second round): either may be omitted, meaning "unchanged" — a capacity-only
    # change (Zendesk's agent.max_capacity_changed) has no status, a presence change from a
    # source that does not know the capacity has no max_chats. A new agent starts offline, 1.
    status: AgentPresence | None = None
    max_chats: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class OrderPlaced(Event, tag="order.placed", frozen=True):
    order_id: Id
    customer_id: Id
    amount: str | float
    currency: Currency
    # Placed without a customer account (issue 15, a §1 extension); still a customer by id.
    guest: bool = False


class CampaignShown(Event, tag="campaign.shown", frozen=True):
    campaign_id: Id
    customer_id: Id | None = None


class SelfServiceSession(Event, tag="selfservice.session", frozen=True):
    session_id: Id
    resolved: bool


TICKET_TYPES: Final[dict[str, type[Event]]] = {
    "ticket.created": TicketCreated,
    "ticket.replied": TicketReplied,
    "ticket.status_changed": TicketStatusChanged,
    "ticket.assigned": TicketAssigned,
    "ticket.priority_changed": TicketPriorityChanged,
    "ticket.rated": TicketRated,
    "ticket.effort_rated": TicketEffortRated,
}
CHAT_TYPES: Final[dict[str, type[Event]]] = {
    "chat.requested": ChatRequested,
    "chat.accepted": ChatAccepted,
    "chat.message": ChatMessage,
    "chat.transferred": ChatTransferred,
    "chat.ended": ChatEnded,
    "chat.abandoned": ChatAbandoned,
    "chat.rated": ChatRated,
    "chat.converted": ChatConverted,
}
AGENT_TYPES: Final[dict[str, type[Event]]] = {"agent.status_changed": AgentStatusChanged}
COMMERCE_TYPES: Final[dict[str, type[Event]]] = {
    "order.placed": OrderPlaced,
    "campaign.shown": CampaignShown,
    "selfservice.session": SelfServiceSession,
}
TYPES_BY_STREAM: Final[dict[str, dict[str, type[Event]]]] = {
    "tickets": TICKET_TYPES,
    "chats": CHAT_TYPES,
    "agents": AGENT_TYPES,
    "commerce": COMMERCE_TYPES,
}
EVENT_TYPES: Final[dict[str, type[Event]]] = {
    name: cls for types in TYPES_BY_STREAM.values() for name, cls in types.items()
}
STREAM_OF_TYPE: Final[dict[str, str]] = {
    name: stream for stream, types in TYPES_BY_STREAM.items() for name in types
}
# The field that carries the Kafka message key (CONTRACT §1): the conversation or agent id on
# the conversation streams, a per-type field on commerce. `conversation_key` is its typed twin.
KEY_FIELD_OF_TYPE: Final[dict[str, str]] = {
    **dict.fromkeys(TICKET_TYPES, "ticket_id"),
    **dict.fromkeys(CHAT_TYPES, "chat_id"),
    **dict.fromkeys(AGENT_TYPES, "agent_id"),
    "order.placed": "customer_id",
    "campaign.shown": "campaign_id",
    "selfservice.session": "session_id",
}

# The bounded `reason` label values. Keep in sync with the README's metric reference.
REJECT_REASONS: Final = (
    "oversized",
    "invalid_json",
    "not_object",
    "unknown_type",
    "wrong_stream",
    "missing_field",
    "invalid_field",
    "bad_timestamp",
    "future_timestamp",
    "key_mismatch",
    "processing_error",
)


class Rejection(msgspec.Struct, frozen=True):
    reason: str
    detail: str


class Decoded(msgspec.Struct, frozen=True):
    event: Event
    occurred_at: datetime


_json_decoder: Final = msgspec.json.Decoder()
MIN_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AMOUNT: Final = Decimal("1e12")
MAX_TIME: Final = datetime(2100, 1, 1, tzinfo=UTC)
_MISSING_RE: Final = re.compile(r"missing required field `([^`]+)`")


# RFC 3339 `date-time` (section 5.6; a space for the "T" as its note allows). fromisoformat
# alone also takes other ISO 8601 forms: week dates, basic format, minutes without seconds.
_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def parse_timestamp(text: str) -> datetime | None:
    """RFC 3339 with an explicit offset, or None. Naive timestamps are ambiguous: rejected."""
    if not 20 <= len(text) <= 64 or _RFC3339.fullmatch(text) is None:
        return None
    try:
        # RFC 3339 allows lower-case "t" and "z"; fromisoformat does not.
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset
        return None
    # Support events happen in this century; anything else is a broken clock, and keeping it
    # would push date arithmetic (windows, calendars, retention) out of range.
    if not MIN_TIME <= parsed <= MAX_TIME:
        return None
    return parsed


def _valid_amount(amount: str | float) -> bool:
    if isinstance(amount, float | int):
        return 0 <= amount < MAX_AMOUNT
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return False
    # Commerce counts float(amount): beyond float range the revenue counter would be +Inf.
    return value.is_finite() and 0 <= value < MAX_AMOUNT and len(amount) <= 40


def decode(
    raw: bytes | None,
    now: Callable[[], datetime],
    *,
    stream: str | None = None,
    max_bytes: int = 64 * 1024,
    max_future_seconds: float = 7 * 86400.0,
) -> Decoded | Rejection:
    """Decode and validate one message. `stream` restricts the accepted types to one topic's."""
    if raw is None:
        return Rejection("invalid_json", "empty message (null value)")
    if len(raw) > max_bytes:
        return Rejection("oversized", f"{len(raw)} bytes > {max_bytes}")
    try:
        obj = _json_decoder.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        # msgspec raises UnicodeDecodeError for invalid UTF-8 inside strings and
        # RecursionError for very deep nesting: both are just bad input here.
        return Rejection("invalid_json", str(exc)[:200] or type(exc).__name__)
    if not isinstance(obj, dict):
        return Rejection("not_object", f"top-level JSON {type(obj).__name__}, not an object")
    type_name = obj.get("type")
    if type_name is None:
        return Rejection("missing_field", "missing required field `type`")
    if not isinstance(type_name, str):
        return Rejection("invalid_field", "`type` must be a string")
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        return Rejection("unknown_type", f"unknown event type {type_name[:64]!r}")
    if stream is not None and STREAM_OF_TYPE[type_name] != stream:
        return Rejection("wrong_stream", f"{type_name} does not belong on the {stream} topic")
    try:
        event = msgspec.convert(obj, cls)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if _MISSING_RE.search(message):
            return Rejection("missing_field", message[:200])
        return Rejection("invalid_field", message[:200])
    occurred_at = parse_timestamp(event.occurred_at)
    if occurred_at is None:
        return Rejection("bad_timestamp", f"occurred_at {event.occurred_at[:64]!r} is not RFC 3339")
    if (occurred_at - now()).total_seconds() > max_future_seconds:
        return Rejection("future_timestamp", f"occurred_at {event.occurred_at} is too far ahead")
    if isinstance(event, ChatTransferred) and event.queue is None and event.agent_id is None:
        return Rejection("missing_field", "chat.transferred needs `queue` or `agent_id`")
    if isinstance(event, OrderPlaced) and not _valid_amount(event.amount):
        return Rejection("invalid_field", "`amount` must be a decimal >= 0")
    return Decoded(event, occurred_at)


def conversation_key(event: Event) -> str:
    """The Kafka message key CONTRACT §1 prescribes for an event."""
    match event:
        case TicketCreated() | TicketReplied() | TicketStatusChanged() | TicketAssigned():
            return event.ticket_id
        case TicketPriorityChanged() | TicketRated() | TicketEffortRated():
            return event.ticket_id
        case ChatRequested() | ChatAccepted() | ChatMessage() | ChatTransferred():
            return event.chat_id
        case ChatEnded() | ChatAbandoned() | ChatRated() | ChatConverted():
            return event.chat_id
        case AgentStatusChanged():
            return event.agent_id
        case OrderPlaced():
            return event.customer_id
        case CampaignShown():
            return event.campaign_id
        case SelfServiceSession():
            return event.session_id
    raise TypeError(f"no key rule for {type(event).__name__}")


def key_for_dict(event: dict[str, object]) -> str | None:
    """The message key for a raw event dict (used by `produce`), or None if it has none."""
    type_name = event.get("type")
    fields = {
        "ticket": "ticket_id",
        "chat": "chat_id",
        "agent": "agent_id",
        "order": "customer_id",
        "campaign": "campaign_id",
        "selfservice": "session_id",
    }
    if not isinstance(type_name, str):
        return None
    field = fields.get(type_name.split(".", 1)[0])
    value = event.get(field) if field else None
    return value if isinstance(value, str) else None
