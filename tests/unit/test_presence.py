"""Agent presence: status and capacity, each kept with its own time (sources do not promise
order), either of them omitted meaning "unchanged" (CONTRACT §1 extension)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stream.domain.events import AgentStatusChanged
from stream.domain.presence import AGENT_CHAT_CAPACITY, AGENTS, AgentState, Presence
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.conftest import struct

KIND = Presence(lambda queue: queue or "other")


class Agent:
    def __init__(self) -> None:
        self.state: AgentState | None = None
        self.offset = 0

    def __call__(self, seconds: float, **fields: Any) -> AgentState:
        self.offset += 1
        at = T0 + timedelta(seconds=seconds)
        event = struct(AgentStatusChanged, at, f"e{self.offset}", agent_id="A1",
                       **{"queues": ["orders"], **fields})
        new, _ = KIND.apply(self.state, event, at, self.offset)
        assert new is not None
        self.state = new
        return new


def test_a_status_without_max_chats_keeps_the_capacity() -> None:
    agent = Agent()
    agent(0, status="online", max_chats=3)
    state = agent(60, status="away")
    assert (state.status, state.max_chats) == ("away", 3)
    state = agent(120, status="online")
    assert KIND.contributions(state)[(AGENT_CHAT_CAPACITY, ("orders",))] == 3


def test_a_new_agent_without_max_chats_has_one_slot() -> None:
    state = Agent()(0, status="online")
    assert KIND.contributions(state) == {(AGENTS, ("orders", "online")): 1,
                                         (AGENT_CHAT_CAPACITY, ("orders",)): 1}


def test_a_capacity_only_change_keeps_the_presence() -> None:
    agent = Agent()
    agent(0, status="online", max_chats=2)
    state = agent(60, max_chats=4)  # Zendesk agent.max_capacity_changed
    assert (state.status, state.max_chats) == ("online", 4)
    assert KIND.contributions(state)[(AGENT_CHAT_CAPACITY, ("orders",))] == 4


def test_a_capacity_for_an_unseen_agent_counts_no_capacity_until_online() -> None:
    agent = Agent()
    state = agent(0, max_chats=4)
    assert state.status == "offline" and state.queues == ["orders"]
    assert (AGENT_CHAT_CAPACITY, ("orders",)) not in KIND.contributions(state)
    assert agent(10, status="online").max_chats == 4


def test_older_changes_never_undo_newer_ones_of_the_other_kind() -> None:
    agent = Agent()
    agent(100, status="online", max_chats=3)
    state = agent(50, max_chats=1)  # an older capacity, delivered late
    assert state.max_chats == 3
    state = agent(200, max_chats=5)
    # A presence newer than the last presence but older than the last capacity, with the
    # capacity it had then: the presence applies, the capacity does not.
    state = agent(150, status="away", max_chats=2)
    assert (state.status, state.max_chats) == ("away", 5)
    state = agent(120, status="online")  # older than the last presence
    assert state.status == "away"
