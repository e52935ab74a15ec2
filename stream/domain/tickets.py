"""Ticket lifecycle: the state kept per ticket and the transition for each ticket event.

`apply_ticket` is pure: (old state, event) → (new state, effects). Counters are only emitted on
real transitions, so re-applying an event (same event_id) changes nothing (CONTRACT §1: duplicates
must be harmless).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from stream.domain import effects as fx
from stream.domain.effects import AgentStat, Count, Effect, Observe
from stream.domain.events import (
    Event,
    TicketAssigned,
    TicketCreated,
    TicketEffortRated,
    TicketPriorityChanged,
    TicketRated,
    TicketReplied,
    TicketStatusChanged,
)
from stream.domain.recent import Recent, begin
from stream.domain.sla import SlaEvent, SlaRules, SlaTrack, sla_effects

OPEN_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
SOLVED_STATUSES = frozenset({"solved", "closed"})


class TicketState(msgspec.Struct, array_like=True, gc=False):
    """Stored per ticket (array-encoded: the changelog carries no field names).

    `gc=False` (here, on `SlaTrack` and on `SlaClock`): these hold only scalars, datetimes and
    lists of ints or of each other, never a reference back, so they cannot form a cycle; not
    tracking them saves the collector header, 16 B per object (≈ 64 B per open ticket).
    """

    offset: int  # source offset of the last event applied (invariant 2)
    updated_at: datetime  # latest occurred_at applied; older events are "late"
    recent: Recent  # hashes of the last few event ids, for duplicate suppression
    created: bool = False  # False: a stub holding events that arrived before ticket.created
    channel: str = "email"
    priority: str = "normal"
    queue: str | None = None
    request_type: str | None = None
    customer_id: str | None = None
    agent_id: str | None = None
    status: str = "new"
    created_at: datetime | None = None
    status_at: datetime | None = None
    first_reply_at: datetime | None = None
    public_agent_replies: int = 0
    awaiting_reply_since: datetime | None = None  # last customer reply not yet answered
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    sla: SlaTrack | None = None
    # Only while a stub: who solved it, counted once ticket.created brings the labels.
    stub_resolver: str | None = None

    @property
    def is_open(self) -> bool:
        return self.created and self.status in OPEN_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.created and self.status == "closed"


def _seconds(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else max(0.0, (b - a).total_seconds())


def apply_ticket(
    state: TicketState | None,
    event: Event,
    occurred_at: datetime,
    offset: int,
    rules: SlaRules | None = None,
) -> tuple[TicketState | None, list[Effect]]:
    """Apply one ticket event. Returns (None, []) when the event changes nothing."""
    started = begin(
        state, lambda: TicketState(offset=offset, updated_at=occurred_at, recent=b""),
        event.event_id, occurred_at, offset, "tickets",
    )
    if started is None:
        return None, []
    state, effects = started

    match event:
        case TicketCreated():
            if not state.created:
                state.created = True
                state.channel = event.channel
                state.priority = event.priority
                state.queue = event.queue
                state.request_type = event.request_type
                state.customer_id = event.customer_id
                state.agent_id = state.agent_id or event.agent_id
                state.created_at = occurred_at
                effects.append(Count(fx.TICKETS_CREATED, (state.channel, state.priority)))
                if rules is not None:
                    state.sla = rules.start(
                        state.channel, state.priority, state.queue, state.request_type,
                        occurred_at,
                    )
                # Events that arrived before the creation were recorded on the stub; a stub
                # solved before its creation arrived is counted now that labels are known.
                if state.status in SOLVED_STATUSES and state.solved_at is not None:
                    resolver = state.stub_resolver or "agent"
                    state.stub_resolver = None
                    effects.extend(_solved_effects(state, resolver, state.solved_at))
        case TicketReplied():
            effects.extend(_reply(state, event, occurred_at))
            effects.extend(_sla_reply(state, event, occurred_at, rules))
        case TicketStatusChanged():
            was = state.status
            effects.extend(_status(state, event, occurred_at))
            effects.extend(_sla_status(state, was, occurred_at, rules))
        case TicketAssigned():
            state.agent_id = event.agent_id
            if event.queue is not None:
                state.queue = event.queue
        case TicketPriorityChanged():
            state.priority = event.priority
            if rules is not None and state.sla is not None and state.created_at is not None:
                state.sla = rules.rechoose(
                    state.sla, state.channel, state.priority, state.queue, state.request_type,
                    state.created_at,
                )
        case TicketRated():
            if state.created:
                effects.append(Count(fx.CSAT, (state.channel, str(event.score))))
                if state.agent_id:
                    effects.append(AgentStat(state.agent_id, "csat", event.score, occurred_at))
        case TicketEffortRated():
            if state.created:
                effects.append(Count(fx.CES, (state.channel, str(event.score))))
        case _:
            raise TypeError(f"not a ticket event: {type(event).__name__}")
    return state, effects


def _reply(state: TicketState, event: TicketReplied, at: datetime) -> list[Effect]:
    effects: list[Effect] = []
    if state.created:
        template = "yes" if event.template_id else "no"
        effects.append(Count(fx.REPLIES, (state.channel, event.author, template)))
    if event.author == "customer":
        if state.awaiting_reply_since is None and state.first_reply_at is not None:
            state.awaiting_reply_since = at
        return effects
    if event.author != "agent" or not event.public:
        return effects
    state.public_agent_replies += 1
    if event.agent_id:
        state.agent_id = event.agent_id
        effects.append(AgentStat(event.agent_id, "replies", 1, at))
    if state.first_reply_at is None:
        state.first_reply_at = at
        frt = _seconds(state.created_at, at)
        if state.created and frt is not None:
            effects.append(Observe(fx.FIRST_RESPONSE_SECONDS, (state.channel, state.priority), frt))
            effects.append(Observe(fx.RESPONSE_SECONDS, (state.channel,), frt))
            if event.agent_id:
                effects.append(AgentStat(event.agent_id, "first_response", frt, at))
    elif state.awaiting_reply_since is not None:
        waited = _seconds(state.awaiting_reply_since, at)
        if state.created and waited is not None:
            effects.append(Observe(fx.RESPONSE_SECONDS, (state.channel,), waited))
    state.awaiting_reply_since = None
    return effects


def _status(state: TicketState, event: TicketStatusChanged, at: datetime) -> list[Effect]:
    if state.status_at is not None and at < state.status_at:
        # A newer status is already applied; this one is stale (counted late above).
        return []
    was = state.status
    state.status = event.status
    state.status_at = at
    if event.agent_id:
        state.agent_id = event.agent_id
    if event.status == "closed":
        state.closed_at = at
    if was in OPEN_STATUSES and event.status in SOLVED_STATUSES:
        state.solved_at = at
        if state.created:
            return _solved_effects(state, event.resolved_by, at)
        state.stub_resolver = event.resolved_by
    elif was in SOLVED_STATUSES and event.status in OPEN_STATUSES:
        state.solved_at = None  # reopened: resolution continues
        state.closed_at = None
        state.stub_resolver = None
    return []


def _solved_effects(state: TicketState, resolver: str, at: datetime) -> list[Effect]:
    labels = (state.channel, state.priority)
    effects: list[Effect] = [
        Count(fx.TICKETS_SOLVED, labels),
        Count(fx.RESOLUTIONS, (state.channel, resolver)),
    ]
    if state.public_agent_replies == 1:
        effects.append(Count(fx.TICKETS_SOLVED_ONE_TOUCH, labels))
    if state.agent_id and resolver == "agent":
        effects.append(AgentStat(state.agent_id, "solved", 1, at))
    resolution = _seconds(state.created_at, at)
    if resolution is not None:
        effects.append(Observe(fx.RESOLUTION_SECONDS, labels, resolution))
    return effects


def _sla_reply(
    state: TicketState, event: TicketReplied, at: datetime, rules: SlaRules | None
) -> list[Effect]:
    if rules is None or state.sla is None or not state.is_open:
        return []
    track = state.sla
    events: list[SlaEvent] = []
    if event.author == "agent" and event.public:
        track, met = rules.met(track, "first_response", at)
        events += met
        track, met = rules.met(track, "next_response", at)
        events += met
    elif event.author == "customer" and state.first_reply_at is not None:
        track = rules.restart(track, "next_response", at)
    state.sla = track
    return sla_effects(events, state.channel, state.priority, state.queue)


def _sla_status(
    state: TicketState, was: str, at: datetime, rules: SlaRules | None
) -> list[Effect]:
    if rules is None or state.sla is None or state.status == was:
        return []
    track = state.sla
    events: list[SlaEvent] = []
    now = state.status
    if now in SOLVED_STATUSES and was in OPEN_STATUSES:
        track, events = rules.met(track, "resolution", at)
    elif now in ("pending", "on_hold"):
        track = rules.pause(track, "resolution", at)
    elif now in ("new", "open"):
        track = rules.resume(track, "resolution", at)  # also a reopen after solved
    state.sla = track
    return sla_effects(events, state.channel, state.priority, state.queue)


def evaluate_ticket(
    state: TicketState, now: datetime, rules: SlaRules
) -> tuple[TicketState | None, list[Effect]]:
    """Time-driven SLA marks (at risk, breached) of an open ticket; (None, []) if none."""
    if state.sla is None or not state.is_open:
        return None, []
    track, events = rules.evaluate(state.sla, now)
    if not events:
        return None, []
    state = msgspec.structs.replace(state, sla=track)
    return state, sla_effects(events, state.channel, state.priority, state.queue)
