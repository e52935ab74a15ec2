"""Commerce events and the assisted-order join (chat-assisted orders and revenue).

An `order.placed` counts as assisted when the same customer had a ticket or chat within the
attribution window before it. Orders are keyed by customer id on the commerce topic; contacts are
re-keyed by customer id onto an internal topic with the same partitioning, so both sides of a
customer meet in one partition (invariant 2). The join is symmetric in event time: whichever side
arrives first waits (bounded) for the other, so processing order never changes the answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import msgspec

from stream.domain.effects import Count, Effect
from stream.domain.events import CampaignShown, Event, OrderPlaced, SelfServiceSession
from stream.domain.partition import GaugeKey, LabelOf
from stream.domain.recent import Recent, remember, seen

MAX_REMEMBERED = 20  # contacts and orders kept per customer within the window

CAMPAIGN_SHOWN = "campaign_shown"
SELFSERVICE_SESSIONS = "selfservice_sessions"
ASSISTED_ORDERS = "assisted_orders"
ASSISTED_REVENUE = "assisted_revenue"
ORDERS = "orders"


class Contact(msgspec.Struct, array_like=True, frozen=True):
    conversation_id: str
    at: datetime


class Order(msgspec.Struct, array_like=True):
    order_id: str
    at: datetime
    amount: str
    currency: str
    assisted: bool = False


class CustomerState(msgspec.Struct, array_like=True):
    offset: int
    updated_at: datetime
    recent: Recent
    contacts: list[Contact] = msgspec.field(default_factory=list)
    orders: list[Order] = msgspec.field(default_factory=list)


class ContactRecord(msgspec.Struct, frozen=True):
    """What goes on the internal contacts topic (keyed by customer id)."""

    customer_id: str
    conversation_id: str
    at: datetime


def _assisted_effects(order: Order, currency_of: LabelOf) -> list[Effect]:
    currency = currency_of(order.currency)
    return [
        Count(ASSISTED_ORDERS, (currency,)),
        Count(ASSISTED_REVENUE, (currency,), float(Decimal(order.amount))),
    ]


class Commerce:
    """The commerce topic: counters for campaigns and self-service, customers for orders."""

    name = "commerce"
    value_type = CustomerState

    def __init__(self, window: timedelta, currency_of: LabelOf) -> None:
        self.window = window
        self.currency_of = currency_of

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
        if state is None:
            state = CustomerState(offset=offset, updated_at=at, recent=b"")
        else:
            state = msgspec.structs.replace(state, offset=offset)
        state.recent = remember(state.recent, event.event_id)
        state.updated_at = max(state.updated_at, at)
        order = Order(event.order_id, at, str(event.amount), event.currency)
        effects: list[Effect] = [Count(ORDERS, (self.currency_of(event.currency),))]
        if any(at - self.window <= c.at <= at for c in state.contacts):
            order.assisted = True
            effects += _assisted_effects(order, self.currency_of)
        state.orders = self._prune([*state.orders, order], state.updated_at)
        return state, effects

    def contact(
        self, state: CustomerState | None, record: ContactRecord
    ) -> tuple[CustomerState | None, list[Effect]]:
        """Apply a contact; idempotent per conversation (the repartition may deliver twice)."""
        if state is not None and any(
            c.conversation_id == record.conversation_id for c in state.contacts
        ):
            return None, []
        if state is None:
            state = CustomerState(offset=-1, updated_at=record.at, recent=b"")
        else:
            state = msgspec.structs.replace(state)
        state.updated_at = max(state.updated_at, record.at)
        state.contacts = [*state.contacts, Contact(record.conversation_id, record.at)][
            -MAX_REMEMBERED:
        ]
        effects: list[Effect] = []
        orders = []
        for order in state.orders:
            if not order.assisted and record.at <= order.at <= record.at + self.window:
                order = msgspec.structs.replace(order, assisted=True)
                effects += _assisted_effects(order, self.currency_of)
            orders.append(order)
        state.orders = self._prune(orders, state.updated_at)
        state.contacts = [c for c in state.contacts if c.at >= state.updated_at - self.window]
        return state, effects

    def _prune(self, orders: list[Order], now: datetime) -> list[Order]:
        return [o for o in orders if o.at >= now - self.window][-MAX_REMEMBERED:]

    def contributions(self, state: CustomerState) -> tuple[GaugeKey, ...]:
        return ()

    def waiting_since(self, state: CustomerState) -> tuple[str, datetime] | None:
        return None

    def ended_at(self, state: CustomerState) -> datetime | None:
        # Nothing about a customer matters once the window has passed their last activity.
        return state.updated_at

    def evaluate(
        self, state: CustomerState, now: datetime
    ) -> tuple[CustomerState | None, list[Effect]]:
        return None, []

    def next_due(self, state: CustomerState) -> datetime | None:
        return None
