"""Chat lifecycle: waiting → active → ended, or waiting → abandoned (a missed chat)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec

from stream.domain import effects as fx
from stream.domain.effects import AgentStat, Count, Effect, Observe, Tally
from stream.domain.events import (
    ChatAbandoned,
    ChatAccepted,
    ChatConverted,
    ChatEnded,
    ChatMessage,
    ChatRated,
    ChatRequested,
    ChatTransferred,
    Event,
)
from stream.domain.recent import Recent, begin
from stream.domain.sla import SlaRules, SlaTrack, sla_effects

WAITING, ACTIVE, ENDED, ABANDONED = "waiting", "active", "ended", "abandoned"
TERMINAL = frozenset({ENDED, ABANDONED})


class ChatState(msgspec.Struct, array_like=True):
    offset: int
    updated_at: datetime
    recent: Recent
    requested: bool = False  # False: a stub for events that arrived before chat.requested
    queue: str | None = None
    priority: str = "normal"
    customer_id: str | None = None
    campaign_id: str | None = None
    status: str = WAITING
    requested_at: datetime | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    agent_id: str | None = None
    converted_ticket_id: str | None = None
    sla: SlaTrack | None = None

    @property
    def is_waiting(self) -> bool:
        return self.requested and self.status == WAITING

    @property
    def is_active(self) -> bool:
        return self.requested and self.status == ACTIVE

    @property
    def is_terminal(self) -> bool:
        return self.requested and self.status in TERMINAL


def apply_chat(
    state: ChatState | None,
    event: Event,
    occurred_at: datetime,
    offset: int,
    label_of: Callable[[str | None], str],
    rules: SlaRules | None = None,
) -> tuple[ChatState | None, list[Effect]]:
    """Apply one chat event; `label_of` maps a queue name to its bounded label value."""
    started = begin(
        state, lambda: ChatState(offset=offset, updated_at=occurred_at, recent=b""),
        event.event_id, occurred_at, offset, "chats",
    )
    if started is None:
        return None, []
    state, effects = started

    match event:
        case ChatRequested():
            if state.is_terminal and state.ended_at is not None and occurred_at > state.ended_at:
                # The customer wrote again after the chat ended (a reopened web-widget
                # conversation): a new cycle, waiting again, counted as a new arrival.
                state.requested = False
                state.status = WAITING
                state.accepted_at = state.ended_at = state.agent_id = None
                state.converted_ticket_id = None
                state.sla = None
            if not state.requested:
                state.requested = True
                state.queue = event.queue
                state.priority = event.priority
                state.customer_id = event.customer_id
                state.campaign_id = event.campaign_id
                state.requested_at = occurred_at
                label = label_of(event.queue)
                effects += [
                    Count(fx.CHATS_REQUESTED, (label,)),
                    Tally(fx.ARRIVALS_QUEUE, label, occurred_at),
                    Tally(fx.CHAT_ARRIVALS, label, occurred_at),
                    Tally(fx.ARRIVALS_CHANNEL, "chat", occurred_at),
                ]
                if state.status == ABANDONED:  # the abandon arrived first: count it now
                    effects.append(Count(fx.CHATS_MISSED, (label_of(event.queue),)))
                if rules is not None:
                    state.sla = rules.start(
                        "chat", state.priority, state.queue, None, occurred_at,
                        targets=("first_response",), conversation="chat",
                    )
                if event.campaign_id:
                    effects.append(Count(fx.CAMPAIGN_CHATS, ()))
        case ChatAccepted():
            state.agent_id = event.agent_id
            effects.extend(_answer(state, occurred_at, label_of))
            effects.extend(_sla_met(state, "first_response", occurred_at, rules))
        case ChatMessage():
            if event.author == "agent":
                if event.agent_id:
                    state.agent_id = event.agent_id
                # CONTRACT §3: the first agent message answers a chat as much as accept does.
                effects.extend(_answer(state, occurred_at, label_of))
                effects.extend(_sla_met(state, "first_response", occurred_at, rules))
                effects.extend(_sla_met(state, "next_response", occurred_at, rules))
            elif event.author == "customer" and rules and state.sla and state.is_active:
                state.sla = rules.restart(state.sla, "next_response", occurred_at)
            if state.requested:
                template = "yes" if event.template_id else "no"
                effects.append(Count(fx.REPLIES, ("chat", event.author, template)))
                if event.author == "agent" and state.agent_id:
                    effects.append(AgentStat(state.agent_id, "replies", 1, occurred_at))
        case ChatTransferred():
            if event.queue is not None:
                state.queue = event.queue
            if event.agent_id is not None:
                state.agent_id = event.agent_id
        case ChatEnded():
            if state.status not in TERMINAL:
                effects.extend(_sla_close(state, occurred_at, rules))
                resolver = event.resolved_by or ("agent" if state.accepted_at else "bot")
                state.status = ENDED
                state.ended_at = occurred_at
                if state.requested:
                    effects.append(Count(fx.RESOLUTIONS, ("chat", resolver)))
                    if resolver == "agent" and state.agent_id:
                        effects.append(AgentStat(state.agent_id, "solved", 1, occurred_at))
                if state.requested and state.accepted_at is not None:
                    # Handle time (accept → end) feeds the live staffing model.
                    handled = max(0.0, (occurred_at - state.accepted_at).total_seconds())
                    label = label_of(state.queue)
                    effects += [
                        Tally(fx.HANDLE_SUM, label, occurred_at, handled),
                        Tally(fx.HANDLE_N, label, occurred_at),
                    ]
        case ChatAbandoned():
            if state.status == WAITING:
                effects.extend(_sla_close(state, occurred_at, rules))
                state.status = ABANDONED
                state.ended_at = occurred_at
                if state.requested and state.requested_at is not None:
                    label = label_of(state.queue)
                    waited = max(0.0, (occurred_at - state.requested_at).total_seconds())
                    # Patience is estimated from the waits of everyone, served or not, over
                    # the number who gave up (exponential MLE).
                    effects += [
                        Count(fx.CHATS_MISSED, (label,)),
                        Tally(fx.ABANDONED, label, occurred_at),
                        Tally(fx.WAIT_SUM, label, occurred_at, waited),
                    ]
        case ChatRated():
            if state.requested:
                effects.append(Count(fx.CSAT, ("chat", str(event.score))))
                if state.agent_id:
                    effects.append(AgentStat(state.agent_id, "csat", event.score, occurred_at))
        case ChatConverted():
            if state.converted_ticket_id is None and state.requested:
                effects.append(Count(fx.CHAT_CONVERSIONS, ()))
            state.converted_ticket_id = event.ticket_id
        case _:
            raise TypeError(f"not a chat event: {type(event).__name__}")
    return state, effects


def _answer(state: ChatState, at: datetime, label_of: Callable[[str | None], str]) -> list[Effect]:
    if state.accepted_at is not None or state.status in TERMINAL:
        return []
    state.accepted_at = at
    state.status = ACTIVE
    if state.requested and state.requested_at is not None:
        wait = max(0.0, (at - state.requested_at).total_seconds())
        # For a chat the first response is the answer to the request (CONTRACT §3).
        label = label_of(state.queue)
        stats: list[Effect] = (
            [AgentStat(state.agent_id, "first_response", wait, at)] if state.agent_id else []
        )
        return [
            *stats,
            Observe(fx.CHAT_WAIT_SECONDS, (label,), wait),
            Observe(fx.FIRST_RESPONSE_SECONDS, ("chat", state.priority), wait),
            Tally(fx.WAIT_SUM, label, at, wait),
        ]
    return []


def _sla_met(
    state: ChatState, target: str, at: datetime, rules: SlaRules | None
) -> list[Effect]:
    if rules is None or state.sla is None or state.status in TERMINAL:
        return []
    state.sla, events = rules.met(state.sla, target, at)
    return sla_effects(events, "chat", state.priority, state.queue)


def evaluate_chat(
    state: ChatState, now: datetime, rules: SlaRules
) -> tuple[ChatState | None, list[Effect]]:
    if state.sla is None or not (state.is_waiting or state.is_active):
        return None, []
    track, events = rules.evaluate(state.sla, now)
    if not events:
        return None, []
    state = msgspec.structs.replace(state, sla=track)
    return state, sla_effects(events, "chat", state.priority, state.queue)


def _sla_close(state: ChatState, at: datetime, rules: SlaRules | None) -> list[Effect]:
    if rules is None or state.sla is None:
        return []
    state.sla, events = rules.close(state.sla, at)
    return sla_effects(events, "chat", state.priority, state.queue)
