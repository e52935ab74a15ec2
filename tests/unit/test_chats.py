"""Chat lifecycle (stream/domain/chats.py): waiting → active → ended, or waiting → abandoned."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from stream.domain import effects as fx
from stream.domain.chats import ABANDONED, ACTIVE, ENDED, WAITING, ChatState, apply_chat
from stream.domain.conversations import CHAT_QUEUE_WAITING, CHATS_ACTIVE, Chats
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
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.conftest import agent_stats, named, struct
from tests.unit.conftest import queue_label as label_of

KIND = Chats(label_of)


class Chat:
    def __init__(self, chat_id: str = "C1") -> None:
        self.chat_id = chat_id
        self.state: ChatState | None = None
        self.offset = 10
        self.serial = 0
        self.changed = False

    def __call__(
        self, cls: type[Event], seconds: float, event_id: str | None = None, **fields: Any
    ) -> list[Effect]:
        self.serial += 1
        at = T0 + timedelta(seconds=seconds)
        event = struct(cls, at, event_id or f"{self.chat_id}-e{self.serial}",
                       chat_id=self.chat_id, **fields)
        before = copy.deepcopy(self.state)
        new, effects = apply_chat(self.state, event, at, self.offset, label_of)
        assert self.state == before  # the old value is never mutated
        self.changed = new is not None
        if new is not None:
            assert new.offset == self.offset
            self.state = new
        else:
            assert effects == []
        self.offset += 1
        return effects

    def request(self, seconds: float = 0, queue: str = "orders", **fields: Any) -> list[Effect]:
        return self(ChatRequested, seconds, queue=queue, **fields)

    @property
    def s(self) -> ChatState:
        assert self.state is not None
        return self.state


def metric_effects(effects: list[Effect]) -> list[Effect]:
    """The effects without the event-time window tallies and the agent scorecard stats (both
    tested on their own below)."""
    return [e for e in effects if not isinstance(e, Tally | AgentStat)]


def tallies(effects: list[Effect]) -> list[Effect]:
    return [e for e in effects if isinstance(e, Tally)]


def gauges(state: ChatState) -> set[tuple[str, tuple[str, ...]]]:
    return set(KIND.contributions(state))


def test_requested_is_waiting_and_counted() -> None:
    c = Chat()
    assert metric_effects(c.request(priority="high", customer_id="K1")) == [
        Count(fx.CHATS_REQUESTED, ("orders",))
    ]
    s = c.s
    assert (s.status, s.requested_at, s.priority, s.customer_id) == (WAITING, T0, "high", "K1")
    assert s.is_waiting and not s.is_active and not s.is_terminal
    assert gauges(s) == {(CHAT_QUEUE_WAITING, ("orders",))}
    assert KIND.waiting_since(s) == ("orders", T0)
    assert KIND.ended_at(s) is None


def test_second_request_does_not_count_again() -> None:
    c = Chat()
    c.request()
    assert c.request(30, queue="returns") == []
    assert c.changed
    assert (c.s.queue, c.s.requested_at) == ("orders", T0)


@pytest.mark.parametrize("end", ["ended", "abandoned"])
def test_a_request_after_the_end_is_a_new_cycle(end: str) -> None:
    # A reopened web-widget conversation (Chatwoot `resolved` → `open`) waits again.
    c = Chat()
    c.request()
    if end == "ended":
        c(ChatAccepted, 10, agent_id="A1")
        c(ChatEnded, 100)
    else:
        c(ChatAbandoned, 100)
    assert c.s.is_terminal
    effects = c.request(500, queue="returns")
    assert metric_effects(effects) == [Count(fx.CHATS_REQUESTED, ("returns",))]
    s = c.s
    assert (s.status, s.queue, s.requested_at) == (WAITING, "returns", T0 + timedelta(seconds=500))
    assert (s.accepted_at, s.ended_at, s.agent_id) == (None, None, None)
    assert gauges(s) == {(CHAT_QUEUE_WAITING, ("returns",))}
    assert KIND.ended_at(s) is None  # no longer expires as an ended chat


def test_a_request_older_than_the_end_does_not_reopen() -> None:
    c = Chat()
    c.request()
    c(ChatEnded, 100)
    assert metric_effects(c.request(50)) == [Count(fx.EVENTS_LATE, ("chats",))]
    assert c.s.status == ENDED


def test_campaign_chat_is_counted() -> None:
    c = Chat()
    effects = c.request(campaign_id="CMP1")
    assert Count(fx.CAMPAIGN_CHATS, ()) in effects
    assert c.s.campaign_id == "CMP1"


def test_accept_makes_it_active_and_observes_the_wait() -> None:
    c = Chat()
    c.request()
    effects = c(ChatAccepted, 45, agent_id="A1")
    assert named(effects, fx.CHAT_WAIT_SECONDS) == [
        Observe(fx.CHAT_WAIT_SECONDS, ("orders",), 45.0)
    ]
    assert named(effects, fx.CHATS_REQUESTED) == named(effects, fx.CHATS_MISSED) == []
    s = c.s
    assert (s.status, s.accepted_at, s.agent_id) == (ACTIVE, T0 + timedelta(seconds=45), "A1")
    assert s.is_active and not s.is_waiting
    assert gauges(s) == {(CHATS_ACTIVE, ("orders",))}
    assert KIND.waiting_since(s) is None


def test_agent_message_answers_like_accept() -> None:
    c = Chat()
    c.request()
    effects = c(ChatMessage, 20, author="agent", agent_id="A2", template_id="hello")
    assert named(effects, fx.CHAT_WAIT_SECONDS) == [
        Observe(fx.CHAT_WAIT_SECONDS, ("orders",), 20.0)
    ]
    assert named(effects, fx.REPLIES) == [Count(fx.REPLIES, ("chat", "agent", "yes"))]
    assert (c.s.status, c.s.agent_id) == (ACTIVE, "A2")
    # A later accept does not observe a second wait.
    assert c(ChatAccepted, 30, agent_id="A2") == []
    assert c.s.accepted_at == T0 + timedelta(seconds=20)


@pytest.mark.parametrize("author", ["customer", "bot"])
def test_customer_or_bot_message_does_not_answer(author: str) -> None:
    c = Chat()
    c.request()
    assert c(ChatMessage, 5, author=author) == [Count(fx.REPLIES, ("chat", author, "no"))]
    assert c.s.is_waiting


def test_abandoned_while_waiting_is_a_missed_chat() -> None:
    c = Chat()
    c.request(queue="returns")
    assert metric_effects(c(ChatAbandoned, 90)) == [Count(fx.CHATS_MISSED, ("returns",))]
    s = c.s
    assert (s.status, s.ended_at) == (ABANDONED, T0 + timedelta(seconds=90))
    assert s.is_terminal
    assert gauges(s) == set()
    assert KIND.ended_at(s) == T0 + timedelta(seconds=90)


def test_abandoned_after_accept_changes_nothing() -> None:
    c = Chat()
    c.request()
    c(ChatAccepted, 10, agent_id="A1")
    assert c(ChatAbandoned, 90) == []
    assert c.s.status == ACTIVE
    assert c.s.ended_at is None


def test_abandoned_after_end_changes_nothing() -> None:
    c = Chat()
    c.request()
    c(ChatEnded, 30)
    assert c(ChatAbandoned, 40) == []
    assert c.s.status == ENDED


def test_ended_after_accept_defaults_to_agent_resolver() -> None:
    c = Chat()
    c.request()
    c(ChatAccepted, 10, agent_id="A1")
    assert metric_effects(c(ChatEnded, 600)) == [Count(fx.RESOLUTIONS, ("chat", "agent"))]
    assert (c.s.status, c.s.ended_at) == (ENDED, T0 + timedelta(seconds=600))
    assert gauges(c.s) == set()
    assert KIND.ended_at(c.s) == T0 + timedelta(seconds=600)


def test_ended_without_accept_defaults_to_bot_resolver() -> None:
    c = Chat()
    c.request()
    assert c(ChatEnded, 60) == [Count(fx.RESOLUTIONS, ("chat", "bot"))]
    assert c.s.status == ENDED


def test_explicit_resolver_wins() -> None:
    c = Chat()
    c.request()
    c(ChatAccepted, 10, agent_id="A1")
    assert metric_effects(c(ChatEnded, 60, resolved_by="bot")) == [
        Count(fx.RESOLUTIONS, ("chat", "bot"))
    ]


def test_second_end_and_late_accept_change_nothing() -> None:
    c = Chat()
    c.request()
    c(ChatEnded, 60)
    assert c(ChatEnded, 70) == []
    assert c(ChatAccepted, 80, agent_id="A1") == []
    assert c.s.status == ENDED
    assert c.s.accepted_at is None


def test_transfer_changes_the_queue_label() -> None:
    c = Chat()
    c.request(queue="orders")
    assert c(ChatTransferred, 10, queue="returns") == []
    assert gauges(c.s) == {(CHAT_QUEUE_WAITING, ("returns",))}
    assert KIND.waiting_since(c.s) == ("returns", T0)  # the wait keeps its start
    c(ChatAccepted, 20, agent_id="A1")
    c(ChatTransferred, 30, queue="payments", agent_id="A9")
    assert gauges(c.s) == {(CHATS_ACTIVE, ("payments",))}
    assert c.s.agent_id == "A9"
    c(ChatTransferred, 40, agent_id="A4")
    assert (c.s.queue, c.s.agent_id) == ("payments", "A4")


def test_accept_after_transfer_observes_under_the_new_queue() -> None:
    c = Chat()
    c.request(queue="orders")
    c(ChatTransferred, 10, queue="general")
    assert named(c(ChatAccepted, 25, agent_id="A1"), fx.CHAT_WAIT_SECONDS) == [
        Observe(fx.CHAT_WAIT_SECONDS, ("general",), 25.0)
    ]


@pytest.mark.parametrize("answer", ["accept", "agent message"])
def test_a_chats_first_response_is_its_answer(answer: str) -> None:
    """CONTRACT §3: for chats, first_response ends at chat.accepted or the first agent message."""
    c = Chat()
    c.request(priority="urgent")
    if answer == "accept":
        effects = c(ChatAccepted, 12, agent_id="A1")
    else:
        effects = c(ChatMessage, 12, author="agent")
    assert named(effects, fx.FIRST_RESPONSE_SECONDS) == [
        Observe(fx.FIRST_RESPONSE_SECONDS, ("chat", "urgent"), 12.0)
    ]
    assert named(c(ChatMessage, 20, author="agent"), fx.FIRST_RESPONSE_SECONDS) == []


def test_unknown_queue_becomes_other() -> None:
    assert label_of("vip") == "other"
    assert label_of(None) == "other"
    assert label_of("orders") == "orders"
    c = Chat()
    assert metric_effects(c.request(queue="vip")) == [Count(fx.CHATS_REQUESTED, ("other",))]
    assert c.s.queue == "vip"  # stored as given, labelled when read
    assert gauges(c.s) == {(CHAT_QUEUE_WAITING, ("other",))}
    assert KIND.waiting_since(c.s) == ("other", T0)
    assert metric_effects(c(ChatAbandoned, 5)) == [Count(fx.CHATS_MISSED, ("other",))]


def test_window_tallies_follow_the_lifecycle() -> None:
    """Arrivals, waits, abandons and handle times feed the partition's event-time windows."""
    c = Chat()
    assert tallies(c.request(queue="vip")) == [
        Tally(fx.ARRIVALS_QUEUE, "other", T0),
        Tally(fx.CHAT_ARRIVALS, "other", T0),
        Tally(fx.ARRIVALS_CHANNEL, "chat", T0),
    ]
    assert tallies(c(ChatAccepted, 30, agent_id="A1")) == [
        Tally(fx.WAIT_SUM, "other", T0 + timedelta(seconds=30), 30.0)
    ]
    assert tallies(c(ChatEnded, 330)) == [
        Tally(fx.HANDLE_SUM, "other", T0 + timedelta(seconds=330), 300.0),
        Tally(fx.HANDLE_N, "other", T0 + timedelta(seconds=330)),
    ]
    gone = Chat("C2")
    gone.request(queue="returns")
    assert tallies(gone(ChatAbandoned, 90)) == [
        Tally(fx.ABANDONED, "returns", T0 + timedelta(seconds=90)),
        Tally(fx.WAIT_SUM, "returns", T0 + timedelta(seconds=90), 90.0),
    ]
    # Unrequested stubs tally nothing.
    stub = Chat("C3")
    assert tallies(stub(ChatAccepted, 10, agent_id="A1") + stub(ChatEnded, 20)) == []


def test_agent_scorecard_stats() -> None:
    c = Chat()
    c.request()
    assert agent_stats(c(ChatAccepted, 30, agent_id="A1")) == [
        AgentStat("A1", "first_response", 30.0, T0 + timedelta(seconds=30))
    ]
    assert agent_stats(c(ChatMessage, 40, author="agent")) == [
        AgentStat("A1", "replies", 1, T0 + timedelta(seconds=40))
    ]
    assert agent_stats(c(ChatMessage, 50, author="customer")) == []
    assert agent_stats(c(ChatEnded, 60)) == [
        AgentStat("A1", "solved", 1, T0 + timedelta(seconds=60))
    ]
    assert agent_stats(c(ChatRated, 70, score=4)) == [
        AgentStat("A1", "csat", 4, T0 + timedelta(seconds=70))
    ]
    # Ended by the bot: not the agent's solve.
    b = Chat("C2")
    b.request()
    b(ChatAccepted, 10, agent_id="A2")
    assert agent_stats(b(ChatEnded, 20, resolved_by="bot")) == []


def test_rating_and_conversion() -> None:
    c = Chat()
    c.request()
    assert c(ChatRated, 100, score=4) == [Count(fx.CSAT, ("chat", "4"))]
    assert c(ChatConverted, 110, ticket_id="T5") == [Count(fx.CHAT_CONVERSIONS, ())]
    assert c.s.converted_ticket_id == "T5"
    assert c(ChatConverted, 120, ticket_id="T6") == []  # a chat is converted once


def test_late_event_is_counted_late() -> None:
    c = Chat()
    c.request(100)
    effects = c(ChatRated, 50, score=2)
    assert effects == [Count(fx.EVENTS_LATE, ("chats",)), Count(fx.CSAT, ("chat", "2"))]
    assert c.s.updated_at == T0 + timedelta(seconds=100)


def test_duplicates_change_nothing() -> None:
    c = Chat()
    c.request(event_id="r1")
    c(ChatAccepted, 10, event_id="a1", agent_id="A1")
    state = copy.deepcopy(c.state)
    assert c.request(event_id="r1") == []
    assert c(ChatAccepted, 10, event_id="a1", agent_id="A2") == []
    assert c(ChatEnded, 10, event_id="a1") == []  # same id, whatever the payload
    assert not c.changed
    assert c.state == state


def test_events_before_request_make_an_uncounted_stub() -> None:
    c = Chat()
    assert c(ChatMessage, 10, author="customer") == []
    assert c(ChatRated, 11, score=5) == []
    assert not c.s.requested
    assert gauges(c.s) == set()
    assert KIND.waiting_since(c.s) is None
    # A stub is retained from its last event, so one whose request never comes expires.
    assert KIND.ended_at(c.s) == c.s.updated_at == T0 + timedelta(seconds=11)
    effects = c.request(0)
    assert Count(fx.CHATS_REQUESTED, ("orders",)) in effects
    assert c.s.is_waiting
    assert KIND.ended_at(c.s) is None  # a requested chat waits: it no longer expires


def test_stub_accepted_before_request_is_active_once_requested() -> None:
    c = Chat()
    assert c(ChatAccepted, 10, agent_id="A1") == []
    assert gauges(c.s) == set()
    c.request(0)
    assert c.s.is_active
    assert gauges(c.s) == {(CHATS_ACTIVE, ("orders",))}
    assert KIND.ended_at(c.s) is None


def test_stub_ended_before_request_expires_once_requested() -> None:
    c = Chat()
    c(ChatEnded, 60)
    # Not a conversation yet: a stub expires from its last event, like any stub.
    assert KIND.ended_at(c.s) == c.s.updated_at == T0 + timedelta(seconds=60)
    c.request(0)
    assert c.s.is_terminal
    assert KIND.ended_at(c.s) == T0 + timedelta(seconds=60)


def test_stub_abandoned_before_request_is_counted_missed_when_requested() -> None:
    c = Chat()
    c(ChatAbandoned, 60)
    effects = c.request(0)
    assert Count(fx.CHATS_MISSED, ("orders",)) in effects


def test_not_a_chat_event_raises() -> None:
    from stream.domain.events import TicketRated

    with pytest.raises(TypeError):
        apply_chat(None, TicketRated(event_id="x", occurred_at="", ticket_id="T", score=1), T0, 1,
                   label_of)
