"""Phone calls: callers on hold, answered calls, voicemails.

Callers wait on hold for an idle ticket agent of the queue (calls come before written work); the
agent logs the call as a phone ticket and is busy for the call and wrap-up. A caller who gives
up, or rings when nobody is on shift, leaves a voicemail: a phone ticket without an agent,
called back as ordinary work (`tickets.py`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

from stream.simulator.roster import Agent, Roster
from stream.simulator.tickets import Ticket, Tickets
from stream.simulator.world import World

_WAITING: Final = 0
_DONE: Final = 1


@dataclass(slots=True, eq=False)
class Call:
    """A caller on hold; becomes a ticket when answered or when they leave a voicemail."""

    queue: str
    request_type: str
    priority: str
    customer: str
    requested: float  # simulated second
    state: int = _WAITING


class Calls:
    __slots__ = ("on_hold", "roster", "tickets", "world")

    def __init__(self, world: World, roster: Roster, tickets: Tickets) -> None:
        self.world = world
        self.roster = roster
        self.tickets = tickets
        # Callers who gave up stay in the line until they reach its head (dropped lazily).
        self.on_hold: dict[str, deque[Call]] = {q: deque() for q in world.queues}

    def new_call(self, call: Call) -> None:
        w = self.world
        idle = self.roster.ticket_idle[call.queue]
        if idle:
            self.answer(next(iter(idle)), call)
            return
        if not self.roster.on_shift[call.queue]:
            self._voicemail(call)  # lines closed
            return
        self.on_hold[call.queue].append(call)
        patience = w.rng.expovariate(1 / w.p.phone_patience_seconds)
        w.push(w.now + patience, self._give_up, call)

    def _give_up(self, call: Call) -> None:
        if call.state == _WAITING:
            self._voicemail(call)

    def _voicemail(self, call: Call) -> None:
        call.state = _DONE
        self.tickets.new_ticket(
            "phone", call.queue, call.request_type, call.priority, call.customer
        )

    def oldest(self, queues: tuple[str, ...]) -> Call | None:
        """Pop the longest-waiting caller of `queues`."""
        best_q: deque[Call] | None = None
        for q in queues:
            dq = self.on_hold[q]
            while dq and dq[0].state != _WAITING:
                dq.popleft()
            if dq and (best_q is None or dq[0].requested < best_q[0].requested):
                best_q = dq
        return best_q.popleft() if best_q is not None else None

    def answer(self, agent: Agent, call: Call) -> None:
        w = self.world
        call.state = _DONE
        self.roster.unidle(agent)
        agent.busy = True
        ticket = self.tickets.log_call(
            call.queue, call.request_type, call.priority, call.customer, agent
        )
        length = w.rng.lognormvariate(math.log(w.p.phone_handle_seconds) - 0.18, 0.6)
        w.push(w.now + length, self._hang_up, ticket, ticket.gen, agent)

    def _hang_up(self, ticket: Ticket, gen: int, agent: Agent) -> None:
        # The answer was given on the phone: the agent's public reply, and mostly solved.
        w = self.world
        agent.busy = False
        if ticket.gen == gen:
            ticket.agent_replies += 1
            w.emit(
                "ticket.replied",
                {"ticket_id": ticket.id, "author": "agent", "agent_id": agent.id, "public": True},
            )
            if w.rng.random() < 0.7:
                self.tickets.solve(ticket, "agent", agent.id)
            else:
                self.tickets.pending(ticket, agent.id)
        self.roster.free(agent)
