"""Commerce: campaign prompts, self-service sessions and orders.

They ride the arrival process with fixed ratios per conversation (`arrivals.py`), so they rise
and fall with the traffic:

* ``campaign.shown`` prompts, some answered by a chat carrying ``campaign_id``;
* ``selfservice.session`` (resolved = deflection, 20–30 %);
* ``order.placed``: a share by customers who contacted support in the previous five days
  (assisted orders), the rest from the pool. Amounts are decimal strings with two places, mostly
  EUR/USD/CZK. ``guest: true`` (no customer account, left out when false) for ≈ 26 % of orders:
  mostly by the pool's guest shoppers (a fixed share of customer ids), so a guest shopper who
  buys again is a guest again, as in a real shop; drawn from `World.added_rng` (see world.py).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from stream.simulator.chats import Chats
from stream.simulator.choices import Picker
from stream.simulator.customers import Customers
from stream.simulator.world import Event, World

# Rough exchange rates so order amounts look right in each currency.
_CURRENCY_RATE: Final[Mapping[str, float]] = MappingProxyType(
    {"EUR": 1.0, "USD": 1.1, "CZK": 25.0, "GBP": 0.85, "PLN": 4.3, "CHF": 0.95}
)


class Commerce:
    __slots__ = ("chats", "currencies", "customers", "queue_of", "world")

    def __init__(
        self, world: World, customers: Customers, chats: Chats, queue_of: Mapping[str, str]
    ) -> None:
        self.world = world
        self.customers = customers
        self.chats = chats
        self.queue_of = queue_of
        self.currencies = Picker(world.p.currencies)

    def selfservice(self) -> None:
        w = self.world
        w.emit(
            "selfservice.session",
            {"session_id": w.new_id("S"), "resolved": w.rng.random() < w.p.deflection_ratio},
        )

    def campaign_shown(self) -> None:
        w = self.world
        rng = w.rng
        campaign = w.p.campaigns[rng.randrange(len(w.p.campaigns))]
        customer = self.customers.pool() if rng.random() < 0.8 else None
        fields: Event = {"campaign_id": campaign}
        if customer is not None:
            fields["customer_id"] = customer
        w.emit("campaign.shown", fields)
        if rng.random() < w.p.campaign_chat_ratio:
            w.push(w.now + rng.expovariate(1 / 45.0), self._campaign_chat, campaign, customer)

    def _campaign_chat(self, campaign: str, customer: str | None) -> None:
        if customer is not None:
            self.customers.remember(customer)
        rtype = self.world.p.campaign_request_type
        self.chats.new_chat(self.queue_of[rtype], rtype, "normal", customer, campaign)

    def order(self) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        customer = None
        if self.customers.recent and rng.random() < p.assisted_order_ratio:
            seen = self.customers.any_recent()
            if w.now - seen.at <= p.assisted_window_seconds:
                customer = seen.customer
        if customer is None:
            customer = self.customers.pool()
        currency = self.currencies.pick(rng)
        amount = rng.lognormvariate(math.log(p.order_median_eur), 0.7)
        amount *= _CURRENCY_RATE.get(currency, 1.0)
        fields: Event = {
            "order_id": w.new_id("O"),
            "customer_id": customer,
            "amount": f"{amount:.2f}",
            "currency": currency,
        }
        if self._guest(customer):
            fields["guest"] = True
        w.emit("order.placed", fields)

    def _guest(self, customer: str) -> bool:
        p = self.world.p
        # crc32 is stable across processes (hash() is not): the same customers every run.
        shopper = zlib.crc32(customer.encode()) % 10_000 < p.guest_customers_ratio * 10_000
        chance = p.guest_checkout_habit if shopper else p.guest_checkout_occasional
        return self.world.added_rng.random() < chance
