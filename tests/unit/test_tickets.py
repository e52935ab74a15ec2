"""Ticket lifecycle (stream/domain/tickets.py): transitions and the effects they emit."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from stream.domain import effects as fx
from stream.domain.conversations import (
    TICKETS_AWAITING_FIRST_RESPONSE,
    TICKETS_OPEN,
    Tickets,
)
from stream.domain.effects import AgentStat, Count, Effect, Observe, Tally
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
from stream.domain.sla import SlaRules
from stream.domain.tickets import TicketState, apply_ticket
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.conftest import agent_stats, named, shipped_rules, struct

LATE = Count(fx.EVENTS_LATE, ("tickets",))


class Ticket:
    """Feeds events for one ticket through apply_ticket, like the partition does."""

    def __init__(self, ticket_id: str = "T1", rules: SlaRules | None = None) -> None:
        self.ticket_id = ticket_id
        self.rules = rules
        self.state: TicketState | None = None
        self.offset = 100
        self.serial = 0
        self.changed = False

    def __call__(
        self, cls: type[Event], minutes: float, event_id: str | None = None, **fields: Any
    ) -> list[Effect]:
        self.serial += 1
        at = T0 + timedelta(minutes=minutes)
        event = struct(cls, at, event_id or f"{self.ticket_id}-e{self.serial}",
                       ticket_id=self.ticket_id, **fields)
        before = copy.deepcopy(self.state)
        new, effects = apply_ticket(self.state, event, at, self.offset, self.rules)
        # The old value must stay untouched: the partition subtracts its gauge contributions.
        assert self.state == before
        self.changed = new is not None
        if new is not None:
            assert new.offset == self.offset
            self.state = new
        else:
            assert effects == []
        self.offset += 1
        return effects

    def create(self, minutes: float = 0, **fields: Any) -> list[Effect]:
        base = {"channel": "email", "priority": "high", "queue": "orders"}
        return self(TicketCreated, minutes, **{**base, **fields})

    @property
    def s(self) -> TicketState:
        assert self.state is not None
        return self.state


def metric_effects(effects: list[Effect]) -> list[Effect]:
    """The effects without the agent scorecard stats (tested on their own below)."""
    return [e for e in effects if not isinstance(e, AgentStat)]


def gauges(state: TicketState) -> set[tuple[str, tuple[str, ...]]]:
    return set(Tickets().contributions(state))


# --- creation ------------------------------------------------------------------------------------
def test_created_counts_once_with_channel_and_priority() -> None:
    t = Ticket()
    assert t.create(channel="phone", priority="urgent") == [
        Count(fx.TICKETS_CREATED, ("phone", "urgent"))
    ]
    s = t.s
    assert (s.created, s.status, s.queue, s.created_at) == (True, "new", "orders", T0)
    assert s.is_open and not s.is_terminal
    assert gauges(s) == {
        (TICKETS_OPEN, ("phone", "urgent", "orders")),
        (TICKETS_AWAITING_FIRST_RESPONSE, ("phone", "urgent", "orders")),
    }


def test_second_created_with_another_event_id_does_not_count_or_relabel() -> None:
    t = Ticket()
    t.create(channel="phone", priority="urgent", customer_id="K1")
    effects = t.create(minutes=5, channel="email", priority="low", customer_id="K2")
    assert t.changed  # a new event id: remembered, but no transition
    assert named(effects, fx.TICKETS_CREATED) == []
    assert (t.s.channel, t.s.priority, t.s.customer_id, t.s.created_at) == (
        "phone", "urgent", "K1", T0,
    )


def test_created_records_optional_fields() -> None:
    t = Ticket()
    t.create(request_type="order_status", customer_id="K1", agent_id="A1")
    assert (t.s.request_type, t.s.customer_id, t.s.agent_id) == ("order_status", "K1", "A1")


# --- replies -------------------------------------------------------------------------------------
def test_first_public_agent_reply_sets_first_response_and_observes_frt() -> None:
    t = Ticket()
    t.create()
    effects = t(TicketReplied, 10, author="agent", agent_id="A7")
    assert metric_effects(effects) == [
        Count(fx.REPLIES, ("email", "agent", "no")),
        Observe(fx.FIRST_RESPONSE_SECONDS, ("email", "high"), 600.0),
        Observe(fx.RESPONSE_SECONDS, ("email",), 600.0),
    ]
    assert t.s.first_reply_at == T0 + timedelta(minutes=10)
    assert t.s.public_agent_replies == 1
    assert t.s.agent_id == "A7"
    assert gauges(t.s) == {(TICKETS_OPEN, ("email", "high", "orders"))}


def test_second_agent_reply_does_not_observe_first_response_again() -> None:
    t = Ticket()
    t.create()
    t(TicketReplied, 10, author="agent")
    effects = t(TicketReplied, 20, author="agent", template_id="macro-1")
    assert effects == [Count(fx.REPLIES, ("email", "agent", "yes"))]
    assert t.s.first_reply_at == T0 + timedelta(minutes=10)
    assert t.s.public_agent_replies == 2


def test_internal_note_is_not_a_first_response() -> None:
    t = Ticket()
    t.create()
    effects = t(TicketReplied, 5, author="agent", public=False)
    assert named(effects, fx.FIRST_RESPONSE_SECONDS) == []
    assert named(effects, fx.RESPONSE_SECONDS) == []
    assert t.s.first_reply_at is None
    assert t.s.public_agent_replies == 0
    assert (TICKETS_AWAITING_FIRST_RESPONSE, ("email", "high", "orders")) in gauges(t.s)
    # The first public reply afterwards measures from creation, not from the note.
    later = t(TicketReplied, 30, author="agent")
    assert Observe(fx.FIRST_RESPONSE_SECONDS, ("email", "high"), 1800.0) in later


@pytest.mark.parametrize("author", ["customer", "bot"])
def test_customer_and_bot_replies_are_not_a_first_response(author: str) -> None:
    t = Ticket()
    t.create()
    effects = t(TicketReplied, 5, author=author)
    assert effects == [Count(fx.REPLIES, ("email", author, "no"))]
    assert t.s.first_reply_at is None
    assert t.s.public_agent_replies == 0


def test_customer_reply_then_agent_reply_observes_next_response() -> None:
    t = Ticket()
    t.create()
    t(TicketReplied, 10, author="agent")
    t(TicketReplied, 40, author="customer")
    assert t.s.awaiting_reply_since == T0 + timedelta(minutes=40)
    t(TicketReplied, 45, author="customer")  # the wait runs from the first unanswered one
    assert t.s.awaiting_reply_since == T0 + timedelta(minutes=40)
    effects = t(TicketReplied, 100, author="agent")
    assert Observe(fx.RESPONSE_SECONDS, ("email",), 3600.0) in effects
    assert named(effects, fx.FIRST_RESPONSE_SECONDS) == []
    assert t.s.awaiting_reply_since is None


def test_replies_use_the_current_priority_label() -> None:
    t = Ticket()
    t.create(priority="low")
    t(TicketPriorityChanged, 1, priority="urgent")
    effects = t(TicketReplied, 2, author="agent")
    assert Observe(fx.FIRST_RESPONSE_SECONDS, ("email", "urgent"), 120.0) in effects
    assert gauges(t.s) == {(TICKETS_OPEN, ("email", "urgent", "orders"))}


# --- status --------------------------------------------------------------------------------------
def test_solved_with_exactly_one_public_agent_reply_is_one_touch() -> None:
    t = Ticket()
    t.create()
    t(TicketReplied, 10, author="agent")
    t(TicketReplied, 11, author="agent", public=False)
    effects = t(TicketStatusChanged, 60, status="solved")
    assert effects == [
        Count(fx.TICKETS_SOLVED, ("email", "high")),
        Count(fx.RESOLUTIONS, ("email", "agent")),
        Count(fx.TICKETS_SOLVED_ONE_TOUCH, ("email", "high")),
        Observe(fx.RESOLUTION_SECONDS, ("email", "high"), 3600.0),
    ]
    assert t.s.solved_at == T0 + timedelta(hours=1)
    assert not t.s.is_open
    assert gauges(t.s) == set()


@pytest.mark.parametrize("public_replies", [0, 2])
def test_solved_without_exactly_one_reply_is_not_one_touch(public_replies: int) -> None:
    t = Ticket()
    t.create()
    for n in range(public_replies):
        t(TicketReplied, 10 + n, author="agent")
    effects = t(TicketStatusChanged, 60, status="solved", resolved_by="bot")
    assert named(effects, fx.TICKETS_SOLVED) == [Count(fx.TICKETS_SOLVED, ("email", "high"))]
    assert named(effects, fx.RESOLUTIONS) == [Count(fx.RESOLUTIONS, ("email", "bot"))]
    assert named(effects, fx.TICKETS_SOLVED_ONE_TOUCH) == []


@pytest.mark.parametrize("status", ["open", "pending", "on_hold", "new"])
def test_non_solving_status_changes_keep_the_ticket_open(status: str) -> None:
    t = Ticket()
    t.create()
    assert t(TicketStatusChanged, 5, status=status) == []
    assert t.s.status == status
    assert t.s.is_open
    assert (TICKETS_OPEN, ("email", "high", "orders")) in gauges(t.s)


def test_solved_then_closed_counts_solved_once_and_is_terminal() -> None:
    t = Ticket()
    t.create()
    t(TicketStatusChanged, 60, status="solved")
    assert t(TicketStatusChanged, 120, status="closed") == []
    assert t.s.is_terminal
    assert t.s.closed_at == T0 + timedelta(hours=2)
    assert t.s.solved_at == T0 + timedelta(hours=1)


def test_closing_an_open_ticket_counts_as_solved() -> None:
    t = Ticket()
    t.create()
    effects = t(TicketStatusChanged, 30, status="closed", resolved_by="self_service")
    assert Count(fx.TICKETS_SOLVED, ("email", "high")) in effects
    assert Count(fx.RESOLUTIONS, ("email", "self_service")) in effects


def test_reopen_then_solve_again_counts_solved_again() -> None:
    """What the code does: every open → solved transition counts, so a reopened ticket is
    solved (and resolution observed from creation) twice."""
    t = Ticket()
    t.create()
    t(TicketReplied, 10, author="agent")
    t(TicketStatusChanged, 60, status="solved")
    assert t(TicketStatusChanged, 90, status="open") == []
    assert t.s.is_open and t.s.solved_at is None and t.s.closed_at is None
    assert gauges(t.s) == {(TICKETS_OPEN, ("email", "high", "orders"))}
    effects = t(TicketStatusChanged, 180, status="solved")
    assert named(effects, fx.TICKETS_SOLVED) == [Count(fx.TICKETS_SOLVED, ("email", "high"))]
    assert Observe(fx.RESOLUTION_SECONDS, ("email", "high"), 3 * 3600.0) in effects
    assert Count(fx.TICKETS_SOLVED_ONE_TOUCH, ("email", "high")) in effects
    assert t.s.solved_at == T0 + timedelta(hours=3)


def test_stale_status_change_is_ignored_but_counted_late() -> None:
    t = Ticket()
    t.create()
    t(TicketStatusChanged, 60, status="solved")
    effects = t(TicketStatusChanged, 30, status="pending")
    assert effects == [LATE]
    assert (t.s.status, t.s.status_at) == ("solved", T0 + timedelta(hours=1))
    assert t.s.updated_at == T0 + timedelta(hours=1)
    assert not t.s.is_open


def test_late_events_are_still_applied_where_meaningful() -> None:
    t = Ticket()
    t.create()
    t(TicketStatusChanged, 60, status="solved")
    effects = t(TicketRated, 45, score=4)
    assert effects == [LATE, Count(fx.CSAT, ("email", "4"))]
    effects = t(TicketReplied, 50, author="agent")
    assert LATE in effects
    assert t.s.first_reply_at == T0 + timedelta(minutes=50)


def test_same_time_status_is_not_stale() -> None:
    t = Ticket()
    t.create()
    t(TicketStatusChanged, 60, status="pending")
    assert t(TicketStatusChanged, 60, status="open") == []
    assert t.s.status == "open"


# --- stubs: events before ticket.created ---------------------------------------------------------
def test_events_before_created_make_an_uncounted_stub() -> None:
    t = Ticket()
    assert metric_effects(t(TicketReplied, 10, author="agent", agent_id="A1")) == []
    assert t(TicketRated, 11, score=5) == []
    assert t(TicketEffortRated, 11, score=2) == []
    s = t.s
    assert not s.created and not s.is_open and not s.is_terminal
    assert gauges(s) == set()
    # A stub is retained from its last event, so one whose creation never comes expires.
    assert Tickets().ended_at(s) == s.updated_at == T0 + timedelta(minutes=11)
    effects = t.create(minutes=0)
    assert LATE in effects
    assert Count(fx.TICKETS_CREATED, ("email", "high")) in effects
    assert t.s.is_open
    assert Tickets().ended_at(t.s) is None  # created and open: no longer expires
    # The early reply already answered it.
    assert gauges(t.s) == {(TICKETS_OPEN, ("email", "high", "orders"))}
    assert t.s.agent_id == "A1"


def test_stub_solved_before_creation_is_counted_when_created() -> None:
    t = Ticket()
    assert t(TicketStatusChanged, 60, status="solved") == []
    assert t.s.solved_at is not None
    assert Tickets().ended_at(t.s) == t.s.updated_at  # a stub, solved or not
    effects = t.create(minutes=0)
    assert named(effects, fx.TICKETS_CREATED) == [Count(fx.TICKETS_CREATED, ("email", "high"))]
    assert named(effects, fx.TICKETS_SOLVED) == [Count(fx.TICKETS_SOLVED, ("email", "high"))]
    assert Observe(fx.RESOLUTION_SECONDS, ("email", "high"), 3600.0) in effects
    assert not t.s.is_open
    assert Tickets().ended_at(t.s) == T0 + timedelta(hours=1)


def test_stub_solved_by_bot_keeps_its_resolver() -> None:
    t = Ticket()
    t(TicketStatusChanged, 60, status="solved", resolved_by="bot")
    effects = t.create(minutes=0)
    assert named(effects, fx.RESOLUTIONS) == [Count(fx.RESOLUTIONS, ("email", "bot"))]
    assert t.s.stub_resolver is None  # stored only while a stub


def test_stub_reopened_and_solved_again_before_creation_counts_the_last_resolver() -> None:
    t = Ticket()
    t(TicketStatusChanged, 60, status="solved", resolved_by="bot")
    t(TicketStatusChanged, 61, status="open")
    t(TicketStatusChanged, 62, status="solved", resolved_by="self_service")
    effects = t.create(minutes=0)
    assert named(effects, fx.RESOLUTIONS) == [Count(fx.RESOLUTIONS, ("email", "self_service"))]


def test_stub_priority_is_overwritten_by_creation() -> None:
    t = Ticket()
    t(TicketPriorityChanged, 1, priority="urgent")
    t(TicketAssigned, 2, agent_id="A3", queue="returns")
    t.create(minutes=0, priority="low")
    assert (t.s.priority, t.s.agent_id, t.s.queue) == ("low", "A3", "orders")


# --- duplicates and other events -----------------------------------------------------------------
EVENTS: list[tuple[type[Event], dict[str, Any]]] = [
    (TicketReplied, {"author": "agent"}),
    (TicketReplied, {"author": "customer"}),
    (TicketStatusChanged, {"status": "solved"}),
    (TicketStatusChanged, {"status": "pending"}),
    (TicketAssigned, {"agent_id": "A2", "queue": "returns"}),
    (TicketPriorityChanged, {"priority": "low"}),
    (TicketRated, {"score": 2}),
    (TicketEffortRated, {"score": 5}),
]


@pytest.mark.parametrize(("cls", "fields"), EVENTS, ids=lambda v: getattr(v, "__name__", ""))
def test_duplicate_event_id_changes_nothing(cls: type[Event], fields: dict[str, Any]) -> None:
    t = Ticket()
    t.create(event_id="dup-created")
    t(cls, 10, event_id="dup-1", **fields)
    state = copy.deepcopy(t.state)
    assert t(cls, 20, event_id="dup-1", **fields) == []
    assert not t.changed
    assert t.state == state
    assert t.create(event_id="dup-created") == []
    assert not t.changed


def test_assigned_sets_agent_and_optional_queue() -> None:
    t = Ticket()
    t.create()
    assert t(TicketAssigned, 1, agent_id="A2") == []
    assert (t.s.agent_id, t.s.queue) == ("A2", "orders")
    t(TicketAssigned, 2, agent_id="A3", queue="returns")
    assert (t.s.agent_id, t.s.queue) == ("A3", "returns")


def test_ratings_count_by_channel_and_score() -> None:
    t = Ticket()
    t.create(channel="social")
    assert t(TicketRated, 1, score=5) == [Count(fx.CSAT, ("social", "5"))]
    assert t(TicketEffortRated, 2, score=1) == [Count(fx.CES, ("social", "1"))]


def test_retention_starts_when_solved_and_reopen_clears_it() -> None:
    kind = Tickets()
    t = Ticket()
    t.create()
    assert kind.ended_at(t.s) is None
    t(TicketStatusChanged, 60, status="solved")
    assert kind.ended_at(t.s) == T0 + timedelta(hours=1)
    t(TicketStatusChanged, 70, status="open")
    assert kind.ended_at(t.s) is None
    t(TicketStatusChanged, 80, status="closed")
    assert kind.ended_at(t.s) == T0 + timedelta(minutes=80)


def test_a_reopen_with_sla_rules_on_leaves_the_stored_value_untouched() -> None:
    """The helper asserts the old value is unchanged after every event (deep copy compared);
    with SLA rules on, a reopen resumes the met resolution clock of the stored track."""
    t = Ticket(rules=shipped_rules())
    t.create()
    t(TicketReplied, 5, author="agent", agent_id="A7")
    t(TicketStatusChanged, 60, status="solved")
    solved = t.s
    assert solved.sla is not None and any(c.is_met for c in solved.sla.clocks)
    kept = copy.deepcopy(solved)
    t(TicketStatusChanged, 70, status="open")
    assert solved == kept
    assert t.s.sla is not None and t.s.sla != solved.sla


def test_a_target_met_in_time_counts_as_met_and_a_late_one_only_as_breached() -> None:
    # Shipped email policy: first response within 4 business hours (Friday 10:00 Prague).
    rules = shipped_rules()
    on_time = Ticket("T1", rules=rules)
    on_time.create(priority="normal")
    effects = on_time(TicketReplied, 10, author="agent", agent_id="A7")
    assert named(effects, fx.SLA_MET) == [Count(fx.SLA_MET, ("email", "normal", "first_response"))]
    assert named(effects, fx.SLA_BREACHES) == []
    late = Ticket("T2", rules=rules)
    late.create(priority="normal")
    effects = late(TicketReplied, 300, author="agent", agent_id="A7")  # 5 h: past 14:00
    assert named(effects, fx.SLA_BREACHES) == [
        Count(fx.SLA_BREACHES, ("email", "normal", "first_response"))
    ]
    assert named(effects, fx.SLA_MET) == []
    # Each next-response cycle counts once: a customer reply restarts it, an answer meets it.
    on_time(TicketReplied, 20, author="customer")
    again = on_time(TicketReplied, 25, author="agent", agent_id="A7")
    assert named(again, fx.SLA_MET) == [Count(fx.SLA_MET, ("email", "normal", "next_response"))]
    assert named(on_time(TicketReplied, 26, author="agent", agent_id="A7"), fx.SLA_MET) == []


def test_agent_scorecard_stats() -> None:
    t = Ticket()
    t.create()
    at = T0 + timedelta(minutes=10)
    assert agent_stats(t(TicketReplied, 10, author="agent", agent_id="A7")) == [
        AgentStat("A7", "replies", 1, at),
        AgentStat("A7", "first_response", 600.0, at),
    ]
    assert agent_stats(t(TicketReplied, 20, author="agent", agent_id="A7")) == [
        AgentStat("A7", "replies", 1, T0 + timedelta(minutes=20))
    ]
    assert agent_stats(t(TicketStatusChanged, 30, status="solved")) == [
        AgentStat("A7", "solved", 1, T0 + timedelta(minutes=30))
    ]
    assert agent_stats(t(TicketRated, 40, score=2)) == [
        AgentStat("A7", "csat", 2, T0 + timedelta(minutes=40))
    ]
    # Solved by the bot: not the agent's solve.
    b = Ticket("T2")
    b.create(agent_id="A8")
    assert agent_stats(b(TicketStatusChanged, 5, status="solved", resolved_by="bot")) == []


def test_creation_tallies_the_arrival_in_the_partition_windows() -> None:
    kind = Tickets(label_of=lambda q: q if q == "orders" else "other")
    created = struct(TicketCreated, T0, "c", ticket_id="T1", channel="email", priority="high",
                     queue="vip")
    state, effects = kind.apply(None, created, T0, 1)
    assert state is not None
    assert [e for e in effects if isinstance(e, Tally)] == [
        Tally(fx.ARRIVALS_QUEUE, "other", T0),
        Tally(fx.TICKET_ARRIVALS, "other", T0),
        Tally(fx.ARRIVALS_CHANNEL, "email", T0),
    ]
    reply = struct(TicketReplied, T0, "r", ticket_id="T1", author="agent")
    _, effects = kind.apply(state, reply, T0 + timedelta(minutes=5), 2)
    assert not any(isinstance(e, Tally) for e in effects)


def test_duplicate_memory_is_a_bounded_window_of_stable_hashes() -> None:
    from stream.domain.recent import WINDOW, event_hash, remember, seen

    # crc32, not hash(): the same id must be recognised after a restart (another process).
    assert event_hash("abc") == 0x352441C2
    recent: bytes = b""
    for n in range(WINDOW + 3):
        recent = remember(recent, f"id-{n}")
    assert len(recent) == 4 * WINDOW
    assert seen(recent, f"id-{WINDOW + 2}")
    assert seen(recent, "id-3")
    assert not seen(recent, "id-2")  # fell out of the window


def test_the_window_covers_a_helpdesk_retry_after_many_later_events() -> None:
    # benchmarks/duplicate_window.py: up to 37 later events within 15 minutes on Black Friday.
    from stream.domain.recent import remember, seen

    recent = remember(b"", "webhook-1")
    for n in range(37):
        recent = remember(recent, f"later-{n}")
    assert seen(recent, "webhook-1")


def test_values_written_with_a_list_of_hashes_still_deduplicate() -> None:
    from stream.domain.recent import event_hash, remember, seen

    old = [event_hash("a"), event_hash("b")]  # the format before the window was packed
    assert seen(old, "a") and not seen(old, "c")
    packed = remember(old, "c")
    assert isinstance(packed, bytes) and all(seen(packed, i) for i in "abc")


def test_a_match_across_two_packed_hashes_is_not_a_duplicate() -> None:
    from stream.domain.recent import event_hash, seen

    hashed = event_hash("id-1").to_bytes(4, "little")
    recent = b"\x00\x00" + hashed + b"\x00\x00"  # two slots; the hash straddles them
    assert hashed in recent
    assert not seen(recent, "id-1")
    assert seen(hashed + recent, "id-1")


def test_not_a_ticket_event_raises() -> None:
    from stream.domain.events import ChatAbandoned

    with pytest.raises(TypeError):
        apply_ticket(None, ChatAbandoned(event_id="x", occurred_at="", chat_id="C"), T0, 1)


def test_a_converted_chat_ticket_is_timed_as_a_ticket_not_as_a_live_chat() -> None:
    from stream.domain.chats import apply_chat
    from stream.domain.events import ChatRequested

    rules = shipped_rules()
    created = struct(TicketCreated, T0, "e1", ticket_id="T1", channel="chat", priority="normal",
                     queue="orders")
    ticket, _ = apply_ticket(None, created, T0, 1, rules)
    assert ticket is not None and ticket.sla is not None
    assert ticket.sla.policy == "default"  # 4 business hours, not the live chat's 2 minutes
    requested = struct(ChatRequested, T0, "e2", chat_id="C1", queue="orders")
    chat, _ = apply_chat(None, requested, T0, 1, lambda q: q or "other", rules)
    assert chat is not None and chat.sla is not None
    assert chat.sla.policy == "chat"
