"""Tickets: triage, the agents' work queue, replies, pending customers, solving and closing.

Written tickets may get a bot answer (some solved by it), a few are solved by a suggested help
article (``self_service``), the rest become agent work after a channel-dependent triage delay
(social ~5 min, email ~1 h). Agents pick work by priority (social counts one level higher) then
age, so under load email waits hours while social stays well under two. After the public reply
a ticket is solved (one-touch share), goes ``pending`` for the customer (who answers, or it is
auto-solved a day later) or ``on_hold``; internal notes, template replies and escalations happen
along the way. Solved tickets may be rated (CSAT, effort), occasionally reopened by a customer
reply, and are closed 2–8 hours later; nothing follows the close.

Every planned follow-up carries the ticket's generation at planning time and is dropped if the
ticket moved on since (e.g. a rating planned before a reopen).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple

from stream.simulator.choices import ScorePicker, template
from stream.simulator.roster import Agent, Roster
from stream.simulator.world import Event, World

_PRIORITY_RANK: Final[Mapping[str, int]] = MappingProxyType(
    {"urgent": 0, "high": 1, "normal": 2, "low": 3}
)


@dataclass(slots=True, eq=False)
class Ticket:
    id: str
    channel: str
    priority: str
    queue: str
    request_type: str
    customer: str | None
    status: str = "new"
    agent_id: str | None = None
    agent_replies: int = 0
    rounds: int = 0  # customer answers so far; from four on, the next agent reply solves it
    # Bumped on every transition; scheduled follow-ups carry the value they were made for.
    gen: int = 0


class WorkItem(NamedTuple):
    """A ticket ready for an agent. Ordered by rank, then age; `seq` is unique, so comparisons
    never reach the ticket."""

    rank: int
    ready_at: float
    seq: int
    ticket: Ticket
    gen: int


class Tickets:
    __slots__ = ("csat", "effort", "roster", "seq", "ticket_bot", "triage", "work", "world")

    def __init__(self, world: World, roster: Roster) -> None:
        p = world.p
        self.world = world
        self.roster = roster
        self.work: dict[str, list[WorkItem]] = {q: [] for q in world.queues}
        self.seq = 0
        self.csat = ScorePicker(p.csat_weights)
        self.effort = ScorePicker(p.effort_weights)
        self.triage = dict(p.triage_seconds)
        self.ticket_bot = dict(p.ticket_bot_ratio)

    def new_ticket(
        self, channel: str, queue: str, rtype: str, priority: str, customer: str | None
    ) -> Ticket:
        """Log a new ticket and plan its way to an agent (bot, help article or triage)."""
        w = self.world
        rng = w.rng
        p = w.p
        ticket = self._created(channel, queue, rtype, priority, customer, None)
        r = rng.random()
        bot = self.ticket_bot.get(rtype, p.default_ticket_bot_ratio)
        written = channel not in ("chat", "phone")  # a voicemail or a chat needs a human
        if written and r < bot:
            w.push(w.now + rng.expovariate(1 / 60.0), self._bot, ticket, ticket.gen)
        elif written and r < bot + p.self_service_solve_ratio:
            w.push(w.now + rng.expovariate(1 / 900.0), self._self_solve, ticket, ticket.gen)
        else:
            delay = rng.expovariate(1 / t) if (t := self.triage.get(channel, 0.0)) > 0 else 0.0
            w.push(w.now + delay, self._ready, ticket, ticket.gen)
        return ticket

    def log_call(
        self, queue: str, rtype: str, priority: str, customer: str, agent: Agent
    ) -> Ticket:
        """The phone ticket of a call `agent` is answering: created, assigned and open at once."""
        w = self.world
        ticket = self._created("phone", queue, rtype, priority, customer, agent.id)
        ticket.agent_id = agent.id
        ticket.status = "open"
        w.emit("ticket.assigned", {"ticket_id": ticket.id, "agent_id": agent.id, "queue": queue})
        w.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "open"})
        return ticket

    def _created(
        self,
        channel: str,
        queue: str,
        rtype: str,
        priority: str,
        customer: str | None,
        agent_id: str | None,
    ) -> Ticket:
        ticket = Ticket(self.world.new_id("T"), channel, priority, queue, rtype, customer)
        fields: Event = {
            "ticket_id": ticket.id,
            "channel": channel,
            "priority": priority,
            "queue": queue,
            "request_type": rtype,
        }
        if customer is not None:
            fields["customer_id"] = customer
        if agent_id is not None:
            fields["agent_id"] = agent_id
        self.world.emit("ticket.created", fields)
        return ticket

    def _bot(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen != gen:
            return
        w = self.world
        rng = w.rng
        w.emit(
            "ticket.replied",
            {
                "ticket_id": ticket.id,
                "author": "bot",
                "template_id": template(rng, ticket.request_type),
            },
        )
        if rng.random() < w.p.bot_solve_ratio:
            self.solve(ticket, "bot", None)
        else:
            delay = rng.expovariate(1 / max(self.triage.get(ticket.channel, 600.0), 1.0))
            w.push(w.now + delay, self._ready, ticket, ticket.gen)

    def _self_solve(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen == gen:
            self.solve(ticket, "self_service", None)

    def _ready(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen != gen:
            return
        # Social is public and fast-moving: it jumps one priority level in the agents' view.
        rank = _PRIORITY_RANK[ticket.priority] - (1 if ticket.channel == "social" else 0)
        self.seq += 1
        heapq.heappush(
            self.work[ticket.queue], WorkItem(rank, self.world.now, self.seq, ticket, gen)
        )
        idle = self.roster.ticket_idle[ticket.queue]
        if idle:
            self.roster.pull(next(iter(idle)))

    def best_work(self, queues: tuple[str, ...]) -> WorkItem | None:
        """Pop the most pressing ready ticket of `queues` (stale items are dropped lazily)."""
        best: list[WorkItem] | None = None
        for q in queues:
            heap = self.work[q]
            while heap and heap[0].ticket.gen != heap[0].gen:
                heapq.heappop(heap)
            if heap and (best is None or heap[0] < best[0]):
                best = heap
        return heapq.heappop(best) if best is not None else None

    def start_work(self, agent: Agent, item: WorkItem) -> None:
        w = self.world
        p = w.p
        ticket = item.ticket
        self.roster.unidle(agent)
        agent.busy = True
        if ticket.agent_id != agent.id:
            ticket.agent_id = agent.id
            w.emit(
                "ticket.assigned",
                {"ticket_id": ticket.id, "agent_id": agent.id, "queue": ticket.queue},
            )
        if ticket.status != "open":
            ticket.status = "open"
            w.emit(
                "ticket.status_changed",
                {"ticket_id": ticket.id, "status": "open", "agent_id": agent.id},
            )
        mean = p.first_reply_work_seconds if ticket.agent_replies == 0 else p.follow_up_work_seconds
        work = w.rng.lognormvariate(math.log(mean) - 0.18, 0.6)
        w.push(w.now + work, self._work_done, agent, ticket, ticket.gen)

    def _work_done(self, agent: Agent, ticket: Ticket, gen: int) -> None:
        agent.busy = False
        if ticket.gen == gen:
            self._agent_reply(ticket, agent)
        self.roster.free(agent)

    def _agent_reply(self, ticket: Ticket, agent: Agent) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        tid = ticket.id
        if rng.random() < p.internal_note_ratio:
            w.emit(
                "ticket.replied",
                {"ticket_id": tid, "author": "agent", "agent_id": agent.id, "public": False},
            )
        if rng.random() < p.escalation_ratio and ticket.priority != "urgent":
            ticket.priority = "urgent" if ticket.priority == "high" else "high"
            w.emit("ticket.priority_changed", {"ticket_id": tid, "priority": ticket.priority})
        fields: Event = {"ticket_id": tid, "author": "agent", "agent_id": agent.id, "public": True}
        if rng.random() < p.agent_template_ratio:
            fields["template_id"] = template(rng, ticket.request_type)
        w.emit("ticket.replied", fields)
        ticket.agent_replies += 1
        solve_ratio = p.one_touch_ratio if ticket.agent_replies == 1 else p.follow_up_solve_ratio
        r = rng.random()
        if r < solve_ratio or ticket.rounds >= 4:
            self.solve(ticket, "agent", agent.id)
        elif r < solve_ratio + p.on_hold_ratio:
            # Waiting on a carrier or the payment provider.
            ticket.status = "on_hold"
            ticket.gen += 1
            w.emit(
                "ticket.status_changed",
                {"ticket_id": tid, "status": "on_hold", "agent_id": agent.id},
            )
            back = w.now + rng.expovariate(1 / p.on_hold_seconds)
            w.push(back, self._ready, ticket, ticket.gen)
        else:
            self.pending(ticket, agent.id)

    def pending(self, ticket: Ticket, agent_id: str) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        ticket.status = "pending"
        ticket.gen += 1
        w.emit(
            "ticket.status_changed",
            {"ticket_id": ticket.id, "status": "pending", "agent_id": agent_id},
        )
        if rng.random() < p.customer_answers_ratio:
            at = w.now + rng.expovariate(1 / p.customer_reply_seconds)
            w.push(at, self._customer_reply, ticket, ticket.gen)
        else:
            w.push(w.now + p.pending_auto_solve_seconds, self._auto_solve, ticket, ticket.gen)

    def _auto_solve(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen == gen:
            self.solve(ticket, "agent", ticket.agent_id)

    def _customer_reply(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen != gen:
            return
        ticket.gen += 1
        ticket.rounds += 1
        self.world.emit("ticket.replied", {"ticket_id": ticket.id, "author": "customer"})
        if ticket.status in ("pending", "solved"):
            # A customer answer reopens the ticket: a reopen when it had been solved.
            ticket.status = "open"
            self.world.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "open"})
        self._ready(ticket, ticket.gen)

    def solve(self, ticket: Ticket, resolved_by: str, agent_id: str | None) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        ticket.status = "solved"
        ticket.gen += 1
        gen = ticket.gen
        fields: Event = {"ticket_id": ticket.id, "status": "solved", "resolved_by": resolved_by}
        if agent_id is not None and resolved_by == "agent":
            fields["agent_id"] = agent_id
        w.emit("ticket.status_changed", fields)
        now = w.now
        lo, hi = p.close_after_seconds
        close_in = rng.uniform(lo, hi)
        w.push(now + close_in, self._close, ticket, gen)
        # Surveys and reopens land before the close so nothing follows a closed ticket.
        if rng.random() < p.ticket_rated_ratio:
            at = now + min(rng.expovariate(1 / 2400.0), 0.9 * close_in)
            w.push(at, self._rate, ticket, gen)
        if rng.random() < p.ticket_effort_rated_ratio:
            at = now + min(rng.expovariate(1 / 2400.0), 0.9 * close_in)
            w.push(at, self._effort, ticket, gen)
        if resolved_by != "self_service" and rng.random() < p.reopen_ratio:
            w.push(now + close_in * rng.uniform(0.1, 0.95), self._customer_reply, ticket, gen)

    def _rate(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen == gen:
            score = self.csat.score(self.world.rng)
            self.world.emit("ticket.rated", {"ticket_id": ticket.id, "score": score})

    def _effort(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen == gen:
            score = self.effort.score(self.world.rng)
            self.world.emit("ticket.effort_rated", {"ticket_id": ticket.id, "score": score})

    def _close(self, ticket: Ticket, gen: int) -> None:
        if ticket.gen != gen:
            return
        ticket.status = "closed"
        ticket.gen += 1
        self.world.emit("ticket.status_changed", {"ticket_id": ticket.id, "status": "closed"})
