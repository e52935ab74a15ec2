"""Deterministic traffic model of an e-commerce support operation (CONTRACT §1 events).

`generate()` is a discrete-event simulation: one heap of future happenings ordered by
(time, sequence number), one `random.Random(seed)` consumed strictly in heap order, and a clock
that only moves forward. Consequences that callers rely on:

* same profile, seed, start, queues and timezone → byte-identical events; another seed → others;
* a shorter run is a prefix of a longer one (nothing depends on `duration_seconds` except where
  the run is cut), so a 1 h replay matches the first hour of a 24 h replay;
* events come out in non-decreasing `occurred_at`, all inside [start, start + duration];
  conversations still open at the end are simply cut there;
* memory is bounded by what is concurrently in flight (open conversations, waiting chats,
  rostered agents, a fixed ring of recent contacts), never by the length of the run.

The model (every number below is a `Profile` field):

Arrivals
    A non-homogeneous Poisson process sampled by thinning. The rate is
    ``peak_conversations_per_hour × scale × diurnal(local hour) × weekday_factors[local weekday]``
    in the simulated timezone: a quiet night, an early-morning bump around 08 h, and the two busy
    windows from DOMAIN.md, 12–14 h and 17–20 h (the curve is defined at hour midpoints and
    interpolated linearly, so hourly counts follow it closely). Commerce happenings ride the same
    process with fixed ratios per conversation (self-service sessions, proactive campaign
    prompts, orders), so they rise and fall with the traffic.

Conversations
    Each new conversation draws a request type (``order_status``, ``shipping``, ``returns``,
    ``payment``, ``product_question``, ``account``), which picks its queue, a channel (chat is the
    largest share) and a priority (mostly normal, a few urgent). Customers come from a bounded
    pool; a share of contacts are repeat contacts of someone seen recently.

Agents
    Two pools, chat agents (``max_chats`` 2–3) and ticket agents (``max_chats`` 1). Each pool is
    sized from the profile's own peak load — chat Erlangs ÷ (slots × ``chat_target_occupancy``),
    ticket agent-touches ÷ ``ticket_target_occupancy`` — times ``chat_staffing`` /
    ``ticket_staffing``, and spread over overlapping local-time shifts (``Shift.coverage``,
    ~1.0 of the peak head count at 12–14 h and 17–20 h, a late shift, a skeleton night crew),
    thinned on quieter weekdays. Agents get a primary queue in proportion to queue traffic
    (D'Hondt); a queue nobody on a shift has as primary is served by the whole shift, and about a
    third of chat agents also serve a neighbouring queue. The roster depends on the profile and
    queues only, never on the seed. Black Friday staffs chat at 1.65× and tickets at 2.55× the
    normal head count for 3× the volume (Christmas 1.5×/2× for 2.5×): staffing lags the surge,
    so the chat queue builds and abandonment climbs at the peaks, the ticket backlog grows
    through the day, and the evening shift works it back down. Agents go ``online`` at shift
    start, take one or two ``away`` breaks, stop taking work at shift end and go ``offline`` once
    their last chat, call or ticket is finished.

Chats
    A share is handled by the bot alone (``chat.ended`` resolved_by bot, never accepted). The
    rest wait in a FIFO per queue for a free slot of an online chat agent (least loaded first);
    a chat still waiting after ``chat_overflow_seconds`` may also go to an idle ticket agent
    (blended overflow). Customers give up after an exponential patience (mean 150–170 s,
    ``chat.abandoned``, a missed chat). Accepted chats exchange agent/customer messages
    (greetings and answers sometimes from templates) over a log-normal handle time (mean 8 min;
    an agent answers a customer message in ~20 s on average, slower with more chats open),
    are sometimes transferred to a free agent of another queue, end, and afterwards may be rated
    (worse after a wait over two minutes) or converted into a ticket (``chat.converted`` plus a
    chat-channel ``ticket.created``).

Tickets
    Callers wait on hold for an idle ticket agent of the queue (calls come before written work);
    the agent logs the call as a phone ticket and is busy for the call and wrap-up. A caller who
    gives up, or rings when nobody is on shift, leaves a voicemail: a phone ticket without an
    agent, called back as ordinary work. Written tickets may get a bot answer (some solved by
    it), a few are solved by a suggested help article (``self_service``), the rest become agent
    work after a channel-dependent triage delay (social ~5 min, email ~1 h). Agents pick work by
    priority (social counts one level higher) then age, so under load email waits hours while
    social stays well under two. After the public reply a ticket is solved (one-touch share),
    goes ``pending`` for the customer (who answers, or it is auto-solved a day later) or
    ``on_hold``; internal notes, template replies and escalations happen along the way. Solved
    tickets may be rated (CSAT, effort), occasionally reopened by a customer reply, and are
    closed 2–8 hours later; nothing follows the close.

Commerce
    ``campaign.shown`` prompts (some answered by a chat carrying ``campaign_id``),
    ``selfservice.session`` (resolved = deflection, 20–30 %), and ``order.placed`` — a share by
    customers who contacted support in the previous five days (assisted orders), the rest from the
    pool. Amounts are decimal strings with two places, mostly EUR/USD/CZK.

Timestamps are UTC (``+00:00``) with microseconds; `timezone` only shapes the local day.
Ids: event ids and conversation ids carry a short hash of (profile, seed, start, queues) so two
different runs never collide in the consumer's dedupe or tables; agent and customer ids are stable
across runs so scorecards and contact rates accumulate across days.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_QUEUES",
    "EVENT_TYPES",
    "PROFILES",
    "Profile",
    "Shift",
    "generate",
    "key_of",
    "stream_of",
]

DEFAULT_QUEUES: Final[tuple[str, ...]] = ("orders", "returns", "payments", "general")

_STREAM_OF: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "ticket.created",
                "ticket.replied",
                "ticket.status_changed",
                "ticket.assigned",
                "ticket.priority_changed",
                "ticket.rated",
                "ticket.effort_rated",
            ),
            "tickets",
        ),
        **dict.fromkeys(
            (
                "chat.requested",
                "chat.accepted",
                "chat.message",
                "chat.transferred",
                "chat.ended",
                "chat.abandoned",
                "chat.rated",
                "chat.converted",
            ),
            "chats",
        ),
        "agent.status_changed": "agents",
        **dict.fromkeys(("order.placed", "campaign.shown", "selfservice.session"), "commerce"),
    }
)

EVENT_TYPES: Final[tuple[str, ...]] = tuple(_STREAM_OF)

# The field that carries the Kafka key, per stream (commerce differs per type, see key_of).
_KEY_FIELD: Final[Mapping[str, str]] = MappingProxyType(
    {
        "tickets": "ticket_id",
        "chats": "chat_id",
        "agents": "agent_id",
        "order.placed": "customer_id",
        "campaign.shown": "campaign_id",
        "selfservice.session": "session_id",
    }
)


def stream_of(event_type: str) -> str:
    """The stream (`tickets`, `chats`, `agents`, `commerce`) an event type belongs to."""
    try:
        return _STREAM_OF[event_type]
    except KeyError:
        raise ValueError(f"unknown event type {event_type!r}") from None


def key_of(event: Mapping[str, object]) -> str:
    """The Kafka message key of an event, per CONTRACT §1."""
    etype = event.get("type")
    if not isinstance(etype, str):
        raise ValueError("event has no string 'type'")
    stream = stream_of(etype)
    field_name = _KEY_FIELD[etype] if stream == "commerce" else _KEY_FIELD[stream]
    key = event.get(field_name)
    if not isinstance(key, str) or not key:
        raise ValueError(f"{etype} event has no key field {field_name!r}")
    return key


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shift:
    """A daily shift in local time. `coverage` is the share of a queue's peak head count on it."""

    start_hour: float
    hours: float
    coverage: float


# Relative arrival rate at the midpoint of each local hour (max 1.0). Quiet 01–05 h, a bump at
# 08 h (orders checked before work), the lunch peak 12–14 h and the after-work peak 17–20 h.
_DIURNAL: Final = (
    0.12, 0.07, 0.05, 0.04, 0.05, 0.09,
    0.22, 0.45, 0.56, 0.50, 0.55, 0.72,
    0.98, 1.00, 0.74, 0.64, 0.70, 0.88,
    0.97, 0.95, 0.72, 0.52, 0.34, 0.20,
)  # fmt: skip

# Monday … Sunday. Weekends are quieter for a mostly B2C shop, Monday carries the weekend's mail.
_WEEKDAYS: Final = (1.08, 1.0, 0.97, 0.95, 0.92, 0.72, 0.80)

# Overlapping shifts whose summed coverage follows the diurnal curve: ~0.45 for the morning
# bump, ~1.0 at 12–14 h, ~0.95 at 17–20 h, a late shift that clears the day's backlog and a
# skeleton night crew.
_SHIFTS: Final = (
    Shift(6.0, 8.0, 0.45),
    Shift(9.0, 8.0, 0.20),
    Shift(12.0, 8.0, 0.35),
    Shift(14.0, 8.0, 0.15),
    Shift(17.0, 8.0, 0.45),
    Shift(22.0, 8.0, 0.06),
)

_REQUEST_QUEUE: Final = (
    ("order_status", "orders"),
    ("shipping", "orders"),
    ("returns", "returns"),
    ("payment", "payments"),
    ("product_question", "general"),
    ("account", "general"),
)


@dataclass(frozen=True, slots=True)
class Profile:
    """Every knob of the traffic model. Build variants with `dataclasses.replace`."""

    name: str
    # Arrivals: new conversations (tickets + chats) per hour at the daily peak of a weekday
    # with factor 1.0, for the default four queues. `scale` multiplies volume and roster alike.
    peak_conversations_per_hour: float = 150.0
    scale: float = 1.0
    diurnal: tuple[float, ...] = _DIURNAL
    weekday_factors: tuple[float, ...] = _WEEKDAYS
    # Mixes: (value, weight) pairs; weights need not sum to 1.
    channel_mix: tuple[tuple[str, float], ...] = (
        ("chat", 0.38),
        ("email", 0.26),
        ("web_form", 0.12),
        ("phone", 0.14),
        ("social", 0.10),
    )
    priority_mix: tuple[tuple[str, float], ...] = (
        ("low", 0.10),
        ("normal", 0.76),
        ("high", 0.10),
        ("urgent", 0.04),
    )
    request_mix: tuple[tuple[str, float], ...] = (
        ("order_status", 0.28),
        ("shipping", 0.12),
        ("returns", 0.18),
        ("payment", 0.10),
        ("product_question", 0.24),
        ("account", 0.08),
    )
    request_queues: tuple[tuple[str, str], ...] = _REQUEST_QUEUE
    repeat_contact_ratio: float = 0.12  # contacts by someone who contacted recently
    recent_contacts: int = 4096  # ring of recent contacts (repeat contacts, assisted orders)
    # Roster: head count meeting the target occupancy at this profile's peak, times staffing.
    shifts: tuple[Shift, ...] = _SHIFTS
    chat_staffing: float = 1.0
    ticket_staffing: float = 1.0
    chat_target_occupancy: float = 0.6  # of chat slots (max_chats per agent)
    ticket_target_occupancy: float = 0.75
    max_chats: tuple[int, ...] = (2, 3)
    multi_queue_ratio: float = 0.34  # chat agents also serving a neighbouring queue
    break_minutes: float = 30.0
    # Chats.
    bot_chat_ratio: float = 0.14  # chats resolved by the bot without an agent
    bot_greeting_ratio: float = 0.6
    chat_patience_seconds: float = 150.0  # mean of the exponential patience
    # Blended ticket agents take a chat only once it has waited this long (overflow routing),
    # so they shield the chat queue at peaks at the expense of the ticket backlog.
    chat_overflow_seconds: float = 60.0
    chat_handle_seconds: float = 480.0  # mean of the log-normal handle time
    # Agents answer a customer's chat message within seconds (customers take longer to type);
    # an agent juggling several chats answers more slowly: the mean grows by
    # `chat_reply_load_factor` for every other chat the agent has open.
    chat_agent_reply_seconds: float = 20.0
    chat_reply_load_factor: float = 0.25
    chat_transfer_ratio: float = 0.05
    chat_template_ratio: float = 0.3
    chat_rated_ratio: float = 0.3
    chat_converted_ratio: float = 0.07
    customer_id_on_chat_ratio: float = 0.75
    # Tickets.
    triage_seconds: tuple[tuple[str, float], ...] = (
        ("email", 3600.0),
        ("web_form", 2700.0),
        ("social", 300.0),
        ("chat", 600.0),
        ("phone", 0.0),
    )
    first_reply_work_seconds: float = 360.0
    follow_up_work_seconds: float = 240.0
    phone_handle_seconds: float = 360.0  # call plus wrap-up; the agent is busy meanwhile
    phone_patience_seconds: float = 180.0  # then the caller leaves a voicemail
    ticket_bot_ratio: tuple[tuple[str, float], ...] = (
        ("order_status", 0.35),
        ("shipping", 0.2),
    )
    default_ticket_bot_ratio: float = 0.06
    bot_solve_ratio: float = 0.4
    self_service_solve_ratio: float = 0.04
    one_touch_ratio: float = 0.55
    follow_up_solve_ratio: float = 0.6
    on_hold_ratio: float = 0.05
    on_hold_seconds: float = 3 * 3600.0
    internal_note_ratio: float = 0.1
    agent_template_ratio: float = 0.35
    escalation_ratio: float = 0.04
    customer_answers_ratio: float = 0.75
    customer_reply_seconds: float = 2 * 3600.0
    pending_auto_solve_seconds: float = 24 * 3600.0
    reopen_ratio: float = 0.07
    close_after_seconds: tuple[float, float] = (2 * 3600.0, 8 * 3600.0)
    ticket_rated_ratio: float = 0.25
    ticket_effort_rated_ratio: float = 0.18
    # Satisfaction: weights of scores 1..5. ~75 % 4–5 is the e-commerce average (DOMAIN.md).
    csat_weights: tuple[float, ...] = (0.07, 0.06, 0.12, 0.27, 0.48)
    csat_after_long_wait_weights: tuple[float, ...] = (0.16, 0.13, 0.19, 0.24, 0.28)
    long_wait_seconds: float = 120.0
    effort_weights: tuple[float, ...] = (0.36, 0.29, 0.17, 0.11, 0.07)
    # Commerce, per conversation, on the same arrival curve.
    selfservice_per_conversation: float = 0.8
    deflection_ratio: float = 0.25
    campaigns_per_conversation: float = 0.5
    campaign_chat_ratio: float = 0.08
    campaign_request_type: str = "product_question"
    campaigns: tuple[str, ...] = ("cmp-cart-abandon", "cmp-free-shipping", "cmp-newsletter")
    orders_per_conversation: float = 1.2
    assisted_order_ratio: float = 0.2
    assisted_window_seconds: float = 5 * 86400.0
    currencies: tuple[tuple[str, float], ...] = (
        ("EUR", 0.55),
        ("USD", 0.22),
        ("CZK", 0.18),
        ("GBP", 0.05),
    )
    order_median_eur: float = 55.0
    customers: int = 40_000


# Rough exchange rates so order amounts look right in each currency.
_CURRENCY_RATE: Final[Mapping[str, float]] = MappingProxyType(
    {"EUR": 1.0, "USD": 1.1, "CZK": 25.0, "GBP": 0.85, "PLN": 4.3, "CHF": 0.95}
)

_NORMAL = Profile(name="normal")

PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {
        "normal": _NORMAL,
        # Plan for last year's busiest day × 3 (DOMAIN.md). Staffing does not triple (staffing
        # factors are relative to this profile's own need): chat gets 0.55 × 3 = 1.65× the
        # normal head count, the ticket desk 2.55× (overtime), so the chat queue builds at the
        # peaks and abandonments climb, while the ticket backlog drains in the evening.
        "black-friday": Profile(
            name="black-friday",
            peak_conversations_per_hour=450.0,
            chat_staffing=0.55,
            ticket_staffing=0.85,
            chat_patience_seconds=170.0,
            request_mix=(
                ("order_status", 0.30),
                ("shipping", 0.12),
                ("returns", 0.12),
                ("payment", 0.16),
                ("product_question", 0.24),
                ("account", 0.06),
            ),
            priority_mix=(("low", 0.08), ("normal", 0.74), ("high", 0.12), ("urgent", 0.06)),
            campaigns_per_conversation=0.7,
            campaigns=("cmp-bf-doorbusters", "cmp-cart-abandon", "cmp-bf-extra-10"),
            orders_per_conversation=1.5,
            csat_weights=(0.08, 0.07, 0.13, 0.27, 0.45),
            customers=120_000,
        ),
        # The last shipping days: "where is my order?" dominates, more urgency; 2.5× volume on
        # 1.5× chat and 2× ticket staff.
        "christmas": Profile(
            name="christmas",
            peak_conversations_per_hour=375.0,
            chat_staffing=0.6,
            ticket_staffing=0.8,
            request_mix=(
                ("order_status", 0.40),
                ("shipping", 0.18),
                ("returns", 0.08),
                ("payment", 0.08),
                ("product_question", 0.20),
                ("account", 0.06),
            ),
            priority_mix=(("low", 0.06), ("normal", 0.72), ("high", 0.14), ("urgent", 0.08)),
            campaigns=("cmp-last-shipping-day", "cmp-gift-cards", "cmp-cart-abandon"),
            orders_per_conversation=1.3,
            customers=100_000,
        ),
    }
)

_TEMPLATES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "order_status": ("tpl-where-is-my-order", "tpl-order-delayed"),
        "shipping": ("tpl-shipping-times", "tpl-last-shipping-day"),
        "returns": ("tpl-return-label", "tpl-refund-timeline"),
        "payment": ("tpl-payment-failed", "tpl-double-charge"),
        "product_question": ("tpl-size-guide", "tpl-stock-check"),
        "account": ("tpl-password-reset",),
    }
)
_GREETING_TEMPLATE: Final = "tpl-chat-greeting"
_PRIORITY_RANK: Final[Mapping[str, int]] = MappingProxyType(
    {"urgent": 0, "high": 1, "normal": 2, "low": 3}
)

# --------------------------------------------------------------------------------------------
# Simulation state
# --------------------------------------------------------------------------------------------

_OFFLINE, _ONLINE, _AWAY = 0, 1, 2
_WAITING, _ACTIVE, _DONE = 0, 1, 2


class _Picker:
    """Weighted choice by bisection: cheaper per draw than random.choices."""

    __slots__ = ("_cum", "_total", "_values")

    def __init__(self, pairs: Sequence[tuple[str, float]]) -> None:
        if not pairs or any(w < 0 for _, w in pairs) or sum(w for _, w in pairs) <= 0:
            raise ValueError(f"bad weights: {pairs!r}")
        self._values = tuple(v for v, _ in pairs)
        self._cum = tuple(accumulate(w for _, w in pairs))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> str:
        i = bisect_right(self._cum, rng.random() * self._total)
        return self._values[min(i, len(self._values) - 1)]


class _ScorePicker(_Picker):
    def __init__(self, weights: Sequence[float]) -> None:
        if len(weights) != 5:
            raise ValueError("score weights need five entries (scores 1..5)")
        super().__init__([(str(i + 1), w) for i, w in enumerate(weights)])

    def score(self, rng: random.Random) -> int:
        return int(self.pick(rng))


class _Agent:
    __slots__ = (
        "busy",
        "chats",
        "days",
        "id",
        "is_chat",
        "leaving",
        "max_chats",
        "queues",
        "shift",
        "status",
    )

    def __init__(
        self,
        agent_id: str,
        queues: tuple[str, ...],
        max_chats: int,
        is_chat: bool,
        shift: Shift,
        days: tuple[bool, ...],
    ) -> None:
        self.id = agent_id
        self.queues = queues
        self.max_chats = max_chats
        self.is_chat = is_chat
        self.shift = shift
        self.days = days
        self.status = _OFFLINE
        self.leaving = False
        self.chats = 0
        self.busy = False  # working on a ticket


class _Chat:
    __slots__ = (
        "agent",
        "customer",
        "gap",
        "id",
        "left",
        "queue",
        "request_type",
        "requested",
        "state",
        "step",
        "transfer_at",
        "waited",
    )

    def __init__(self, chat_id: str, queue: str, request_type: str, customer: str | None) -> None:
        self.id = chat_id
        self.queue = queue
        self.request_type = request_type
        self.customer = customer
        self.requested = 0.0
        self.state = _WAITING
        self.agent: _Agent | None = None
        self.left = 0
        self.step = 0
        self.gap = 0.0
        self.transfer_at = -1
        self.waited = 0.0


class _Call:
    """A caller on hold; becomes a ticket when answered or when they leave a voicemail."""

    __slots__ = ("customer", "priority", "queue", "request_type", "requested", "state")

    def __init__(
        self, queue: str, request_type: str, priority: str, customer: str, requested: float
    ) -> None:
        self.queue = queue
        self.request_type = request_type
        self.priority = priority
        self.customer = customer
        self.requested = requested
        self.state = _WAITING


class _Ticket:
    __slots__ = (
        "agent_id",
        "agent_replies",
        "channel",
        "customer",
        "gen",
        "id",
        "priority",
        "queue",
        "request_type",
        "rounds",
        "status",
    )

    def __init__(
        self,
        ticket_id: str,
        channel: str,
        priority: str,
        queue: str,
        request_type: str,
        customer: str | None,
    ) -> None:
        self.id = ticket_id
        self.channel = channel
        self.priority = priority
        self.queue = queue
        self.request_type = request_type
        self.customer = customer
        self.status = "new"
        self.agent_id: str | None = None
        self.agent_replies = 0
        self.rounds = 0
        # Bumped on every transition; scheduled follow-ups carry the value they were made for
        # and are dropped if it moved on (e.g. a rating planned before a reopen).
        self.gen = 0


_Event = dict[str, object]
_WorkItem = tuple[int, float, int, _Ticket, int]


class _Simulation:
    def __init__(
        self,
        profile: Profile,
        seed: int,
        start: datetime,
        duration: float,
        queues: tuple[str, ...],
        tz: ZoneInfo,
    ) -> None:
        p = profile
        self.p = p
        self.rng = random.Random(seed)
        self.tz = tz
        self.end = duration
        self.queues = queues
        self.start_us = (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        self.start_epoch = self.start_us / 1_000_000
        # The whole profile goes into the run id: a tweaked copy of a profile is another run.
        run = hashlib.blake2b(
            f"{p!r}|{seed}|{self.start_us}|{','.join(queues)}|{tz.key}".encode(),
            digest_size=4,
        ).hexdigest()
        self.run = run
        self.event_prefix = f"sim-{run}-"

        self.heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self.seq = 0
        self.now = 0.0
        self.out: list[_Event] = []
        self.n_events = 0
        self.n_other = 0
        self.stamp_t = -1.0
        self.stamp = ""
        self.stamp_day = -1
        self.stamp_date = ""
        self.offsets: dict[int, int] = {}

        self.channels = _Picker(p.channel_mix)
        self.priorities = _Picker(p.priority_mix)
        self.requests = _Picker(p.request_mix)
        self.currencies = _Picker(p.currencies)
        self.csat = _ScorePicker(p.csat_weights)
        self.csat_poor = _ScorePicker(p.csat_after_long_wait_weights)
        self.effort = _ScorePicker(p.effort_weights)
        self.triage = dict(p.triage_seconds)
        self.ticket_bot = dict(p.ticket_bot_ratio)
        if len(p.diurnal) != 24 or len(p.weekday_factors) != 7:
            raise ValueError("diurnal needs 24 values and weekday_factors 7")

        preferred = dict(p.request_queues)
        self.queue_of: dict[str, str] = {}
        for i, (rtype, _) in enumerate(p.request_mix):
            q = preferred.get(rtype)
            self.queue_of[rtype] = q if q in queues else queues[i % len(queues)]
        if p.campaign_request_type not in self.queue_of:
            self.queue_of[p.campaign_request_type] = queues[-1]

        # Arrival kinds share one thinned process; the kind is drawn on acceptance.
        self.kinds = _Picker(
            [
                ("conversation", 1.0),
                ("selfservice", p.selfservice_per_conversation),
                ("campaign", p.campaigns_per_conversation),
                ("order", p.orders_per_conversation),
            ]
        )
        kinds_total = (
            1.0
            + p.selfservice_per_conversation
            + p.campaigns_per_conversation
            + p.orders_per_conversation
        )
        self.rate_unit = p.peak_conversations_per_hour * p.scale * kinds_total / 3600.0
        self.rate_max = self.rate_unit * max(p.diurnal) * max(p.weekday_factors)

        self.fifo: dict[str, deque[_Chat]] = {q: deque() for q in queues}
        self.calls: dict[str, deque[_Call]] = {q: deque() for q in queues}
        # Ticket agents on shift per queue (online or on a break): is anyone answering phones?
        self.on_shift: dict[str, int] = dict.fromkeys(queues, 0)
        self.work: dict[str, list[_WorkItem]] = {q: [] for q in queues}
        self.chat_agents: dict[str, list[_Agent]] = {q: [] for q in queues}
        self.ticket_agents: dict[str, list[_Agent]] = {q: [] for q in queues}
        self.ticket_idle: dict[str, dict[_Agent, None]] = {q: {} for q in queues}
        self.recent: list[tuple[float, str]] = []
        self.recent_pos = 0
        self.recent_max = max(1, p.recent_contacts)
        self.agents = self._build_roster()

    # ---- time ------------------------------------------------------------------------------
    def push(self, t: float, fn: Callable[[Any], None], arg: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, fn, arg))

    def _offset(self, epoch: float) -> int:
        # Offsets change only on quarter-hour boundaries in real zones; caching per quarter hour
        # keeps zoneinfo off the hot path.
        bucket = int(epoch // 900)
        off = self.offsets.get(bucket)
        if off is None:
            dt = datetime.fromtimestamp(bucket * 900, self.tz)
            delta = dt.utcoffset()
            off = int(delta.total_seconds()) if delta is not None else 0
            if len(self.offsets) > 512:  # lookups move forward with the clock
                self.offsets.clear()
            self.offsets[bucket] = off
        return off

    def local_hour_weekday(self, t: float) -> tuple[float, int]:
        epoch = self.start_epoch + t
        local = epoch + self._offset(epoch)
        day = math.floor(local / 86400)
        # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        return (local - day * 86400) / 3600.0, (day + 3) % 7

    def rate(self, t: float) -> float:
        hour, weekday = self.local_hour_weekday(t)
        d = self.p.diurnal
        x = hour - 0.5
        i = math.floor(x)
        frac = x - i
        level = d[i % 24] * (1.0 - frac) + d[(i + 1) % 24] * frac
        return self.rate_unit * level * self.p.weekday_factors[weekday]

    def local_epoch(self, day_ordinal: int, hour: float) -> float:
        """Seconds from start of `hour` o'clock on a local calendar day (DST-aware)."""
        midnight = datetime.fromordinal(day_ordinal).replace(tzinfo=self.tz)
        wall = midnight + timedelta(hours=hour)  # wall-clock arithmetic on purpose
        return wall.timestamp() - self.start_epoch

    # ---- output ----------------------------------------------------------------------------
    def emit(self, etype: str, fields: _Event) -> None:
        t = self.now
        if t != self.stamp_t:
            us = self.start_us + round(t * 1_000_000)
            sec, frac = divmod(us, 1_000_000)
            day, rem = divmod(sec, 86400)
            if day != self.stamp_day:
                # strftime per event was the top cost; the date changes once a day.
                self.stamp_day = day
                self.stamp_date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
            hh, rem = divmod(rem, 3600)
            mm, ss = divmod(rem, 60)
            self.stamp = f"{self.stamp_date}{hh:02d}:{mm:02d}:{ss:02d}.{frac:06d}+00:00"
            self.stamp_t = t
        self.n_events += 1
        ev: _Event = {
            "event_id": f"{self.event_prefix}{self.n_events}",
            "type": etype,
            "occurred_at": self.stamp,
        }
        ev.update(fields)
        self.out.append(ev)

    def new_id(self, prefix: str) -> str:
        self.n_other += 1
        return f"{prefix}-{self.run}-{self.n_other}"

    # ---- main loop -------------------------------------------------------------------------
    def run_events(self) -> Iterator[_Event]:
        self._start_agents()
        self._schedule_arrival(0.0)
        heap = self.heap
        out = self.out
        end = self.end
        if out:
            yield from out
            out.clear()
        while heap:
            t, _, fn, arg = heapq.heappop(heap)
            if t > end:
                return
            self.now = t
            fn(arg)
            if out:
                yield from out
                out.clear()

    # ---- customers -------------------------------------------------------------------------
    def pool_customer(self) -> str:
        return f"cust-{self.rng.randrange(self.p.customers):06d}"

    def contact_customer(self) -> str:
        rng = self.rng
        if self.recent and rng.random() < self.p.repeat_contact_ratio:
            cust = self.recent[rng.randrange(len(self.recent))][1]
        else:
            cust = self.pool_customer()
        self.remember(cust)
        return cust

    def remember(self, cust: str) -> None:
        # A fixed ring, so "recent contacts" cost constant memory however long the run.
        if len(self.recent) < self.recent_max:
            self.recent.append((self.now, cust))
        else:
            self.recent[self.recent_pos] = (self.now, cust)
            self.recent_pos = (self.recent_pos + 1) % self.recent_max

    # ---- arrivals --------------------------------------------------------------------------
    def _schedule_arrival(self, t: float) -> None:
        rng = self.rng
        rate_max = self.rate_max
        if rate_max <= 0:
            return
        while True:
            t += rng.expovariate(rate_max)
            if t > self.end:
                return  # nothing after the end is ever emitted
            if rng.random() * rate_max <= self.rate(t):
                self.push(t, self._on_arrival, None)
                return

    def _on_arrival(self, _: None) -> None:
        kind = self.kinds.pick(self.rng)
        if kind == "conversation":
            self._new_conversation()
        elif kind == "selfservice":
            self.emit(
                "selfservice.session",
                {
                    "session_id": self.new_id("S"),
                    "resolved": self.rng.random() < self.p.deflection_ratio,
                },
            )
        elif kind == "campaign":
            self._campaign_shown()
        else:
            self._order()
        self._schedule_arrival(self.now)

    def _new_conversation(self) -> None:
        rng = self.rng
        rtype = self.requests.pick(rng)
        queue = self.queue_of[rtype]
        channel = self.channels.pick(rng)
        priority = self.priorities.pick(rng)
        customer = self.contact_customer()
        if channel == "chat":
            cust = customer if rng.random() < self.p.customer_id_on_chat_ratio else None
            self._new_chat(queue, rtype, priority, cust, None)
        elif channel == "phone":
            self._new_call(_Call(queue, rtype, priority, customer, self.now))
        else:
            self._new_ticket(channel, queue, rtype, priority, customer)

    def _campaign_shown(self) -> None:
        rng = self.rng
        campaign = self.p.campaigns[rng.randrange(len(self.p.campaigns))]
        customer = self.pool_customer() if rng.random() < 0.8 else None
        fields: _Event = {"campaign_id": campaign}
        if customer is not None:
            fields["customer_id"] = customer
        self.emit("campaign.shown", fields)
        if rng.random() < self.p.campaign_chat_ratio:
            self.push(
                self.now + rng.expovariate(1 / 45.0), self._campaign_chat, (campaign, customer)
            )

    def _campaign_chat(self, arg: tuple[str, str | None]) -> None:
        campaign, customer = arg
        if customer is not None:
            self.remember(customer)
        rtype = self.p.campaign_request_type
        self._new_chat(self.queue_of[rtype], rtype, "normal", customer, campaign)

    def _order(self) -> None:
        rng = self.rng
        p = self.p
        customer = None
        if self.recent and rng.random() < p.assisted_order_ratio:
            seen, cust = self.recent[rng.randrange(len(self.recent))]
            if self.now - seen <= p.assisted_window_seconds:
                customer = cust
        if customer is None:
            customer = self.pool_customer()
        currency = self.currencies.pick(rng)
        amount = rng.lognormvariate(math.log(p.order_median_eur), 0.7)
        amount *= _CURRENCY_RATE.get(currency, 1.0)
        self.emit(
            "order.placed",
            {
                "order_id": self.new_id("O"),
                "customer_id": customer,
                "amount": f"{amount:.2f}",
                "currency": currency,
            },
        )

    # ---- roster ----------------------------------------------------------------------------
    def _build_roster(self) -> list[_Agent]:
        """Head counts per shift from the peak load, split over queues by their traffic share.

        Chat agents form one pool sized on the total chat load (slots = `max_chats`), ticket
        agents one pool sized on agent-touches; each agent gets a primary queue by the D'Hondt
        rule so big queues get most people, and every queue without a primary agent on a shift
        is served by all of that shift's agents (nobody's queue is left unattended).
        """
        p = self.p
        peak = p.peak_conversations_per_hour * p.scale
        shares: dict[str, float] = dict.fromkeys(self.queues, 0.0)
        total_w = sum(w for _, w in p.request_mix)
        for rtype, w in p.request_mix:
            shares[self.queue_of[rtype]] += w / total_w
        chat_share = dict(p.channel_mix).get("chat", 0.0) / sum(w for _, w in p.channel_mix)
        chats_h = peak * chat_share * (1 - p.bot_chat_ratio)
        chats_h += peak * p.campaigns_per_conversation * p.campaign_chat_ratio
        tickets_h = peak * (1 - chat_share)
        mean_slots = sum(p.max_chats) / len(p.max_chats)
        # Agent-touches per ticket (first reply, follow-ups, net of bot and self-service).
        touches = 1.4
        work = (p.first_reply_work_seconds + p.follow_up_work_seconds) / 2
        chat_erlangs = chats_h * p.chat_handle_seconds / 3600
        ticket_erlangs = tickets_h * touches * work / 3600
        need = {
            "c": chat_erlangs / (mean_slots * p.chat_target_occupancy) * p.chat_staffing,
            "t": ticket_erlangs / p.ticket_target_occupancy * p.ticket_staffing,
        }
        served = [q for q in self.queues if shares[q] > 0] or list(self.queues)
        agents: list[_Agent] = []
        for kind in ("c", "t"):
            is_chat = kind == "c"
            ranks = dict.fromkeys(self.queues, 0)
            for si, shift in enumerate(p.shifts):
                base = need[kind] * shift.coverage
                if base <= 0:
                    continue
                per_day = [max(1, round(base * f)) for f in p.weekday_factors]
                primaries = _dhondt(served, shares, max(per_day))
                # Queues left without a primary agent on the thinnest day of this shift.
                orphans = tuple(q for q in served if q not in primaries[: min(per_day)])
                for i, primary in enumerate(primaries):
                    serves = (primary, *(q for q in orphans if q != primary))
                    # Deterministic and seed-independent: the roster is the same company
                    # whatever the traffic seed.
                    if (
                        is_chat
                        and len(served) > 1
                        and (i * 37 + si * 11) % 100 < (p.multi_queue_ratio * 100)
                    ):
                        nxt = served[(served.index(primary) + 1) % len(served)]
                        if nxt not in serves:
                            serves = (*serves, nxt)
                    ranks[primary] += 1
                    agent = _Agent(
                        agent_id=f"agent-{primary}-{kind}{ranks[primary]:02d}",
                        queues=serves,
                        max_chats=p.max_chats[i % len(p.max_chats)] if is_chat else 1,
                        is_chat=is_chat,
                        shift=shift,
                        days=tuple(i < n for n in per_day),
                    )
                    agents.append(agent)
                    for q in serves:
                        (self.chat_agents if is_chat else self.ticket_agents)[q].append(agent)
        return agents

    def _next_shift(self, agent: _Agent, after: float, initial: bool) -> tuple[float, float] | None:
        """First shift of `agent` that is still running (initial) or starts at/after `after`."""
        epoch = self.start_epoch + after
        local_day = datetime.fromtimestamp(epoch, self.tz).date().toordinal()
        for day in range(local_day - 1, local_day + 9):
            weekday = (day - 1) % 7  # date.fromordinal(1) is a Monday
            if not agent.days[weekday]:
                continue
            s = self.local_epoch(day, agent.shift.start_hour)
            e = s + agent.shift.hours * 3600.0
            if (initial and e > after) or (not initial and s >= after):
                return s, e
        return None

    def _start_agents(self) -> None:
        for agent in self.agents:
            nxt = self._next_shift(agent, 0.0, initial=True)
            if nxt is None:
                continue
            s, e = nxt
            if s <= 0.0:
                self.now = 0.0
                self._shift_start((agent, e, s))
            else:
                self.push(s, self._shift_start, (agent, e, s))

    # ---- agents ----------------------------------------------------------------------------
    def _agent_status(self, agent: _Agent, status: str) -> None:
        self.emit(
            "agent.status_changed",
            {
                "agent_id": agent.id,
                "status": status,
                "queues": list(agent.queues),
                "max_chats": agent.max_chats,
            },
        )

    def _shift_start(self, arg: tuple[_Agent, float, float]) -> None:
        agent, end, start = arg
        rng = self.rng
        agent.status = _ONLINE
        agent.leaving = False
        if not agent.is_chat:
            for q in agent.queues:
                self.on_shift[q] += 1
        self._agent_status(agent, "online")
        length = end - start
        breaks: list[tuple[float, float]] = []
        if length >= 4 * 3600:
            breaks.append(
                (start + length * rng.uniform(0.4, 0.6), self.p.break_minutes * rng.uniform(50, 70))
            )
        if length >= 6 * 3600 and rng.random() < 0.6:
            breaks.append((start + length * rng.uniform(0.15, 0.3), rng.uniform(600, 900)))
        for at, dur in breaks:
            if at > self.now:
                self.push(at, self._break_start, (agent, dur))
        self.push(end, self._shift_end, agent)
        self._pull(agent)

    def _break_start(self, arg: tuple[_Agent, float]) -> None:
        agent, dur = arg
        if agent.status != _ONLINE or agent.leaving:
            return
        agent.status = _AWAY
        self._unidle(agent)
        self._agent_status(agent, "away")
        self.push(self.now + dur, self._break_end, agent)

    def _break_end(self, agent: _Agent) -> None:
        if agent.status != _AWAY:
            return
        agent.status = _ONLINE
        self._agent_status(agent, "online")
        if agent.leaving:
            self._free(agent)
        else:
            self._pull(agent)

    def _shift_end(self, agent: _Agent) -> None:
        agent.leaving = True
        if not agent.is_chat:
            for q in agent.queues:
                self.on_shift[q] -= 1
        self._unidle(agent)
        self._free(agent)

    def _free(self, agent: _Agent) -> None:
        """Called whenever an agent finishes something: take more work, or leave if due."""
        if agent.leaving:
            if agent.chats == 0 and not agent.busy and agent.status != _OFFLINE:
                agent.status = _OFFLINE
                self._agent_status(agent, "offline")
                nxt = self._next_shift(agent, self.now, initial=False)
                if nxt is not None:
                    self.push(nxt[0], self._shift_start, (agent, nxt[1], nxt[0]))
        elif agent.status == _ONLINE:
            self._pull(agent)

    def _unidle(self, agent: _Agent) -> None:
        if not agent.is_chat:
            for q in agent.queues:
                self.ticket_idle[q].pop(agent, None)

    def _pull(self, agent: _Agent) -> None:
        if agent.status != _ONLINE or agent.leaving:
            return
        if agent.is_chat:
            while agent.chats < agent.max_chats:
                chat = self._oldest_waiting(agent.queues)
                if chat is None:
                    return
                self._accept(agent, chat)
            return
        if agent.busy or agent.chats:
            return
        # Callers on hold first, then written tickets, then chats that overflowed.
        call = self._oldest_call(agent.queues)
        if call is not None:
            self._answer(agent, call)
            return
        item = self._best_work(agent.queues)
        if item is not None:
            self._start_work(agent, item)
            return
        # The epsilon keeps the overflow event, due exactly at the threshold, from missing it.
        due = self.now - self.p.chat_overflow_seconds + 1e-6
        chat = self._oldest_waiting(agent.queues, requested_by=due)
        if chat is not None:
            self._accept(agent, chat)
            return
        for q in agent.queues:
            self.ticket_idle[q][agent] = None

    # ---- chats -----------------------------------------------------------------------------
    def _new_chat(
        self,
        queue: str,
        rtype: str,
        priority: str,
        customer: str | None,
        campaign: str | None,
    ) -> None:
        rng = self.rng
        p = self.p
        chat = _Chat(self.new_id("C"), queue, rtype, customer)
        chat.requested = self.now
        fields: _Event = {"chat_id": chat.id, "queue": queue}
        if customer is not None:
            fields["customer_id"] = customer
        if campaign is not None:
            fields["campaign_id"] = campaign
        if priority != "normal":
            fields["priority"] = priority
        self.emit("chat.requested", fields)
        if rng.random() < p.bot_chat_ratio:
            # The bot answers from the knowledge base and closes the chat itself.
            chat.state = _DONE
            chat.left = 2
            self.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
            self.push(self.now + rng.expovariate(1 / 25.0), self._bot_step, chat)
            return
        if rng.random() < p.bot_greeting_ratio:
            self.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
        self.fifo[queue].append(chat)
        self.push(self.now + rng.expovariate(1 / p.chat_patience_seconds), self._abandon, chat)
        self._dispatch_chat(queue)
        if chat.state == _WAITING:
            self.push(self.now + p.chat_overflow_seconds, self._overflow, chat)

    def _bot_step(self, chat: _Chat) -> None:
        rng = self.rng
        if chat.left == 2:
            self.emit("chat.message", {"chat_id": chat.id, "author": "customer"})
        elif chat.left == 1:
            self.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
        else:
            self.emit("chat.ended", {"chat_id": chat.id, "resolved_by": "bot"})
            if rng.random() < self.p.chat_rated_ratio * 0.5:
                self.push(self.now + rng.expovariate(1 / 20.0), self._chat_rate, chat)
            return
        chat.left -= 1
        self.push(self.now + rng.expovariate(1 / 25.0), self._bot_step, chat)

    def _dispatch_chat(self, queue: str) -> None:
        best: _Agent | None = None
        best_load = 2.0
        for agent in self.chat_agents[queue]:
            if agent.status == _ONLINE and not agent.leaving and agent.chats < agent.max_chats:
                load = agent.chats / agent.max_chats
                if load < best_load:
                    best, best_load = agent, load
        if best is not None:
            chat = self._oldest_waiting(best.queues)
            if chat is not None:
                self._accept(best, chat)

    def _overflow(self, chat: _Chat) -> None:
        if chat.state == _WAITING:
            idle = self.ticket_idle[chat.queue]
            if idle:
                self._pull(next(iter(idle)))

    def _oldest_waiting(
        self, queues: tuple[str, ...], requested_by: float | None = None
    ) -> _Chat | None:
        """Pop the longest-waiting chat of `queues` (if it was requested by `requested_by`)."""
        best_q: deque[_Chat] | None = None
        for q in queues:
            dq = self.fifo[q]
            while dq and dq[0].state != _WAITING:
                dq.popleft()  # abandoned chats are dropped lazily
            if dq and (best_q is None or dq[0].requested < best_q[0].requested):
                best_q = dq
        if best_q is None or (requested_by is not None and best_q[0].requested > requested_by):
            return None
        return best_q.popleft()

    def _accept(self, agent: _Agent, chat: _Chat) -> None:
        rng = self.rng
        p = self.p
        self._unidle(agent)
        agent.chats += 1
        chat.state = _ACTIVE
        chat.agent = agent
        chat.waited = self.now - chat.requested
        self.emit("chat.accepted", {"chat_id": chat.id, "agent_id": agent.id})
        # Log-normal handle time with the profile's mean (sigma 0.5: mean = median·e^{σ²/2}).
        handle = rng.lognormvariate(math.log(p.chat_handle_seconds) - 0.125, 0.5)
        rounds = 1 + rng.randrange(4)
        chat.left = 2 * rounds + 1  # agent, (customer, agent) × rounds
        chat.gap = handle / (chat.left + 1)
        chat.step = 0
        chat.transfer_at = (
            1 + rng.randrange(chat.left) if rng.random() < p.chat_transfer_ratio else -1
        )
        self.push(self.now + rng.expovariate(1 / 15.0), self._chat_step, chat)

    def _chat_step(self, chat: _Chat) -> None:
        rng = self.rng
        p = self.p
        agent = chat.agent
        assert agent is not None
        if chat.left == 0:
            self._end_chat(chat, agent)
            return
        if chat.step == chat.transfer_at:
            agent = self._transfer(chat, agent)
        if chat.step % 2 == 0:
            fields: _Event = {"chat_id": chat.id, "author": "agent", "agent_id": agent.id}
            if chat.step == 0 and rng.random() < 0.5:
                fields["template_id"] = _GREETING_TEMPLATE
            elif rng.random() < p.chat_template_ratio:
                fields["template_id"] = self._template(chat.request_type)
            self.emit("chat.message", fields)
        else:
            self.emit("chat.message", {"chat_id": chat.id, "author": "customer"})
        chat.step += 1
        chat.left -= 1
        # Turns alternate; the agent's answer is quick, the customer's turn takes the rest of
        # the pair's share of the handle time, so the mean handle time stays the profile's.
        reply = min(
            chat.gap,
            p.chat_agent_reply_seconds * (1 + p.chat_reply_load_factor * (agent.chats - 1)),
        )
        mean = reply if chat.step % 2 == 0 else 2 * chat.gap - reply
        self.push(self.now + rng.expovariate(1 / mean), self._chat_step, chat)

    def _transfer(self, chat: _Chat, agent: _Agent) -> _Agent:
        # Hand over to a chat agent of another queue with a free slot; if nobody is free the
        # agent keeps the chat (no transfer event), as a real router would refuse it.
        qs = self.queues
        off = self.rng.randrange(len(qs))
        for k in range(len(qs)):
            q = qs[(off + k) % len(qs)]
            if q == chat.queue:
                continue
            for other in self.chat_agents[q]:
                if (
                    other is not agent
                    and other.status == _ONLINE
                    and not other.leaving
                    and other.chats < other.max_chats
                ):
                    self.emit(
                        "chat.transferred", {"chat_id": chat.id, "queue": q, "agent_id": other.id}
                    )
                    other.chats += 1
                    chat.agent = other
                    chat.queue = q
                    agent.chats -= 1
                    self._free(agent)
                    return other
        return agent

    def _end_chat(self, chat: _Chat, agent: _Agent) -> None:
        rng = self.rng
        p = self.p
        chat.state = _DONE
        self.emit("chat.ended", {"chat_id": chat.id, "resolved_by": "agent"})
        agent.chats -= 1
        if rng.random() < p.chat_converted_ratio:
            # Needs follow-up work (a refund, a carrier claim): it continues as a ticket.
            ticket = self._new_ticket(
                "chat", chat.queue, chat.request_type, "normal", chat.customer
            )
            self.emit("chat.converted", {"chat_id": chat.id, "ticket_id": ticket.id})
        if rng.random() < p.chat_rated_ratio:
            self.push(self.now + rng.expovariate(1 / 30.0), self._chat_rate, chat)
        self._free(agent)

    def _abandon(self, chat: _Chat) -> None:
        if chat.state == _WAITING:
            chat.state = _DONE
            self.emit("chat.abandoned", {"chat_id": chat.id})

    def _chat_rate(self, chat: _Chat) -> None:
        picker = self.csat_poor if chat.waited > self.p.long_wait_seconds else self.csat
        self.emit("chat.rated", {"chat_id": chat.id, "score": picker.score(self.rng)})

    def _template(self, rtype: str) -> str:
        options = _TEMPLATES.get(rtype, ("tpl-generic-answer",))
        return options[self.rng.randrange(len(options))]

    # ---- phone -----------------------------------------------------------------------------
    def _new_call(self, call: _Call) -> None:
        idle = self.ticket_idle[call.queue]
        if idle:
            self._answer(next(iter(idle)), call)
            return
        if not self.on_shift[call.queue]:
            self._voicemail(call)  # lines closed
            return
        self.calls[call.queue].append(call)
        patience = self.rng.expovariate(1 / self.p.phone_patience_seconds)
        self.push(self.now + patience, self._call_abandon, call)

    def _call_abandon(self, call: _Call) -> None:
        if call.state == _WAITING:
            self._voicemail(call)

    def _voicemail(self, call: _Call) -> None:
        call.state = _DONE
        self._new_ticket("phone", call.queue, call.request_type, call.priority, call.customer)

    def _oldest_call(self, queues: tuple[str, ...]) -> _Call | None:
        best_q: deque[_Call] | None = None
        for q in queues:
            dq = self.calls[q]
            while dq and dq[0].state != _WAITING:
                dq.popleft()
            if dq and (best_q is None or dq[0].requested < best_q[0].requested):
                best_q = dq
        return best_q.popleft() if best_q is not None else None

    def _answer(self, agent: _Agent, call: _Call) -> None:
        call.state = _DONE
        self._unidle(agent)
        agent.busy = True
        self._new_ticket(
            "phone", call.queue, call.request_type, call.priority, call.customer, agent
        )

    # ---- tickets ---------------------------------------------------------------------------
    def _new_ticket(
        self,
        channel: str,
        queue: str,
        rtype: str,
        priority: str,
        customer: str | None,
        phone_agent: _Agent | None = None,
    ) -> _Ticket:
        """Log a new ticket; with `phone_agent` it records a call that agent is taking."""
        rng = self.rng
        p = self.p
        ticket = _Ticket(self.new_id("T"), channel, priority, queue, rtype, customer)
        fields: _Event = {
            "ticket_id": ticket.id,
            "channel": channel,
            "priority": priority,
            "queue": queue,
            "request_type": rtype,
        }
        if customer is not None:
            fields["customer_id"] = customer
        if phone_agent is not None:
            # The call was the agent's answer; the ticket is the log of it.
            fields["agent_id"] = phone_agent.id
            self.emit("ticket.created", fields)
            ticket.agent_id = phone_agent.id
            ticket.status = "open"
            self.emit(
                "ticket.assigned",
                {"ticket_id": ticket.id, "agent_id": phone_agent.id, "queue": queue},
            )
            self.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "open"})
            call = rng.lognormvariate(math.log(p.phone_handle_seconds) - 0.18, 0.6)
            self.push(self.now + call, self._phone_done, (ticket, ticket.gen, phone_agent))
            return ticket
        self.emit("ticket.created", fields)
        r = rng.random()
        bot = self.ticket_bot.get(rtype, p.default_ticket_bot_ratio)
        written = channel not in ("chat", "phone")  # a voicemail or a chat needs a human
        if written and r < bot:
            self.push(self.now + rng.expovariate(1 / 60.0), self._ticket_bot, (ticket, ticket.gen))
        elif written and r < bot + p.self_service_solve_ratio:
            self.push(
                self.now + rng.expovariate(1 / 900.0), self._ticket_self_solve, (ticket, ticket.gen)
            )
        else:
            delay = rng.expovariate(1 / t) if (t := self.triage.get(channel, 0.0)) > 0 else 0.0
            self.push(self.now + delay, self._ticket_ready, (ticket, ticket.gen))
        return ticket

    def _phone_done(self, arg: tuple[_Ticket, int, _Agent]) -> None:
        ticket, gen, agent = arg
        agent.busy = False
        if ticket.gen == gen:
            ticket.agent_replies += 1
            self.emit(
                "ticket.replied",
                {"ticket_id": ticket.id, "author": "agent", "agent_id": agent.id, "public": True},
            )
            if self.rng.random() < 0.7:
                self._solve(ticket, "agent", agent.id)
            else:
                self._pending(ticket, agent.id)
        self._free(agent)

    def _ticket_bot(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen != gen:
            return
        rng = self.rng
        self.emit(
            "ticket.replied",
            {
                "ticket_id": ticket.id,
                "author": "bot",
                "template_id": self._template(ticket.request_type),
            },
        )
        if rng.random() < self.p.bot_solve_ratio:
            self._solve(ticket, "bot", None)
        else:
            delay = rng.expovariate(1 / max(self.triage.get(ticket.channel, 600.0), 1.0))
            self.push(self.now + delay, self._ticket_ready, (ticket, ticket.gen))

    def _ticket_self_solve(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen == gen:
            self._solve(ticket, "self_service", None)

    def _ticket_ready(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen != gen:
            return
        # Social is public and fast-moving: it jumps one priority level in the agents' view.
        rank = _PRIORITY_RANK[ticket.priority] - (1 if ticket.channel == "social" else 0)
        self.seq += 1
        heapq.heappush(self.work[ticket.queue], (rank, self.now, self.seq, ticket, gen))
        idle = self.ticket_idle[ticket.queue]
        if idle:
            self._pull(next(iter(idle)))

    def _best_work(self, queues: tuple[str, ...]) -> _WorkItem | None:
        best: list[_WorkItem] | None = None
        for q in queues:
            heap = self.work[q]
            while heap and heap[0][3].gen != heap[0][4]:
                heapq.heappop(heap)
            if heap and (best is None or heap[0][:3] < best[0][:3]):
                best = heap
        return heapq.heappop(best) if best is not None else None

    def _start_work(self, agent: _Agent, item: _WorkItem) -> None:
        ticket = item[3]
        p = self.p
        self._unidle(agent)
        agent.busy = True
        if ticket.agent_id != agent.id:
            ticket.agent_id = agent.id
            self.emit(
                "ticket.assigned",
                {"ticket_id": ticket.id, "agent_id": agent.id, "queue": ticket.queue},
            )
        if ticket.status != "open":
            ticket.status = "open"
            self.emit(
                "ticket.status_changed",
                {"ticket_id": ticket.id, "status": "open", "agent_id": agent.id},
            )
        mean = p.first_reply_work_seconds if ticket.agent_replies == 0 else p.follow_up_work_seconds
        work = self.rng.lognormvariate(math.log(mean) - 0.18, 0.6)
        self.push(self.now + work, self._work_done, (agent, ticket, ticket.gen))

    def _work_done(self, arg: tuple[_Agent, _Ticket, int]) -> None:
        agent, ticket, gen = arg
        agent.busy = False
        if ticket.gen == gen:
            self._agent_reply(ticket, agent)
        self._free(agent)

    def _agent_reply(self, ticket: _Ticket, agent: _Agent) -> None:
        rng = self.rng
        p = self.p
        tid = ticket.id
        if rng.random() < p.internal_note_ratio:
            self.emit(
                "ticket.replied",
                {"ticket_id": tid, "author": "agent", "agent_id": agent.id, "public": False},
            )
        if rng.random() < p.escalation_ratio and ticket.priority != "urgent":
            ticket.priority = "urgent" if ticket.priority == "high" else "high"
            self.emit("ticket.priority_changed", {"ticket_id": tid, "priority": ticket.priority})
        fields: _Event = {"ticket_id": tid, "author": "agent", "agent_id": agent.id, "public": True}
        if rng.random() < p.agent_template_ratio:
            fields["template_id"] = self._template(ticket.request_type)
        self.emit("ticket.replied", fields)
        ticket.agent_replies += 1
        solve_ratio = p.one_touch_ratio if ticket.agent_replies == 1 else p.follow_up_solve_ratio
        r = rng.random()
        if r < solve_ratio or ticket.rounds >= 4:
            self._solve(ticket, "agent", agent.id)
        elif r < solve_ratio + p.on_hold_ratio:
            # Waiting on a carrier or the payment provider.
            ticket.status = "on_hold"
            ticket.gen += 1
            self.emit(
                "ticket.status_changed",
                {"ticket_id": tid, "status": "on_hold", "agent_id": agent.id},
            )
            back = self.now + rng.expovariate(1 / p.on_hold_seconds)
            self.push(back, self._ticket_ready, (ticket, ticket.gen))
        else:
            self._pending(ticket, agent.id)

    def _pending(self, ticket: _Ticket, agent_id: str) -> None:
        rng = self.rng
        p = self.p
        ticket.status = "pending"
        ticket.gen += 1
        self.emit(
            "ticket.status_changed",
            {"ticket_id": ticket.id, "status": "pending", "agent_id": agent_id},
        )
        if rng.random() < p.customer_answers_ratio:
            at = self.now + rng.expovariate(1 / p.customer_reply_seconds)
            self.push(at, self._customer_reply, (ticket, ticket.gen))
        else:
            self.push(
                self.now + p.pending_auto_solve_seconds, self._auto_solve, (ticket, ticket.gen)
            )

    def _auto_solve(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen == gen:
            self._solve(ticket, "agent", ticket.agent_id)

    def _customer_reply(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen != gen:
            return
        ticket.gen += 1
        ticket.rounds += 1
        self.emit("ticket.replied", {"ticket_id": ticket.id, "author": "customer"})
        if ticket.status in ("pending", "solved"):
            # A customer answer reopens the ticket: a reopen when it had been solved.
            ticket.status = "open"
            self.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "open"})
        self._ticket_ready((ticket, ticket.gen))

    def _solve(self, ticket: _Ticket, resolved_by: str, agent_id: str | None) -> None:
        rng = self.rng
        p = self.p
        ticket.status = "solved"
        ticket.gen += 1
        gen = ticket.gen
        fields: _Event = {"ticket_id": ticket.id, "status": "solved", "resolved_by": resolved_by}
        if agent_id is not None and resolved_by == "agent":
            fields["agent_id"] = agent_id
        self.emit("ticket.status_changed", fields)
        now = self.now
        lo, hi = p.close_after_seconds
        close_in = rng.uniform(lo, hi)
        self.push(now + close_in, self._close, (ticket, gen))
        # Surveys and reopens land before the close so nothing follows a closed ticket.
        if rng.random() < p.ticket_rated_ratio:
            at = now + min(rng.expovariate(1 / 2400.0), 0.9 * close_in)
            self.push(at, self._ticket_rate, (ticket, gen))
        if rng.random() < p.ticket_effort_rated_ratio:
            at = now + min(rng.expovariate(1 / 2400.0), 0.9 * close_in)
            self.push(at, self._ticket_effort, (ticket, gen))
        if resolved_by != "self_service" and rng.random() < p.reopen_ratio:
            self.push(now + close_in * rng.uniform(0.1, 0.95), self._customer_reply, (ticket, gen))

    def _ticket_rate(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen == gen:
            self.emit("ticket.rated", {"ticket_id": ticket.id, "score": self.csat.score(self.rng)})

    def _ticket_effort(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen == gen:
            score = self.effort.score(self.rng)
            self.emit("ticket.effort_rated", {"ticket_id": ticket.id, "score": score})

    def _close(self, arg: tuple[_Ticket, int]) -> None:
        ticket, gen = arg
        if ticket.gen != gen:
            return
        ticket.status = "closed"
        ticket.gen += 1
        self.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "closed"})


def _dhondt(queues: Sequence[str], shares: Mapping[str, float], n: int) -> list[str]:
    """Primary queue of each of `n` agents, in rank order, proportional to `shares`."""
    given = dict.fromkeys(queues, 0)
    out: list[str] = []
    for _ in range(n):
        q = max(queues, key=lambda q: shares[q] / (given[q] + 1))
        given[q] += 1
        out.append(q)
    return out


def generate(
    profile: str | Profile,
    seed: int,
    start: datetime,
    duration_seconds: float,
    queues: Sequence[str] = DEFAULT_QUEUES,
    timezone: str = "Europe/Prague",
) -> Iterator[dict[str, object]]:
    """Yield CONTRACT §1 event dicts for `duration_seconds` of simulated traffic from `start`.

    The events are JSON-ready, in non-decreasing `occurred_at` (UTC, RFC 3339) and fully
    determined by the arguments. `timezone` is where the shop's customers and agents live: it
    shapes the daily curve and the shifts, not the timestamps' offset.
    """
    if isinstance(profile, str):
        try:
            prof = PROFILES[profile]
        except KeyError:
            raise ValueError(
                f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}"
            ) from None
    else:
        prof = profile
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if not math.isfinite(duration_seconds) or duration_seconds < 0:
        raise ValueError("duration_seconds must be a finite number >= 0")
    qs = tuple(queues)
    if not qs or len(set(qs)) != len(qs) or not all(qs):
        raise ValueError("queues must be distinct non-empty names")
    if prof.scale <= 0 or prof.peak_conversations_per_hour < 0 or prof.customers < 1:
        raise ValueError("profile needs scale > 0, peak >= 0 and customers >= 1")
    try:
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown timezone {timezone!r}") from exc
    sim = _Simulation(prof, seed, start, float(duration_seconds), qs, tz)
    return sim.run_events()
