"""Chats: the bot, the waiting line per queue, the conversation with an agent, and what follows.

A share is handled by the bot alone (``chat.ended`` resolved_by bot, never accepted). The rest
wait in a FIFO per queue for a free slot of an online chat agent (least loaded first); a chat
still waiting after ``chat_overflow_seconds`` may also go to an idle ticket agent (blended
overflow). Customers give up after an exponential patience (mean 150–170 s, ``chat.abandoned``,
a missed chat). Accepted chats exchange agent/customer messages (greetings and answers sometimes
from templates) over a log-normal handle time (mean 8 min; an agent answers a customer message
in ~20 s on average, slower with more chats open), are sometimes transferred to a free agent of
another queue, end, and afterwards may be rated (worse after a wait over two minutes) or
converted into a ticket (``chat.converted`` plus a chat-channel ``ticket.created``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from stream.simulator.choices import GREETING_TEMPLATE, ScorePicker, template
from stream.simulator.roster import ONLINE, Agent, Roster
from stream.simulator.world import Event, World

if TYPE_CHECKING:
    from stream.simulator.tickets import Tickets

_WAITING: Final = 0
_ACTIVE: Final = 1
_DONE: Final = 2


@dataclass(slots=True, eq=False)
class Chat:
    id: str
    queue: str  # changes on a transfer
    request_type: str
    customer: str | None
    requested: float  # simulated second
    state: int = _WAITING
    agent: Agent | None = None
    left: int = 0  # messages still to come
    step: int = 0  # messages so far since the agent accepted
    gap: float = 0.0  # mean seconds between messages
    transfer_at: int = -1  # the step at which it is handed over, -1 for never
    waited: float = 0.0


class Chats:
    __slots__ = ("csat", "csat_poor", "fifo", "roster", "tickets", "world")

    def __init__(self, world: World, roster: Roster, tickets: Tickets) -> None:
        self.world = world
        self.roster = roster
        self.tickets = tickets
        # Abandoned chats stay in the line until they reach its head (dropped lazily).
        self.fifo: dict[str, deque[Chat]] = {q: deque() for q in world.queues}
        self.csat = ScorePicker(world.p.csat_weights)
        self.csat_poor = ScorePicker(world.p.csat_after_long_wait_weights)

    def new_chat(
        self,
        queue: str,
        rtype: str,
        priority: str,
        customer: str | None,
        campaign: str | None,
    ) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        chat = Chat(w.new_id("C"), queue, rtype, customer, w.now)
        fields: Event = {"chat_id": chat.id, "queue": queue}
        if customer is not None:
            fields["customer_id"] = customer
        if campaign is not None:
            fields["campaign_id"] = campaign
        if priority != "normal":
            fields["priority"] = priority
        w.emit("chat.requested", fields)
        if rng.random() < p.bot_chat_ratio:
            # The bot answers from the knowledge base and closes the chat itself.
            chat.state = _DONE
            chat.left = 2
            w.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
            w.push(w.now + rng.expovariate(1 / 25.0), self._bot_step, chat)
            return
        if rng.random() < p.bot_greeting_ratio:
            w.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
        self.fifo[queue].append(chat)
        w.push(w.now + rng.expovariate(1 / p.chat_patience_seconds), self._abandon, chat)
        self._dispatch(queue)
        if chat.state == _WAITING:
            w.push(w.now + p.chat_overflow_seconds, self._overflow, chat)

    def _bot_step(self, chat: Chat) -> None:
        w = self.world
        rng = w.rng
        if chat.left == 2:
            w.emit("chat.message", {"chat_id": chat.id, "author": "customer"})
        elif chat.left == 1:
            w.emit("chat.message", {"chat_id": chat.id, "author": "bot"})
        else:
            w.emit("chat.ended", {"chat_id": chat.id, "resolved_by": "bot"})
            if rng.random() < w.p.chat_rated_ratio * 0.5:
                w.push(w.now + rng.expovariate(1 / 20.0), self._rate, chat)
            return
        chat.left -= 1
        w.push(w.now + rng.expovariate(1 / 25.0), self._bot_step, chat)

    def _dispatch(self, queue: str) -> None:
        best: Agent | None = None
        best_load = 2.0
        for agent in self.roster.chat_agents[queue]:
            if agent.status == ONLINE and not agent.leaving and agent.chats < agent.max_chats:
                load = agent.chats / agent.max_chats
                if load < best_load:
                    best, best_load = agent, load
        if best is not None:
            chat = self.oldest_waiting(best.queues)
            if chat is not None:
                self.accept(best, chat)

    def _overflow(self, chat: Chat) -> None:
        if chat.state == _WAITING:
            idle = self.roster.ticket_idle[chat.queue]
            if idle:
                self.roster.pull(next(iter(idle)))

    def oldest_waiting(
        self, queues: tuple[str, ...], requested_by: float | None = None
    ) -> Chat | None:
        """Pop the longest-waiting chat of `queues` (if it was requested by `requested_by`)."""
        best_q: deque[Chat] | None = None
        for q in queues:
            dq = self.fifo[q]
            while dq and dq[0].state != _WAITING:
                dq.popleft()
            if dq and (best_q is None or dq[0].requested < best_q[0].requested):
                best_q = dq
        if best_q is None or (requested_by is not None and best_q[0].requested > requested_by):
            return None
        return best_q.popleft()

    def accept(self, agent: Agent, chat: Chat) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        self.roster.unidle(agent)
        agent.chats += 1
        chat.state = _ACTIVE
        chat.agent = agent
        chat.waited = w.now - chat.requested
        w.emit("chat.accepted", {"chat_id": chat.id, "agent_id": agent.id})
        # Log-normal handle time with the profile's mean (sigma 0.5: mean = median·e^{σ²/2}).
        handle = rng.lognormvariate(math.log(p.chat_handle_seconds) - 0.125, 0.5)
        rounds = 1 + rng.randrange(4)
        chat.left = 2 * rounds + 1  # agent, (customer, agent) × rounds
        chat.gap = handle / (chat.left + 1)
        chat.step = 0
        chat.transfer_at = (
            1 + rng.randrange(chat.left) if rng.random() < p.chat_transfer_ratio else -1
        )
        w.push(w.now + rng.expovariate(1 / 15.0), self._step, chat)

    def _step(self, chat: Chat) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        agent = chat.agent
        assert agent is not None
        if chat.left == 0:
            self._end(chat, agent)
            return
        if chat.step == chat.transfer_at:
            agent = self._transfer(chat, agent)
        if chat.step % 2 == 0:
            fields: Event = {"chat_id": chat.id, "author": "agent", "agent_id": agent.id}
            if chat.step == 0 and rng.random() < 0.5:
                fields["template_id"] = GREETING_TEMPLATE
            elif rng.random() < p.chat_template_ratio:
                fields["template_id"] = template(rng, chat.request_type)
            w.emit("chat.message", fields)
        else:
            w.emit("chat.message", {"chat_id": chat.id, "author": "customer"})
        chat.step += 1
        chat.left -= 1
        # Turns alternate; the agent's answer is quick, the customer's turn takes the rest of
        # the pair's share of the handle time, so the mean handle time stays the profile's.
        reply = min(
            chat.gap,
            p.chat_agent_reply_seconds * (1 + p.chat_reply_load_factor * (agent.chats - 1)),
        )
        mean = reply if chat.step % 2 == 0 else 2 * chat.gap - reply
        w.push(w.now + rng.expovariate(1 / mean), self._step, chat)

    def _transfer(self, chat: Chat, agent: Agent) -> Agent:
        # Hand over to a chat agent of another queue with a free slot; if nobody is free the
        # agent keeps the chat (no transfer event), as a real router would refuse it.
        qs = self.world.queues
        off = self.world.rng.randrange(len(qs))
        for k in range(len(qs)):
            q = qs[(off + k) % len(qs)]
            if q == chat.queue:
                continue
            for other in self.roster.chat_agents[q]:
                if (
                    other is not agent
                    and other.status == ONLINE
                    and not other.leaving
                    and other.chats < other.max_chats
                ):
                    self.world.emit(
                        "chat.transferred", {"chat_id": chat.id, "queue": q, "agent_id": other.id}
                    )
                    other.chats += 1
                    chat.agent = other
                    chat.queue = q
                    agent.chats -= 1
                    self.roster.free(agent)
                    return other
        return agent

    def _end(self, chat: Chat, agent: Agent) -> None:
        w = self.world
        rng = w.rng
        p = w.p
        chat.state = _DONE
        w.emit("chat.ended", {"chat_id": chat.id, "resolved_by": "agent"})
        agent.chats -= 1
        if rng.random() < p.chat_converted_ratio:
            # Needs follow-up work (a refund, a carrier claim): it continues as a ticket.
            ticket = self.tickets.new_ticket(
                "chat", chat.queue, chat.request_type, "normal", chat.customer
            )
            w.emit("chat.converted", {"chat_id": chat.id, "ticket_id": ticket.id})
        if rng.random() < p.chat_rated_ratio:
            w.push(w.now + rng.expovariate(1 / 30.0), self._rate, chat)
        self.roster.free(agent)

    def _abandon(self, chat: Chat) -> None:
        if chat.state == _WAITING:
            chat.state = _DONE
            self.world.emit("chat.abandoned", {"chat_id": chat.id})

    def _rate(self, chat: Chat) -> None:
        w = self.world
        picker = self.csat_poor if chat.waited > w.p.long_wait_seconds else self.csat
        w.emit("chat.rated", {"chat_id": chat.id, "score": picker.score(w.rng)})
