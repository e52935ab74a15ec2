"""The two conversation kinds (tickets, chats) as the partition core sees them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from stream.domain.chats import ChatState, apply_chat
from stream.domain.effects import Effect
from stream.domain.events import Event
from stream.domain.partition import GaugeKey, LabelOf
from stream.domain.tickets import SOLVED_STATUSES, TicketState, apply_ticket

TICKETS_OPEN = "tickets_open"
TICKETS_AWAITING_FIRST_RESPONSE = "tickets_awaiting_first_response"
CHAT_QUEUE_WAITING = "chat_queue_waiting"
CHATS_ACTIVE = "chats_active"


class Tickets:
    name = "tickets"
    value_type = TicketState

    def apply(
        self, state: TicketState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[TicketState | None, list[Effect]]:
        return apply_ticket(state, event, occurred_at, offset)

    def contributions(self, state: TicketState) -> Iterable[GaugeKey]:
        if not state.is_open:
            return ()
        labels = (state.channel, state.priority)
        if state.first_reply_at is None:
            return ((TICKETS_OPEN, labels), (TICKETS_AWAITING_FIRST_RESPONSE, labels))
        return ((TICKETS_OPEN, labels),)

    def waiting_since(self, state: TicketState) -> tuple[str, datetime] | None:
        return None

    def ended_at(self, state: TicketState) -> datetime | None:
        # Solved tickets are often never closed explicitly; retention starts at solve so they
        # leave the table too. A reopen within the retention makes the ticket live again.
        if state.created and state.status in SOLVED_STATUSES:
            return state.status_at
        return None


class Chats:
    name = "chats"
    value_type = ChatState

    def __init__(self, label_of: LabelOf) -> None:
        self.label_of = label_of

    def apply(
        self, state: ChatState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[ChatState | None, list[Effect]]:
        return apply_chat(state, event, occurred_at, offset, self.label_of)

    def contributions(self, state: ChatState) -> Iterable[GaugeKey]:
        if state.is_waiting:
            return ((CHAT_QUEUE_WAITING, (self.label_of(state.queue),)),)
        if state.is_active:
            return ((CHATS_ACTIVE, (self.label_of(state.queue),)),)
        return ()

    def waiting_since(self, state: ChatState) -> tuple[str, datetime] | None:
        if state.is_waiting and state.requested_at is not None:
            return self.label_of(state.queue), state.requested_at
        return None

    def ended_at(self, state: ChatState) -> datetime | None:
        return state.ended_at if state.is_terminal else None
