"""Arrivals: when something new happens, and what it is.

A non-homogeneous Poisson process sampled by thinning. The rate is
``peak_conversations_per_hour × scale × diurnal(local hour) × weekday_factors[local weekday]`` in
the simulated timezone: a quiet night, an early-morning bump around 08 h, and the two busy
windows from DOMAIN.md, 12–14 h and 17–20 h (the curve is defined at hour midpoints and
interpolated linearly, so hourly counts follow it closely). Commerce happenings ride the same
process with fixed ratios per conversation, so they rise and fall with the traffic.

Each new conversation draws a request type (``order_status``, ``shipping``, ``returns``,
``payment``, ``product_question``, ``account``), which picks its queue, a channel (chat is the
largest share) and a priority (mostly normal, a few urgent). Customers come from a bounded pool;
a share of contacts are repeat contacts of someone seen recently (`customers.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from stream.simulator.calls import Call, Calls
from stream.simulator.chats import Chats
from stream.simulator.choices import Picker
from stream.simulator.commerce import Commerce
from stream.simulator.customers import Customers
from stream.simulator.local_time import LocalTime
from stream.simulator.tickets import Tickets
from stream.simulator.world import World


class Arrivals:
    __slots__ = (
        "calls",
        "channels",
        "chats",
        "commerce",
        "customers",
        "kinds",
        "local",
        "priorities",
        "queue_of",
        "rate_max",
        "rate_unit",
        "requests",
        "tickets",
        "world",
    )

    def __init__(
        self,
        world: World,
        local: LocalTime,
        customers: Customers,
        chats: Chats,
        calls: Calls,
        tickets: Tickets,
        commerce: Commerce,
        queue_of: Mapping[str, str],
    ) -> None:
        p = world.p
        self.world = world
        self.local = local
        self.customers = customers
        self.chats = chats
        self.calls = calls
        self.tickets = tickets
        self.commerce = commerce
        self.queue_of = queue_of
        self.channels = Picker(p.channel_mix)
        self.priorities = Picker(p.priority_mix)
        self.requests = Picker(p.request_mix)
        if len(p.diurnal) != 24 or len(p.weekday_factors) != 7:
            raise ValueError("diurnal needs 24 values and weekday_factors 7")
        # Arrival kinds share one thinned process; the kind is drawn on acceptance.
        self.kinds = Picker(
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

    def rate(self, t: float) -> float:
        """Arrivals per second (all kinds) at simulated second `t`."""
        hour, weekday = self.local.hour_weekday(t)
        p = self.world.p
        d = p.diurnal
        x = hour - 0.5
        i = math.floor(x)
        frac = x - i
        level = d[i % 24] * (1.0 - frac) + d[(i + 1) % 24] * frac
        return self.rate_unit * level * p.weekday_factors[weekday]

    def start(self) -> None:
        self._schedule(0.0)

    def _schedule(self, t: float) -> None:
        """Plan the first arrival after `t` (thinning: candidates at the peak rate, accepted in
        proportion to the rate at their time)."""
        w = self.world
        rng = w.rng
        rate_max = self.rate_max
        if rate_max <= 0:
            return
        while True:
            t += rng.expovariate(rate_max)
            if t > w.end:
                return  # nothing after the end is ever emitted
            if rng.random() * rate_max <= self.rate(t):
                w.push(t, self._arrive)
                return

    def _arrive(self) -> None:
        kind = self.kinds.pick(self.world.rng)
        if kind == "conversation":
            self._new_conversation()
        elif kind == "selfservice":
            self.commerce.selfservice()
        elif kind == "campaign":
            self.commerce.campaign_shown()
        else:
            self.commerce.order()
        self._schedule(self.world.now)

    def _new_conversation(self) -> None:
        w = self.world
        rng = w.rng
        rtype = self.requests.pick(rng)
        queue = self.queue_of[rtype]
        channel = self.channels.pick(rng)
        priority = self.priorities.pick(rng)
        customer = self.customers.contact()
        if channel == "chat":
            cust = customer if rng.random() < w.p.customer_id_on_chat_ratio else None
            self.chats.new_chat(queue, rtype, priority, cust, None)
        elif channel == "phone":
            self.calls.new_call(Call(queue, rtype, priority, customer, w.now))
        else:
            self.tickets.new_ticket(channel, queue, rtype, priority, customer)
