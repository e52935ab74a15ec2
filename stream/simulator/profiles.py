"""The knobs of the traffic model: `Profile`, its shifts and the named profiles.

Everything the model draws from is a field here, so a variant is `dataclasses.replace(profile,
...)`. The whole `repr` of a profile goes into the run id (`world.py`): keep field names, order
and defaults as they are, or every seeded stream changes (tests/unit/test_simulator_stable.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = ["DEFAULT_QUEUES", "PROFILES", "Profile", "Shift", "profile_named", "queue_of_requests"]

DEFAULT_QUEUES: Final[tuple[str, ...]] = ("orders", "returns", "payments", "general")


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
    # Added after the streams were pinned (issue 15, guest checkout): out of the repr, so the
    # run id and with it every id stays as it was, and drawn from the world's second generator
    # (`World.added_rng`), so the first one's sequence does too. A share of the customer pool
    # shops without an account (chosen by customer id, so it sticks to the customer) and checks
    # out as a guest most of the time; account holders rarely do: ≈ 26 % of orders in all.
    guest_customers_ratio: float = field(default=0.3, repr=False)
    guest_checkout_habit: float = field(default=0.8, repr=False)
    guest_checkout_occasional: float = field(default=0.03, repr=False)


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


def profile_named(name: str) -> Profile:
    """The named profile, or a ValueError listing the names there are."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None


def queue_of_requests(profile: Profile, queues: tuple[str, ...]) -> dict[str, str]:
    """The queue each request type goes to: its preferred queue if the shop has it, else one of
    the shop's queues in turn (so custom queue sets still get all the traffic)."""
    preferred = dict(profile.request_queues)
    queue_of: dict[str, str] = {}
    for i, (rtype, _) in enumerate(profile.request_mix):
        q = preferred.get(rtype)
        queue_of[rtype] = q if q in queues else queues[i % len(queues)]
    if profile.campaign_request_type not in queue_of:
        queue_of[profile.campaign_request_type] = queues[-1]
    return queue_of
