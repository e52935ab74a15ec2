"""Commerce events: the assisted-order join and each customer's engagement windows.

An `order.placed` counts as assisted when the same customer had a ticket or chat within the
attribution window before it. Orders are keyed by customer id on the commerce topic; contacts are
re-keyed by customer id onto an internal topic with the same partitioning, so both sides of a
customer meet in one partition (invariant 2). The join is symmetric in event time: whichever side
arrives first waits (bounded) for the other, so processing order never changes the answer.

The same customer value keeps the orders of the longest engagement window and the latest
contact's instant (`stream/domain/engagement.py`): the window gauges are its contributions, and
the instant an order or the contact leaves a window is its `next_due`, so the sweep re-evaluates
the customer exactly then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from stream.domain import engagement as eng
from stream.domain.effects import Count, Effect
from stream.domain.engagement import Purchase, micros, scaled_amount
from stream.domain.events import CampaignShown, Event, OrderPlaced, SelfServiceSession
from stream.domain.partition import GaugeKey, LabelOf
from stream.domain.recent import Recent, remember, seen

MAX_REMEMBERED = 20  # contacts kept per customer within the attribution window

CAMPAIGN_SHOWN = "campaign_shown"
SELFSERVICE_SESSIONS = "selfservice_sessions"
ASSISTED_ORDERS = "assisted_orders"
ASSISTED_REVENUE = "assisted_revenue"
ORDERS = "orders"
REVENUE = "revenue"  # amount in ten-thousandths (an int): support_revenue_total is exact


class Contact(msgspec.Struct, array_like=True, frozen=True):
    conversation_id: str
    at: datetime


class Order(msgspec.Struct, array_like=True):
    """An order as values written before issue 15 kept it (read, then turned into a Purchase)."""

    order_id: str
    at: datetime
    amount: str
    currency: str
    assisted: bool = False


class CustomerState(msgspec.Struct, array_like=True):
    offset: int
    updated_at: datetime
    recent: Recent
    # Tuples, not lists: the empty one is shared, and one of one item is 48 B, not 88 B.
    contacts: tuple[Contact, ...] = ()
    orders: list[Order] | None = None  # before issue 15 only; now in `purchases`
    # Orders inside the longest window in event-time order (also the assisted join's orders).
    purchases: tuple[Purchase, ...] = ()
    last_contact: int | None = None  # µs since the epoch; the latest contact, any age
    as_of: int = 0  # µs since the epoch: where this customer's windows end (engagement.py)

    def __post_init__(self) -> None:
        if self.orders:
            self.purchases = tuple(sorted((*(
                Purchase(micros(o.at), scaled_amount(o.amount), o.currency, False, o.assisted)
                for o in self.orders
            ), *self.purchases), key=lambda p: p.at))
            self.orders = None
        if not self.as_of:
            self.as_of = micros(self.updated_at)


class ContactRecord(msgspec.Struct, frozen=True):
    """What goes on the internal contacts topic (keyed by customer id)."""

    customer_id: str
    conversation_id: str
    at: datetime


def _assisted_effects(purchase: Purchase, currency_of: LabelOf) -> list[Effect]:
    currency = currency_of(purchase.currency)
    return [
        Count(ASSISTED_ORDERS, (currency,)),
        Count(ASSISTED_REVENUE, (currency,), purchase.amount / eng.AMOUNT_SCALE),
    ]


class Commerce:
    """The commerce topic: counters for campaigns and self-service, customers for orders."""

    name = "commerce"
    value_type = CustomerState

    def __init__(self, window: timedelta, currency_of: LabelOf) -> None:
        self.window = window
        labels: dict[str | None, str] = {}  # ≤ 26³ ISO 4217-shaped codes: bounded

        def label(code: str | None) -> str:
            found = labels.get(code)
            if found is None:
                found = labels[code] = currency_of(code)
            return found

        # Asked per order several times per event (the window gauges' contributions).
        self.currency_of: LabelOf = label
        self._window_us = window // timedelta(microseconds=1)

    @property
    def retention(self) -> timedelta:
        """How long a customer stays after their last event: the longest engagement window
        (a contact then an order ten months later is still a contacted customer's order)."""
        return max(self.window, eng.LONGEST)

    def apply(
        self, state: CustomerState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[CustomerState | None, list[Effect]]:
        match event:
            case CampaignShown():
                return None, [Count(CAMPAIGN_SHOWN, ())]
            case SelfServiceSession():
                return None, [Count(SELFSERVICE_SESSIONS, ("yes" if event.resolved else "no",))]
            case OrderPlaced():
                return self._order(state, event, occurred_at, offset)
        raise TypeError(f"not a commerce event: {type(event).__name__}")

    def _order(
        self, state: CustomerState | None, event: OrderPlaced, at: datetime, offset: int
    ) -> tuple[CustomerState | None, list[Effect]]:
        if state is not None and seen(state.recent, event.event_id):
            return None, []
        at_us = micros(at)
        if state is None:
            state = CustomerState(offset=offset, updated_at=at, recent=b"", as_of=at_us)
        else:
            state = msgspec.structs.replace(state, offset=offset)
        state.recent = remember(state.recent, event.event_id)
        state.updated_at = max(state.updated_at, at)
        state.as_of = max(state.as_of, at_us)
        purchase = Purchase(at_us, scaled_amount(event.amount), event.currency, event.guest)
        currency = self.currency_of(event.currency)
        effects: list[Effect] = [
            Count(ORDERS, (currency, "yes" if event.guest else "no")),
            Count(REVENUE, (currency,), purchase.amount),
        ]
        if any(at - self.window <= c.at <= at for c in state.contacts):
            purchase.assisted = True  # not shared yet
            effects += _assisted_effects(purchase, self.currency_of)
        state.purchases = eng.prune(eng.added(state.purchases, purchase), state.as_of)
        return state, effects

    def contact(
        self, state: CustomerState | None, record: ContactRecord
    ) -> tuple[CustomerState | None, list[Effect]]:
        """Apply a contact; idempotent per conversation (the repartition may deliver twice)."""
        if state is not None and any(
            c.conversation_id == record.conversation_id for c in state.contacts
        ):
            return None, []
        at_us = micros(record.at)
        if state is None:
            state = CustomerState(offset=-1, updated_at=record.at, recent=b"", as_of=at_us)
        else:
            state = msgspec.structs.replace(state)
        # The join's orders are those of the attribution window before this contact moved
        # `updated_at` (what the join kept before the engagement history existed).
        oldest = micros(state.updated_at) - self._window_us
        state.updated_at = max(state.updated_at, record.at)
        state.as_of = max(state.as_of, at_us)
        last = state.last_contact
        state.last_contact = at_us if last is None else max(last, at_us)
        state.contacts = (*state.contacts, Contact(record.conversation_id, record.at))[
            -MAX_REMEMBERED:
        ]
        effects: list[Effect] = []
        purchases = []
        for p in state.purchases:
            if not p.assisted and p.at >= oldest and at_us <= p.at <= at_us + self._window_us:
                p = msgspec.structs.replace(p, assisted=True)
                effects += _assisted_effects(p, self.currency_of)
            purchases.append(p)
        state.purchases = eng.prune(tuple(purchases), state.as_of)
        oldest_contact = state.updated_at - self.window
        state.contacts = tuple(c for c in state.contacts if c.at >= oldest_contact)
        return state, effects

    def contributions(self, state: CustomerState) -> dict[GaugeKey, int]:
        return eng.contributions(state.purchases, state.last_contact, state.as_of,
                                 self.currency_of)

    def waiting_since(self, state: CustomerState) -> tuple[str, datetime] | None:
        return None

    def ended_at(self, state: CustomerState) -> datetime | None:
        # Retention (`retention`) runs from the last activity: by then every order and the
        # contact have left every window.
        return state.updated_at

    def evaluate(
        self, state: CustomerState, now: datetime
    ) -> tuple[CustomerState | None, list[Effect]]:
        """Time passing: move the windows to `now` once an order or the contact left one."""
        due = eng.next_change(state.purchases, state.last_contact, state.as_of)
        at = micros(now)
        if due is None or at < due:
            return None, []
        purchases = eng.prune(state.purchases, at)
        return msgspec.structs.replace(state, as_of=at, purchases=purchases), []

    def next_due(self, state: CustomerState) -> datetime | None:
        due = eng.next_change(state.purchases, state.last_contact, state.as_of)
        return None if due is None else eng.instant(due)
