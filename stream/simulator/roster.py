"""Agents: their shifts and presence, and what an available agent takes next.

Agents go ``online`` at shift start, take one or two ``away`` breaks, stop taking work at shift
end and go ``offline`` once their last chat, call or ticket is finished. Ticket agents take
callers on hold first, then written tickets, then chats that waited past the overflow threshold
(blended overflow); chat agents fill their slots with the longest-waiting chats of their queues.
Who is rostered at all is `headcount.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

from stream.simulator.local_time import LocalTime
from stream.simulator.profiles import Shift
from stream.simulator.world import World

if TYPE_CHECKING:
    from stream.simulator.calls import Calls
    from stream.simulator.chats import Chats
    from stream.simulator.tickets import Tickets

OFFLINE: Final = 0
ONLINE: Final = 1
AWAY: Final = 2


@dataclass(slots=True, eq=False)  # eq=False: agents are dict keys by identity (`ticket_idle`)
class Agent:
    id: str
    queues: tuple[str, ...]
    max_chats: int
    is_chat: bool
    shift: Shift
    days: tuple[bool, ...]  # works on these weekdays (Monday first)
    status: int = OFFLINE
    leaving: bool = False  # the shift is over: finish what is open, take nothing new
    chats: int = 0
    busy: bool = False  # on a call or working on a ticket


class Span(NamedTuple):
    """One worked shift, in simulated seconds."""

    start: float
    end: float


class Roster:
    __slots__ = (
        "agents",
        "calls",
        "chat_agents",
        "chats",
        "local",
        "on_shift",
        "ticket_idle",
        "tickets",
        "world",
    )

    def __init__(self, world: World, local: LocalTime, agents: list[Agent]) -> None:
        self.world = world
        self.local = local
        queues = world.queues
        self.agents = agents
        # Chat agents serving each queue, in roster order: of the least loaded, the first gets a
        # new chat. Ticket agents are found through `ticket_idle` instead.
        self.chat_agents: dict[str, list[Agent]] = {q: [] for q in queues}
        for agent in agents:
            if agent.is_chat:
                for q in agent.queues:
                    self.chat_agents[q].append(agent)
        # Idle ticket agents per queue, in the order they became idle (the first gets the work).
        self.ticket_idle: dict[str, dict[Agent, None]] = {q: {} for q in queues}
        # Ticket agents on shift per queue (online or on a break): is anyone answering phones?
        self.on_shift: dict[str, int] = dict.fromkeys(queues, 0)
        # The work sources need the roster as much as it needs them: `connect` closes the loop.
        self.chats: Chats
        self.calls: Calls
        self.tickets: Tickets

    def connect(self, chats: Chats, calls: Calls, tickets: Tickets) -> None:
        self.chats = chats
        self.calls = calls
        self.tickets = tickets

    # ---- shifts and presence ---------------------------------------------------------------
    def start(self) -> None:
        """Bring in everyone whose shift is running at the start, and plan the others."""
        w = self.world
        for agent in self.agents:
            span = self._next_shift(agent, 0.0, initial=True)
            if span is None:
                continue
            if span.start <= 0.0:
                w.now = 0.0
                self._shift_start(agent, span)
            else:
                w.push(span.start, self._shift_start, agent, span)

    def _next_shift(self, agent: Agent, after: float, initial: bool) -> Span | None:
        """First shift of `agent` that is still running (initial) or starts at/after `after`."""
        local_day = self.local.day_ordinal(after)
        for day in range(local_day - 1, local_day + 9):
            weekday = (day - 1) % 7  # date.fromordinal(1) is a Monday
            if not agent.days[weekday]:
                continue
            s = self.local.at(day, agent.shift.start_hour)
            e = s + agent.shift.hours * 3600.0
            if (initial and e > after) or (not initial and s >= after):
                return Span(s, e)
        return None

    def _status(self, agent: Agent, status: str) -> None:
        self.world.emit(
            "agent.status_changed",
            {
                "agent_id": agent.id,
                "status": status,
                "queues": list(agent.queues),
                "max_chats": agent.max_chats,
            },
        )

    def _shift_start(self, agent: Agent, span: Span) -> None:
        w = self.world
        rng = w.rng
        agent.status = ONLINE
        agent.leaving = False
        if not agent.is_chat:
            for q in agent.queues:
                self.on_shift[q] += 1
        self._status(agent, "online")
        start = span.start
        length = span.end - start
        if length >= 4 * 3600:
            at = start + length * rng.uniform(0.4, 0.6)
            self._plan_break(agent, at, w.p.break_minutes * rng.uniform(50, 70))
        if length >= 6 * 3600 and rng.random() < 0.6:
            at = start + length * rng.uniform(0.15, 0.3)
            self._plan_break(agent, at, rng.uniform(600, 900))
        w.push(span.end, self._shift_end, agent)
        self.pull(agent)

    def _plan_break(self, agent: Agent, at: float, seconds: float) -> None:
        if at > self.world.now:  # a shift joined halfway has had its early break
            self.world.push(at, self._break_start, agent, seconds)

    def _break_start(self, agent: Agent, seconds: float) -> None:
        if agent.status != ONLINE or agent.leaving:
            return
        agent.status = AWAY
        self.unidle(agent)
        self._status(agent, "away")
        self.world.push(self.world.now + seconds, self._break_end, agent)

    def _break_end(self, agent: Agent) -> None:
        if agent.status != AWAY:
            return
        agent.status = ONLINE
        self._status(agent, "online")
        if agent.leaving:
            self.free(agent)
        else:
            self.pull(agent)

    def _shift_end(self, agent: Agent) -> None:
        agent.leaving = True
        if not agent.is_chat:
            for q in agent.queues:
                self.on_shift[q] -= 1
        self.unidle(agent)
        self.free(agent)

    # ---- work ------------------------------------------------------------------------------
    def free(self, agent: Agent) -> None:
        """Called whenever an agent finishes something: take more work, or leave if due."""
        if agent.leaving:
            if agent.chats == 0 and not agent.busy and agent.status != OFFLINE:
                agent.status = OFFLINE
                self._status(agent, "offline")
                span = self._next_shift(agent, self.world.now, initial=False)
                if span is not None:
                    self.world.push(span.start, self._shift_start, agent, span)
        elif agent.status == ONLINE:
            self.pull(agent)

    def unidle(self, agent: Agent) -> None:
        if not agent.is_chat:
            for q in agent.queues:
                self.ticket_idle[q].pop(agent, None)

    def pull(self, agent: Agent) -> None:
        """An available agent takes the next piece of work, or waits idle for one."""
        if agent.status != ONLINE or agent.leaving:
            return
        chats = self.chats
        if agent.is_chat:
            while agent.chats < agent.max_chats:
                chat = chats.oldest_waiting(agent.queues)
                if chat is None:
                    return
                chats.accept(agent, chat)
            return
        if agent.busy or agent.chats:
            return
        # Callers on hold first, then written tickets, then chats that overflowed.
        call = self.calls.oldest(agent.queues)
        if call is not None:
            self.calls.answer(agent, call)
            return
        item = self.tickets.best_work(agent.queues)
        if item is not None:
            self.tickets.start_work(agent, item)
            return
        # The epsilon keeps the overflow event, due exactly at the threshold, from missing it.
        due = self.world.now - self.world.p.chat_overflow_seconds + 1e-6
        chat = chats.oldest_waiting(agent.queues, requested_by=due)
        if chat is not None:
            chats.accept(agent, chat)
            return
        for q in agent.queues:
            self.ticket_idle[q][agent] = None
