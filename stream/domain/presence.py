"""Agent presence from `agent.status_changed`: who is online, away or offline, for which queues.

Keyed by agent id on the agents topic; the gauges `support_agents{queue,status}` and
`support_agent_chat_capacity{queue}` are derived from the stored presence like every live gauge.
An agent counts once in every queue label it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec

from stream.domain import gauges
from stream.domain.effects import Effect
from stream.domain.events import AgentStatusChanged, Event
from stream.domain.partition import GaugeKey, LabelOf
from stream.domain.recent import Recent, begin

AGENTS = gauges.AGENTS.key
AGENT_CHAT_CAPACITY = gauges.AGENT_CHAT_CAPACITY.key
STATUSES = ("online", "away", "offline")


class AgentState(msgspec.Struct, array_like=True):
    offset: int
    updated_at: datetime
    recent: Recent
    status: str = "offline"
    queues: list[str] = msgspec.field(default_factory=list)
    max_chats: int = 1
    status_at: datetime | None = None
    capacity_at: datetime | None = None  # added later: older stored values decode without it


class Presence:
    name = "agents"
    value_type = AgentState

    def __init__(self, label_of: LabelOf) -> None:
        self.label_of = label_of

    def apply(
        self, state: AgentState | None, event: Event, occurred_at: datetime, offset: int
    ) -> tuple[AgentState | None, list[Effect]]:
        if not isinstance(event, AgentStatusChanged):
            raise TypeError(f"not an agent event: {type(event).__name__}")
        started = begin(
            state, lambda: AgentState(offset=offset, updated_at=occurred_at, recent=b""),
            event.event_id, occurred_at, offset, "agents",
        )
        if started is None:
            return None, []
        state, effects = started
        # Presence and capacity each keep their own time: the sources do not promise order,
        # and a capacity change must not be undone by an older presence change, nor the reverse.
        if event.max_chats is not None and (
            state.capacity_at is None or occurred_at >= state.capacity_at
        ):
            state.max_chats = event.max_chats
            state.capacity_at = occurred_at
        queues = sorted(set(event.queues))[:64]  # bounded per agent
        if event.status is None:
            if not state.queues:
                state.queues = queues
            return state, effects
        if state.status_at is not None and occurred_at < state.status_at:
            return state, effects  # a newer presence is already applied
        state.status = event.status
        state.queues = queues
        state.status_at = occurred_at
        return state, effects

    def contributions(self, state: AgentState) -> Mapping[GaugeKey, int]:
        labels = {self.label_of(q) for q in state.queues}
        result: dict[GaugeKey, int] = {(AGENTS, (q, state.status)): 1 for q in labels}
        if state.status == "online":
            for q in labels:
                result[(AGENT_CHAT_CAPACITY, (q,))] = state.max_chats
        return result

    def waiting_since(self, state: AgentState) -> tuple[str, datetime] | None:
        return None

    def ended_at(self, state: AgentState) -> datetime | None:
        return None  # agents are a small, bounded set: kept for good

    def evaluate(self, state: AgentState, now: datetime) -> tuple[AgentState | None, list[Effect]]:
        return None, []

    def next_due(self, state: AgentState) -> datetime | None:
        return None
