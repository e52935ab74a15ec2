"""The two conversation kinds (tickets, chats) as the partition core sees them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from stream.domain import effects as fx
from stream.domain import gauges
from stream.domain.chats import ChatState, apply_chat, evaluate_chat
from stream.domain.effects import Count, Effect, Tally
from stream.domain.events import Event
from stream.domain.partition import GaugeKey, LabelOf
from stream.domain.sla import SlaRules, SlaTrack
from stream.domain.tickets import SOLVED_STATUSES, TicketState, apply_ticket, evaluate_ticket

TICKETS_OPEN = gauges.TICKETS_OPEN.key
TICKETS_AWAITING_FIRST_RESPONSE = gauges.TICKETS_AWAITING_FIRST_RESPONSE.key
CHAT_QUEUE_WAITING = gauges.CHAT_QUEUE_WAITING.key
CHATS_ACTIVE = gauges.CHATS_ACTIVE.key


# (queue label, kind, deadline epoch minute) → open targets due then: the breach projection's
# input. Kind `ticket` counts every running ticket target; kind `chat` only waiting chats' first
# response, the one chat target that free chat slots (rather than the chat's agent) decide.
SLA_DUE = "sla_due"


def _sla_gauges(
    rules: SlaRules | None,
    track: SlaTrack | None,
    channel: str,
    priority: str,
    queue: str,
    due: str | None,
) -> list[GaugeKey]:
    """SLA gauge keys (channel, priority, target, queue label); `due` = the conversation kind
    when its deadlines feed the projection."""
    if rules is None or track is None:
        return []
    keys: list[GaugeKey] = [
        (gauge, (channel, priority, target, queue)) for gauge, target in rules.gauge_marks(track)
    ]
    if due is not None:
        keys += [(SLA_DUE, (queue, due, str(minute))) for minute in rules.deadline_minutes(track)]
    return keys


class Tickets:
    name = "tickets"
    value_type = TicketState
    rollup_only = frozenset({SLA_DUE})  # PartitionState keeps these out of the gauges

    def __init__(
        self, rules: SlaRules | None = None, label_of: LabelOf = lambda q: q or "other"
    ) -> None:
        self.rules = rules
        self.label_of = label_of

    def apply(
        self, state: TicketState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[TicketState | None, list[Effect]]:
        new, effects = apply_ticket(state, event, occurred_at, offset, self.rules)
        if new is not None and any(
            isinstance(e, Count) and e.metric == fx.TICKETS_CREATED for e in effects
        ):
            at = new.created_at or occurred_at
            queue = self.label_of(new.queue)
            effects += [
                Tally(fx.ARRIVALS_QUEUE, queue, at),
                Tally(fx.TICKET_ARRIVALS, queue, at),
                Tally(fx.ARRIVALS_CHANNEL, new.channel, at),
            ]
        return new, effects

    def evaluate(
        self, state: TicketState, now: datetime
    ) -> tuple[TicketState | None, list[Effect]]:
        return evaluate_ticket(state, now, self.rules) if self.rules else (None, [])

    def next_due(self, state: TicketState) -> datetime | None:
        if self.rules is None or state.sla is None or not state.is_open:
            return None
        return self.rules.next_due(state.sla)

    def contributions(self, state: TicketState) -> Iterable[GaugeKey]:
        if not state.is_open:
            return ()
        queue = self.label_of(state.queue)
        labels = (state.channel, state.priority, queue)
        keys = [(TICKETS_OPEN, labels)]
        if state.first_reply_at is None:
            keys.append((TICKETS_AWAITING_FIRST_RESPONSE, labels))
        return keys + _sla_gauges(self.rules, state.sla, *labels, "ticket")

    def waiting_since(self, state: TicketState) -> tuple[str, datetime] | None:
        return None

    def ended_at(self, state: TicketState) -> datetime | None:
        # Solved tickets are often never closed explicitly; retention starts at solve so they
        # leave the table too. A reopen within the retention makes the ticket live again.
        if state.created and state.status in SOLVED_STATUSES:
            return state.status_at
        # A stub (events whose ticket.created never came, e.g. a rating after the ticket
        # expired) must not stay for ever: it expires like an ended conversation.
        return None if state.created else state.updated_at


class Chats:
    name = "chats"
    value_type = ChatState
    rollup_only = frozenset({SLA_DUE})

    def __init__(self, label_of: LabelOf, rules: SlaRules | None = None) -> None:
        self.label_of = label_of
        self.rules = rules

    def apply(
        self, state: ChatState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[ChatState | None, list[Effect]]:
        return apply_chat(state, event, occurred_at, offset, self.label_of, self.rules)

    def evaluate(self, state: ChatState, now: datetime) -> tuple[ChatState | None, list[Effect]]:
        return evaluate_chat(state, now, self.rules) if self.rules else (None, [])

    def next_due(self, state: ChatState) -> datetime | None:
        if self.rules is None or state.sla is None:
            return None
        if not (state.is_waiting or state.is_active):
            return None
        return self.rules.next_due(state.sla)

    def contributions(self, state: ChatState) -> Iterable[GaugeKey]:
        keys: list[GaugeKey] = []
        queue = self.label_of(state.queue)
        if state.is_waiting:
            keys.append((CHAT_QUEUE_WAITING, (queue,)))
        elif state.is_active:
            keys.append((CHATS_ACTIVE, (queue,)))
        else:
            return keys
        due = "chat" if state.is_waiting else None
        return keys + _sla_gauges(self.rules, state.sla, "chat", state.priority, queue, due)

    def waiting_since(self, state: ChatState) -> tuple[str, datetime] | None:
        if state.is_waiting and state.requested_at is not None:
            return self.label_of(state.queue), state.requested_at
        return None

    def ended_at(self, state: ChatState) -> datetime | None:
        if not state.requested:
            return state.updated_at  # a stub: see Tickets.ended_at
        return state.ended_at if state.is_terminal else None
