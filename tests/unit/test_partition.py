"""The exactly-once core (DESIGN invariant 2, 4, 8): stream/domain/partition.py.

Every flush writes, per partition, what the shipped changelog codec (stream/domain/changelog.py,
which stream/tables.py sends) puts in order: window buckets, the changed values of `drain()`,
the meta record, then the deletions as tombstones; a crash can cut that sequence anywhere.
Recovery loads the latest record per key with the same codec and calls `rebuild()`; the source
is then re-read from the last committed offset, which is never ahead of the last complete flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.domain import effects as fx
from stream.domain.changelog import ChangelogCodec
from stream.domain.chats import ChatState
from stream.domain.conversations import (
    CHAT_QUEUE_WAITING,
    CHATS_ACTIVE,
    TICKETS_AWAITING_FIRST_RESPONSE,
    TICKETS_OPEN,
    Chats,
    Tickets,
)
from stream.domain.effects import Count, Effect, Tally
from stream.domain.events import (
    ChatAbandoned,
    ChatAccepted,
    ChatConverted,
    ChatEnded,
    ChatMessage,
    ChatRated,
    ChatRequested,
    ChatTransferred,
    Decoded,
    Event,
    TicketAssigned,
    TicketCreated,
    TicketEffortRated,
    TicketPriorityChanged,
    TicketRated,
    TicketReplied,
    TicketStatusChanged,
)
from stream.domain.partition import (
    HOUR_PREFIX,
    META_KEY,
    WINDOW_PREFIX,
    PartitionMeta,
    PartitionState,
    sum_gauges,
)
from stream.domain.tickets import TicketState
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.conftest import decoded, shipped_rules
from tests.unit.conftest import queue_label as label_of

RETENTION = timedelta(hours=24)


def kind_of(name: str) -> Any:
    return Tickets() if name == "tickets" else Chats(label_of)


@dataclass(frozen=True)
class Msg:
    offset: int
    key: str
    decoded: Decoded


class Feed:
    """Builds messages with increasing offsets."""

    def __init__(self, first_offset: int = 0) -> None:
        self.offset = first_offset
        self.messages: list[Msg] = []

    def __call__(
        self, cls: type[Event], key: str, at: datetime, event_id: str | None = None, **fields: Any
    ) -> Msg:
        id_field = "ticket_id" if cls.__name__.startswith("Ticket") else "chat_id"
        msg = Msg(
            self.offset,
            key,
            decoded(cls, at, event_id or f"e{self.offset}", **{id_field: key, **fields}),
        )
        self.offset += 1
        self.messages.append(msg)
        return msg


def nonzero(gauges: Counter[Any]) -> dict[Any, int]:
    assert all(v >= 0 for v in gauges.values()), f"negative gauge: {gauges}"
    return {k: v for k, v in gauges.items() if v}


def rebuilt(state: PartitionState[Any]) -> PartitionState[Any]:
    fresh: PartitionState[Any] = PartitionState(state.partition, state.kind, state.retention)
    for key, value in state.values.items():
        fresh.load(key, value)
    fresh.load_meta(msgspec.structs.replace(state.meta))
    fresh.rebuild()
    return fresh


def is_window(key: str) -> bool:
    return key.startswith((WINDOW_PREFIX, HOUR_PREFIX))


class Changelog:
    """A compacted changelog topic: the latest encoded record per key (None = tombstone),
    written and read with the shipped codec (stream/domain/changelog.py)."""

    def __init__(self, value_type: type[Any], kind: Any | None = None) -> None:
        self.records: dict[str, bytes | None] = {}
        self.value_type = value_type
        self.codec: ChangelogCodec[Any] = ChangelogCodec(kind or _KindOf(value_type))

    def pending(self, state: PartitionState[Any]) -> list[tuple[str, bytes | None]]:
        """What one flush sends, in order (the codec's, which tables.ChangelogTable sends)."""
        records, _ = self.codec.records(state)
        return records

    def write(self, records: Iterable[tuple[str, bytes | None]]) -> None:
        for key, value in records:
            self.records[key] = value

    def recover(
        self, partition: int, kind: Any, retention: timedelta = RETENTION
    ) -> PartitionState[Any]:
        state: PartitionState[Any] = PartitionState(partition, kind, retention)
        codec: ChangelogCodec[Any] = ChangelogCodec(kind)
        for key, value in self.records.items():
            codec.load(state, key, value)
        state.rebuild()
        return state


@dataclass(frozen=True)
class _KindOf:
    """Only what the codec reads of a kind: its stored value type."""

    value_type: type[Any]


def run(state: PartitionState[Any], messages: Iterable[Msg]) -> list[list[Effect] | None]:
    return [state.apply(m.key, m.offset, m.decoded) for m in messages]


def clean_pass(
    name: str, messages: list[Msg], retention: timedelta = RETENTION
) -> tuple[PartitionState[Any], list[Any]]:
    state: PartitionState[Any] = PartitionState(3, kind_of(name), retention)
    return state, run(state, messages)


def assert_same(a: PartitionState[Any], b: PartitionState[Any], windows: bool = True) -> None:
    assert a.values == b.values
    assert (a.meta.applied_offset, a.meta.watermark) == (b.meta.applied_offset, b.meta.watermark)
    assert nonzero(a.gauges) == nonzero(b.gauges)
    assert a.oldest_waiting() == b.oldest_waiting()
    if windows:
        assert (a.minutes, a.hours) == (b.minutes, b.hours)


# --- hypothesis: random event sequences ----------------------------------------------------------
TICKET_KEYS = ("T0", "T1", "T2")
CHAT_KEYS = ("C0", "C1", "C2")
ticket_event = st.one_of(
    st.tuples(st.just(TicketCreated), st.fixed_dictionaries({
        "channel": st.sampled_from(["email", "chat", "phone"]),
        "priority": st.sampled_from(["low", "urgent"]),
        "queue": st.sampled_from(["orders", "vip"]),
    })),
    st.tuples(st.just(TicketReplied), st.fixed_dictionaries({
        "author": st.sampled_from(["agent", "agent", "customer", "bot"]),
        "public": st.booleans(),
    })),
    st.tuples(st.just(TicketStatusChanged), st.fixed_dictionaries({
        "status": st.sampled_from(["open", "pending", "on_hold", "solved", "solved", "closed"]),
    })),
    st.tuples(st.just(TicketAssigned), st.fixed_dictionaries({"agent_id": st.just("A1")})),
    st.tuples(st.just(TicketPriorityChanged), st.fixed_dictionaries({
        "priority": st.sampled_from(["low", "high"]),
    })),
    st.tuples(st.just(TicketRated), st.fixed_dictionaries({"score": st.integers(1, 5)})),
    st.tuples(st.just(TicketEffortRated), st.fixed_dictionaries({"score": st.integers(1, 5)})),
)
chat_event = st.one_of(
    st.tuples(st.just(ChatRequested), st.fixed_dictionaries({
        "queue": st.sampled_from(["orders", "returns", "vip"]),
    })),
    st.tuples(st.just(ChatAccepted), st.fixed_dictionaries({"agent_id": st.just("A1")})),
    st.tuples(st.just(ChatMessage), st.fixed_dictionaries({
        "author": st.sampled_from(["agent", "customer"]),
    })),
    st.tuples(st.just(ChatTransferred), st.fixed_dictionaries({
        "queue": st.sampled_from(["orders", "payments", "vip"]),
    })),
    st.tuples(st.just(ChatEnded), st.fixed_dictionaries({
        "resolved_by": st.sampled_from([None, "agent", "bot"]),
    })),
    st.tuples(st.just(ChatAbandoned), st.just({})),
    st.tuples(st.just(ChatRated), st.fixed_dictionaries({"score": st.integers(1, 5)})),
    st.tuples(st.just(ChatConverted), st.fixed_dictionaries({"ticket_id": st.just("T9")})),
)


@st.composite
def sequences(draw: st.DrawFn, name: str, max_size: int = 60) -> list[Msg]:
    """Events for a few keys; time mostly moves forward, sometimes back (late events), and
    sometimes jumps by many hours (expiry); event ids repeat now and then (duplicates)."""
    keys = TICKET_KEYS if name == "tickets" else CHAT_KEYS
    events = ticket_event if name == "tickets" else chat_event
    opening = ticket_event.filter(lambda e: e[0] is TicketCreated) if name == "tickets" else (
        chat_event.filter(lambda e: e[0] is ChatRequested)
    )
    # Most keys start with their creation, as in real traffic; the rest begin as stubs.
    opened = draw(st.lists(st.tuples(st.sampled_from(keys), opening), max_size=len(keys)))
    steps = draw(st.lists(
        st.tuples(
            st.sampled_from(keys),
            events,
            st.one_of(st.integers(-90, 120), st.integers(0, 60), st.integers(600, 2000)),
            st.integers(0, 40),  # event-id serial: a small pool makes duplicates
        ),
        min_size=8,
        max_size=max_size,
    ))
    first = draw(st.integers(0, 1000))
    feed = Feed(first)
    for n, (key, (cls, fields)) in enumerate(opened):
        feed(cls, key, T0 + timedelta(minutes=n), f"{key}-open", **fields)
    minute = len(opened)
    for key, (cls, fields), step, serial in steps:
        minute = max(0, minute + step)
        feed(cls, key, T0 + timedelta(minutes=minute), f"{key}-{serial}", **fields)
    return feed.messages


def kinds() -> st.SearchStrategy[str]:
    return st.sampled_from(["tickets", "chats"])


HYPO = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(data=st.data(), name=kinds())
def test_incremental_gauges_equal_rebuild(data: st.DataObject, name: str) -> None:
    messages = data.draw(sequences(name))
    state: PartitionState[Any] = PartitionState(0, kind_of(name), RETENTION)
    for m in messages:
        state.apply(m.key, m.offset, m.decoded)
        again = rebuilt(state)
        assert nonzero(state.gauges) == nonzero(again.gauges)
        assert state.oldest_waiting() == again.oldest_waiting()
        # Nothing that is due stays stored.
        for value in state.values.values():
            ended = state.kind.ended_at(value)
            assert ended is None or ended + RETENTION > state.meta.watermark
    assert sum_gauges([state]) == state.gauges


def with_next_event(name: str, messages: list[Msg]) -> list[Msg]:
    """The messages and one more: an event on a key of its own, at the latest time so far.

    A deletion lost in a crash (it is sent after the meta record) is harmless because the key
    expires again at the partition's next event; this guarantees there is one after any crash.
    """
    cls = TicketRated if name == "tickets" else ChatRated
    latest = max(m.decoded.occurred_at for m in messages)
    feed = Feed(messages[-1].offset + 1)
    feed(cls, "NEXT", latest, "next", score=3)
    return [*messages, *feed.messages]


def crash_and_replay(
    data: st.DataObject, name: str, retention: timedelta, mid_flush: bool, windows: bool = True
) -> None:
    messages = data.draw(sequences(name))
    if mid_flush:
        messages = with_next_event(name, messages)
    n = len(messages)
    clean, clean_effects = clean_pass(name, messages, retention)

    # First run: flush after some batches, crash after message `crash` (mid-flush: before the
    # added last message, so at least one event follows the crash).
    crash = data.draw(st.integers(0, n - 1 if mid_flush else n), label="crash")
    flushes = sorted(data.draw(st.sets(st.integers(0, crash)), label="flush points"))
    log = Changelog(kind_of(name).value_type)
    first: PartitionState[Any] = PartitionState(3, kind_of(name), retention)
    flushed = 0
    for i, m in enumerate(messages[:crash]):
        if i in flushes:
            log.write(log.pending(first))
            flushed = i
        first.apply(m.key, m.offset, m.decoded)
    if crash in flushes:
        log.write(log.pending(first))
        flushed = crash
    elif mid_flush:
        # The crash hits during a flush, anywhere in values, windows, meta, deletions: values
        # written without the meta record are ahead of the recorded offset; a meta record
        # written without the deletions after it leaves keys that are due but still stored.
        # The source offsets of this batch were not committed: `flushed` stays where it was.
        records = log.pending(first)
        log.write(records[: data.draw(st.integers(0, len(records)), label="written")])

    # Restart: recover, re-read the source from a committed offset no later than the flush.
    restart = data.draw(st.integers(0, flushed), label="restart")
    second = log.recover(3, kind_of(name), retention)
    effects = run(second, messages[restart:])
    assert_same(second, clean, windows)
    # Messages already flushed are no-ops; the rest do what the clean pass did.
    assert effects[: flushed - restart] == [None] * (flushed - restart)
    if not mid_flush:
        assert effects[flushed - restart :] == clean_effects[flushed:]

    # And what the second run writes brings the changelog to the clean state.
    log.write(log.pending(second))
    assert log.recover(3, kind_of(name), retention).values == clean.values


@HYPO
@given(data=st.data(), name=kinds())
def test_crash_and_replay_equals_one_clean_pass(data: st.DataObject, name: str) -> None:
    crash_and_replay(data, name, RETENTION, mid_flush=False)


@HYPO
@given(data=st.data(), name=kinds())
def test_crash_mid_flush_equals_one_clean_pass_without_expiry(
    data: st.DataObject, name: str
) -> None:
    """Keys written ahead of the meta record are protected by their own stored offset.
    (Window buckets are left out: see test_crash_between_a_value_and_its_window_bucket.)"""
    crash_and_replay(data, name, timedelta(days=365), mid_flush=True, windows=False)


# More examples than HYPO: the interesting cases need a key that expires in the crashed batch
# (150 examples found the since-fixed counterexamples in about half the runs, 1000 in all 52
# seeds measured). Derandomized so CI runs the same 1000 cases every time.
@settings(HYPO, max_examples=1000, derandomize=True)
@given(data=st.data(), name=kinds())
def test_crash_mid_flush_equals_one_clean_pass(data: st.DataObject, name: str) -> None:
    """With expiry: tombstones follow the meta record, so none lands without the offset that
    covers the events before it; one lost in the crash is redone by the next event (the
    messages end with one more event after any crash point, see with_next_event).
    Window buckets are left out here: see test_crash_between_a_value_and_its_window_bucket."""
    crash_and_replay(data, name, RETENTION, mid_flush=True, windows=False)


@HYPO
@given(data=st.data(), name=kinds())
def test_changelog_written_every_message_equals_the_table(data: st.DataObject, name: str) -> None:
    messages = data.draw(sequences(name))
    state: PartitionState[Any] = PartitionState(0, kind_of(name), RETENTION)
    log = Changelog(kind_of(name).value_type)
    for m in messages:
        state.apply(m.key, m.offset, m.decoded)
        log.write(log.pending(state))
        assert log.pending(state) == []  # drained
    recovered = log.recover(0, kind_of(name))
    assert_same(recovered, state)
    live = {k for k, v in log.records.items() if v is not None}
    assert {k for k in live if not is_window(k)} == {*state.values, META_KEY}
    assert {k for k in live if is_window(k)} == {
        *(f"{WINDOW_PREFIX}{m}" for m in state.minutes),
        *(f"{HOUR_PREFIX}{h}" for h in state.hours),
    }


@HYPO
@given(data=st.data(), name=kinds())
def test_redelivery_at_new_offsets_is_harmless(data: st.DataObject, name: str) -> None:
    """A producer retry: the same event again at a later offset, soon after the original.
    (Retention is long here so nothing expires: see the xfail below for that case.)"""
    messages = data.draw(sequences(name))
    copies = data.draw(st.lists(st.booleans(), min_size=len(messages), max_size=len(messages)))
    long = timedelta(days=365)
    plain: PartitionState[Any] = PartitionState(0, kind_of(name), long)
    plain_effects = [e for e in run(plain, messages) if e]

    dup_state: PartitionState[Any] = PartitionState(0, kind_of(name), long)
    offset = messages[0].offset
    dup_effects: list[list[Effect]] = []
    for m, again in zip(messages, copies, strict=True):
        for _ in range(2 if again else 1):
            result = dup_state.apply(m.key, offset, m.decoded)
            offset += 1
            if result:
                dup_effects.append(result)
    assert Counter(e for es in dup_effects for e in es) == Counter(
        e for es in plain_effects for e in es
    )
    assert nonzero(dup_state.gauges) == nonzero(plain.gauges)
    assert dup_state.oldest_waiting() == plain.oldest_waiting()
    assert set(dup_state.values) == set(plain.values)
    for key, value in plain.values.items():
        other = dup_state.values[key]
        assert msgspec.structs.replace(other, offset=0) == msgspec.structs.replace(value, offset=0)


# --- offsets -------------------------------------------------------------------------------------
def test_reapplying_an_offset_at_or_below_the_applied_one_is_a_noop() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(10)
    created = feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    solved = feed(TicketStatusChanged, "T1", T0 + timedelta(hours=1), status="solved")
    assert state.apply(created.key, created.offset, created.decoded) == [
        Count(fx.TICKETS_CREATED, ("email", "low")),
        Tally(fx.ARRIVALS_QUEUE, "orders", T0),
        Tally(fx.TICKET_ARRIVALS, "orders", T0),
        Tally(fx.ARRIVALS_CHANNEL, "email", T0),
    ]
    assert state.apply(solved.key, solved.offset, solved.decoded)
    state.drain()
    state.drain_windows()
    assert state.meta_if_dirty() is not None
    before = state.values["T1"]
    for m in (created, solved):
        assert state.apply(m.key, m.offset, m.decoded) is None
    # A different event at an old offset is not applied either: offsets identify input.
    other = decoded(TicketStatusChanged, T0 + timedelta(hours=2), "x", ticket_id="T1",
                    status="open")
    assert state.apply("T1", 11, other) is None
    assert state.apply("T1", 3, other) is None
    assert state.values["T1"] is before
    assert state.drain() == ([], [])
    assert state.drain_windows() == []
    assert state.meta_if_dirty() is None
    assert state.meta.applied_offset == 11
    assert state.meta.watermark == T0 + timedelta(hours=1)


def test_key_offset_guards_values_flushed_ahead_of_the_meta_record() -> None:
    """Crash between a key's record and the meta record: the key is newer than the meta."""
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    msgs = [
        feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders"),
        feed(TicketReplied, "T1", T0 + timedelta(minutes=5), author="agent"),
    ]
    run(state, msgs)
    recovered: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    recovered.load("T1", state.values["T1"])  # meta never written: applied_offset -1
    recovered.rebuild()
    assert run(recovered, msgs) == [None, None]
    assert recovered.values["T1"] == state.values["T1"]
    assert recovered.meta.applied_offset == 1
    assert nonzero(recovered.gauges) == {(TICKETS_OPEN, ("email", "low", "orders")): 1}


def test_skip_records_rejected_offsets_once() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    assert state.skip(5) is True
    assert state.skip(5) is False
    assert state.skip(4) is False
    assert state.meta.applied_offset == 5
    assert state.meta_if_dirty() == PartitionMeta(applied_offset=5, watermark=None)
    assert state.meta_if_dirty() is None
    assert state.drain() == ([], [])


def test_drain_yields_each_changed_key_once_with_its_latest_value() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketCreated, "T2", T0, channel="phone", priority="low", queue="orders")
    feed(TicketReplied, "T1", T0 + timedelta(minutes=1), author="agent")
    run(state, feed.messages)
    puts, deletes = state.drain()
    assert [k for k, _ in puts] == ["T1", "T2"]
    assert dict(puts) == state.values
    assert deletes == []
    assert state.meta_if_dirty() == PartitionMeta(2, T0 + timedelta(minutes=1))
    assert state.drain() == ([], [])


def test_drain_separates_deletions_from_values() -> None:
    """Values and deletions come apart: the adapter writes the meta record between them."""

    def ended_chat_then_expiry(state: PartitionState[ChatState]) -> Feed:
        feed = Feed(0)
        feed(ChatRequested, "C1", T0, queue="orders")
        feed(ChatEnded, "C1", T0 + timedelta(minutes=5))
        feed(ChatRequested, "C2", T0 + timedelta(minutes=6), queue="orders")
        run(state, feed.messages)
        state.drain()
        # One event both changes C2 and, by moving the watermark, expires C1.
        m = feed(ChatAccepted, "C2", T0 + timedelta(minutes=5) + RETENTION, agent_id="A1")
        state.apply(m.key, m.offset, m.decoded)
        return feed

    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    ended_chat_then_expiry(state)
    assert state.drain() == ([("C2", state.values["C2"])], ["C1"])

    # Re-created in the same batch after its deletion (a late rating makes a stub): only the
    # latest value is written, no tombstone.
    again: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    feed = ended_chat_then_expiry(again)
    assert "C1" not in again.values
    m = feed(ChatRated, "C1", T0 + timedelta(minutes=5) + RETENTION, score=2)
    again.apply(m.key, m.offset, m.decoded)
    puts, deletes = again.drain()
    assert dict(puts) == again.values
    assert sorted(again.values) == ["C1", "C2"]
    assert deletes == []


def test_gauges_follow_transitions() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketCreated, "T2", T0, channel="email", priority="low", queue="orders")
    run(state, feed.messages[-2:])
    assert nonzero(state.gauges) == {
        (TICKETS_OPEN, ("email", "low", "orders")): 2,
        (TICKETS_AWAITING_FIRST_RESPONSE, ("email", "low", "orders")): 2,
    }
    feed(TicketReplied, "T1", T0 + timedelta(minutes=1), author="agent")
    feed(TicketPriorityChanged, "T2", T0 + timedelta(minutes=2), priority="urgent")
    feed(TicketStatusChanged, "T1", T0 + timedelta(minutes=3), status="solved")
    run(state, feed.messages[-3:])
    assert nonzero(state.gauges) == {
        (TICKETS_OPEN, ("email", "urgent", "orders")): 1,
        (TICKETS_AWAITING_FIRST_RESPONSE, ("email", "urgent", "orders")): 1,
    }


# --- retention -----------------------------------------------------------------------------------
def advance(feed: Feed, state: PartitionState[Any], at: datetime, key: str = "other") -> None:
    """Move the watermark with an event on an unrelated key."""
    cls = TicketRated if state.kind.name == "tickets" else ChatRated
    m = feed(cls, key, at, score=3)
    state.apply(m.key, m.offset, m.decoded)


def test_solved_ticket_is_deleted_once_the_watermark_passes_the_retention() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    solved_at = T0 + timedelta(hours=1)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketStatusChanged, "T1", solved_at, status="solved")
    run(state, feed.messages)
    state.drain()
    advance(feed, state, solved_at + RETENTION - timedelta(seconds=1))
    assert "T1" in state.values
    assert "T1" not in state.drain()[1]
    advance(feed, state, solved_at + RETENTION)
    assert "T1" not in state.values
    puts, deletes = state.drain()
    assert "T1" in deletes
    assert "T1" not in dict(puts)
    assert not any(k[1][:2] == ("email", "low") for k in nonzero(state.gauges))
    # The recovered partition agrees.
    assert "T1" not in rebuilt(state).values


def test_late_event_does_not_move_the_watermark_back() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketStatusChanged, "T1", T0, status="solved")
    run(state, feed.messages)
    advance(feed, state, T0 + RETENTION - timedelta(minutes=1))
    advance(feed, state, T0)  # late
    assert state.meta.watermark == T0 + RETENTION - timedelta(minutes=1)
    advance(feed, state, T0 + RETENTION)
    assert "T1" not in state.values


def test_reopen_within_retention_keeps_the_ticket() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketStatusChanged, "T1", T0 + timedelta(hours=1), status="solved")
    feed(TicketStatusChanged, "T1", T0 + timedelta(hours=5), status="open")
    run(state, feed.messages)
    advance(feed, state, T0 + RETENTION + timedelta(hours=10))
    assert state.values["T1"].is_open
    assert nonzero(state.gauges)[(TICKETS_OPEN, ("email", "low", "orders"))] == 1
    # Solved again: the retention restarts from the second solve.
    resolved = T0 + RETENTION + timedelta(hours=11)
    m = feed(TicketStatusChanged, "T1", resolved, status="solved")
    state.apply(m.key, m.offset, m.decoded)
    advance(feed, state, resolved + RETENTION - timedelta(seconds=1))
    assert "T1" in state.values
    advance(feed, state, resolved + RETENTION)
    assert "T1" not in state.values


def test_closing_a_solved_ticket_restarts_the_retention() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketStatusChanged, "T1", T0 + timedelta(hours=1), status="solved")
    feed(TicketStatusChanged, "T1", T0 + timedelta(hours=3), status="closed")
    run(state, feed.messages)
    advance(feed, state, T0 + timedelta(hours=1) + RETENTION)
    assert "T1" in state.values
    advance(feed, state, T0 + timedelta(hours=3) + RETENTION)
    assert "T1" not in state.values


def test_open_tickets_stay_and_stubs_expire_a_retention_after_their_last_event() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketReplied, "T2", T0, author="agent")  # a stub: its ticket.created never came
    feed(TicketRated, "T2", T0 + timedelta(hours=2), score=4)
    feed(TicketEffortRated, "T2", T0 + timedelta(hours=1), score=2)  # late: not the last one
    run(state, feed.messages)
    last = T0 + timedelta(hours=2)
    advance(feed, state, last + RETENTION - timedelta(seconds=1))
    assert {"T1", "T2"} <= set(state.values)
    advance(feed, state, last + RETENTION)
    assert "T1" in state.values
    assert "T2" not in state.values
    assert "T2" in state.drain()[1]
    advance(feed, state, T0 + 10 * RETENTION)
    assert "T1" in state.values  # open: kept however long it stays open
    assert nonzero(state.gauges) == {
        (TICKETS_OPEN, ("email", "low", "orders")): 1,
        (TICKETS_AWAITING_FIRST_RESPONSE, ("email", "low", "orders")): 1,
    }


def test_chat_stub_expires_a_retention_after_its_last_event() -> None:
    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    feed = Feed(0)
    feed(ChatMessage, "C1", T0, author="customer")  # a stub: chat.requested never came
    feed(ChatRequested, "C2", T0, queue="orders")
    run(state, feed.messages)
    advance(feed, state, T0 + RETENTION - timedelta(seconds=1))
    assert {"C1", "C2"} <= set(state.values)
    advance(feed, state, T0 + RETENTION)
    assert "C1" not in state.values
    assert "C2" in state.values  # waiting: not ended, not expired
    assert state.oldest_waiting() == {"orders": T0}


def test_stub_that_is_created_later_follows_the_normal_rules() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketReplied, "T1", T0, author="agent")
    run(state, feed.messages)
    created = feed(TicketCreated, "T1", T0 + RETENTION - timedelta(minutes=1), channel="email",
                   priority="low", queue="orders")
    state.apply(created.key, created.offset, created.decoded)
    advance(feed, state, T0 + 3 * RETENTION)
    assert state.values["T1"].is_open


@pytest.mark.parametrize("end", [ChatEnded, ChatAbandoned])
def test_terminal_chat_is_deleted_after_retention(end: type[Event]) -> None:
    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    feed = Feed(0)
    feed(ChatRequested, "C1", T0, queue="orders")
    feed(end, "C1", T0 + timedelta(minutes=5))
    run(state, feed.messages)
    assert nonzero(state.gauges) == {}
    advance(feed, state, T0 + timedelta(minutes=5) + RETENTION - timedelta(seconds=1))
    assert "C1" in state.values
    advance(feed, state, T0 + timedelta(minutes=5) + RETENTION)
    assert "C1" not in state.values
    puts, deletes = state.drain()
    assert "C1" in deletes
    # Changed and expired in one batch: its ended value goes out before the meta record.
    assert "C1" not in dict(puts) or dict(puts)["C1"].status in ("ended", "abandoned")


def test_deletion_survives_recovery_from_the_changelog() -> None:
    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    log = Changelog(ChatState)
    feed = Feed(0)
    feed(ChatRequested, "C1", T0, queue="orders")
    feed(ChatEnded, "C1", T0 + timedelta(minutes=5))
    run(state, feed.messages)
    log.write(log.pending(state))
    advance(feed, state, T0 + 2 * RETENTION)
    log.write(log.pending(state))
    assert log.records["C1"] is None
    recovered = log.recover(0, Chats(label_of))
    assert "C1" not in recovered.values
    assert recovered.meta.watermark == T0 + 2 * RETENTION


def test_event_after_deletion_does_not_leave_permanent_state() -> None:
    state: PartitionState[TicketState] = PartitionState(0, Tickets(), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    feed(TicketStatusChanged, "T1", T0 + timedelta(hours=1), status="solved")
    run(state, feed.messages)
    advance(feed, state, T0 + timedelta(hours=1) + RETENTION)
    assert "T1" not in state.values
    m = feed(TicketRated, "T1", T0 + timedelta(hours=2), score=1)  # late CSAT answer
    state.apply(m.key, m.offset, m.decoded)
    advance(feed, state, T0 + 30 * RETENTION)
    assert "T1" not in state.values


@pytest.mark.xfail(strict=True, reason="BUG (minor since stubs expire): a duplicate of the event "
                   "that triggered a conversation's deletion re-creates it as a stub, kept for a "
                   "retention")
def test_redelivery_after_deletion_does_not_recreate_the_conversation() -> None:
    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    feed = Feed(0)
    feed(ChatRequested, "C1", T0, queue="orders")
    feed(ChatEnded, "C1", T0 + timedelta(minutes=5))
    # A quiet partition: the next event is a late rating, after the retention has passed.
    rating = feed(ChatRated, "C1", T0 + timedelta(minutes=5) + RETENTION, event_id="r1", score=5)
    run(state, feed.messages)
    assert "C1" not in state.values
    state.apply(rating.key, rating.offset + 1, rating.decoded)  # producer retry
    assert "C1" not in state.values


def crash_in_the_flush_of(
    name: str, committed: list[Msg], batch: list[Msg], later: list[Msg]
) -> list[tuple[list[str], PartitionState[Any], list[Any]]]:
    """For every point a crash can cut the flush of `batch` (the messages before it flushed and
    committed): the records written, and the partition after recovery and the replay of
    `batch + later`, with the effects of `later`."""
    out = []
    cut, size = 0, 0
    while cut <= size:
        log = Changelog(kind_of(name).value_type)
        first: PartitionState[Any] = PartitionState(3, kind_of(name), RETENTION)
        run(first, committed)
        log.write(log.pending(first))
        run(first, batch)
        pending = log.pending(first)
        size = len(pending)
        log.write(pending[:cut])
        second = log.recover(3, kind_of(name))
        effects = run(second, [*batch, *later])
        out.append(([k for k, _ in pending[:cut]], second, effects[len(batch):]))
        cut += 1
    return out


def test_a_tombstone_follows_the_meta_record() -> None:
    state: PartitionState[ChatState] = PartitionState(3, Chats(label_of), RETENTION)
    feed = Feed(0)
    feed(ChatRequested, "C1", T0, queue="orders")
    feed(ChatEnded, "C1", T0 + timedelta(minutes=5))
    run(state, feed.messages)
    log = Changelog(ChatState)
    log.write(log.pending(state))
    advance(feed, state, T0 + timedelta(minutes=5) + RETENTION)
    keys = [k for k, _ in log.pending(state)]
    assert keys.index("other") < keys.index(META_KEY) < keys.index("C1")
    assert keys[-1] == "C1"


def test_crash_anywhere_in_a_flush_with_a_deletion() -> None:
    """Formerly: a crash between a tombstone and the meta record resurrected the key (the
    replay re-applied the rating onto the missing key). Now the tombstone comes after the meta
    record; if the crash loses it, the key is due and goes at the partition's next event."""
    messages = Feed(0)
    messages(ChatRequested, "C1", T0, queue="orders")
    messages(ChatEnded, "C1", T0 + timedelta(minutes=5))
    # A quiet partition: a late rating arrives after the retention; it expires C1 at once.
    messages(ChatRated, "C1", T0 + timedelta(minutes=5) + RETENTION, score=5)
    messages(ChatRequested, "C2", T0 + timedelta(minutes=6) + RETENTION, queue="orders")
    clean, clean_effects = clean_pass("chats", messages.messages)
    assert set(clean.values) == {"C2"}

    outcomes = crash_in_the_flush_of(
        "chats", messages.messages[:2], messages.messages[2:3], messages.messages[3:]
    )
    # The rated-then-expired C1 is written (ended) before the meta record, deleted after it.
    assert [written for written, _, _ in outcomes][-2:] == [
        ["\x00w:29929500", "C1", META_KEY], ["\x00w:29929500", "C1", META_KEY, "C1"]
    ]
    for written, second, effects in outcomes:
        assert_same(second, clean)
        assert effects == clean_effects[3:], written


def test_crash_loses_the_deletion_of_a_key_that_ended_in_the_same_batch() -> None:
    messages = Feed(0)
    messages(TicketCreated, "T1", T0, channel="email", priority="low", queue="orders")
    messages(TicketStatusChanged, "T1", T0, status="solved")
    messages(TicketRated, "X", T0 + RETENTION, score=3)  # expires T1 in the same batch
    messages(TicketRated, "Y", T0 + RETENTION, score=3)  # the partition's next event
    clean, _ = clean_pass("tickets", messages.messages)
    assert "T1" not in clean.values

    outcomes = crash_in_the_flush_of(
        "tickets", messages.messages[:1], messages.messages[1:3], messages.messages[3:]
    )
    written, second, _ = outcomes[-2]
    assert written[-1] == META_KEY  # the tombstone of T1 is lost
    assert second.values.keys() == clean.values.keys()  # fails: T1 is back, open
    assert nonzero(second.gauges) == nonzero(clean.gauges)


def test_crash_loses_a_deletion_and_the_next_event_is_for_that_key() -> None:
    messages = Feed(0)
    messages(ChatRequested, "C1", T0, queue="orders")
    messages(ChatEnded, "C1", T0 + timedelta(minutes=5))
    messages(ChatRated, "C1", T0 + timedelta(minutes=5) + RETENTION, score=5)  # expires C1
    messages(ChatRated, "C1", T0 + timedelta(minutes=5) + RETENTION, score=4)  # next event
    clean, clean_effects = clean_pass("chats", messages.messages)
    assert set(clean.values) == {"C1"}  # a new stub, no CSAT counted: C1 was gone

    outcomes = crash_in_the_flush_of(
        "chats", messages.messages[:2], messages.messages[2:3], messages.messages[3:]
    )
    written, second, effects = outcomes[-2]
    assert written[-1] == META_KEY  # the tombstone of C1 is lost
    assert effects == clean_effects[3:]  # fails: the rating is counted in CSAT
    assert second.values == clean.values  # and C1 is deleted instead of a new stub


def test_replay_skipped_by_the_key_offset_guard_still_expires() -> None:
    messages = Feed(0)
    messages(TicketReplied, "T2", T0, author="agent")  # a stub, due at T0 + RETENTION
    messages(TicketCreated, "T1", T0 + RETENTION, channel="email", priority="low",
             queue="orders")  # expires T2
    messages(TicketCreated, "T2", T0 + RETENTION, channel="email", priority="low",
             queue="orders")  # a new ticket: nobody has answered it
    clean, _ = clean_pass("tickets", messages.messages)
    assert clean.values["T2"].first_reply_at is None

    outcomes = crash_in_the_flush_of(
        "tickets", [], messages.messages[:2], messages.messages[2:]
    )
    # The cut right after T1's record: ahead of the meta record, before T2's tombstone.
    written, second, _ = next(o for o in outcomes if o[0] and o[0][-1] == "T1")
    assert META_KEY not in written
    # Fails: the replay re-creates the stub at offset 0, skips offset 1 (T1 is stored at 1)
    # without expiring it, and creates T2 on top of the stub's old agent reply.
    assert second.values == clean.values
    assert nonzero(second.gauges) == nonzero(clean.gauges)


def test_crash_between_a_value_and_its_window_bucket() -> None:
    messages = Feed(0)
    messages(ChatRequested, "C1", T0, queue="orders")
    clean, _ = clean_pass("chats", messages.messages)
    assert clean.window_sum("chat_arrivals|orders", 0, 2**40) == 1

    # Every cut point, in particular right after C1's value (buckets are written before it).
    for written, second, _ in crash_in_the_flush_of("chats", [], messages.messages, []):
        assert second.values == clean.values, written
        assert second.window_sum("chat_arrivals|orders", 0, 2**40) == 1, written


# --- waiting -------------------------------------------------------------------------------------
def test_oldest_waiting_is_the_min_requested_at_per_queue() -> None:
    state: PartitionState[ChatState] = PartitionState(0, Chats(label_of), RETENTION)
    feed = Feed(0)
    feed(ChatRequested, "C1", T0 + timedelta(minutes=2), queue="orders")
    feed(ChatRequested, "C2", T0, queue="orders")
    feed(ChatRequested, "C3", T0 + timedelta(minutes=1), queue="returns")
    feed(ChatRequested, "C4", T0 + timedelta(minutes=3), queue="vip")
    feed(ChatRequested, "C5", T0 + timedelta(minutes=4), queue="mystery")
    run(state, feed.messages)
    assert state.oldest_waiting() == {
        "orders": T0,
        "returns": T0 + timedelta(minutes=1),
        "other": T0 + timedelta(minutes=3),
    }
    assert nonzero(state.gauges) == {
        (CHAT_QUEUE_WAITING, ("orders",)): 2,
        (CHAT_QUEUE_WAITING, ("returns",)): 1,
        (CHAT_QUEUE_WAITING, ("other",)): 2,
    }
    feed(ChatAccepted, "C2", T0 + timedelta(minutes=5), agent_id="A1")
    feed(ChatAbandoned, "C3", T0 + timedelta(minutes=5))
    feed(ChatTransferred, "C4", T0 + timedelta(minutes=5), queue="orders")
    run(state, feed.messages[-3:])
    assert state.oldest_waiting() == {
        "orders": T0 + timedelta(minutes=2),
        "other": T0 + timedelta(minutes=4),
    }
    assert nonzero(state.gauges) == {
        (CHAT_QUEUE_WAITING, ("orders",)): 2,
        (CHAT_QUEUE_WAITING, ("other",)): 1,
        (CHATS_ACTIVE, ("orders",)): 1,
    }
    assert rebuilt(state).oldest_waiting() == state.oldest_waiting()


def test_sum_gauges_adds_partitions() -> None:
    parts = []
    for p in range(2):
        state: PartitionState[ChatState] = PartitionState(p, Chats(label_of), RETENTION)
        feed = Feed(0)
        feed(ChatRequested, f"C{p}", T0, queue="orders")
        run(state, feed.messages)
        parts.append(state)
    assert nonzero(sum_gauges(parts)) == {(CHAT_QUEUE_WAITING, ("orders",)): 2}


def test_deadline_counts_are_kept_apart_from_the_gauges() -> None:
    from stream.domain.conversations import SLA_DUE
    from stream.rollups import build_partials

    rules = shipped_rules()
    state: PartitionState[TicketState] = PartitionState(0, Tickets(rules, label_of), RETENTION)
    feed = Feed(0)
    feed(TicketCreated, "T1", T0, channel="email", priority="urgent", queue="orders",
         request_type="order_status")
    run(state, feed.messages)
    # /metrics merges `gauges` on every scrape; the per-minute deadline counts stay out of it.
    assert state.rollup_counts and {name for name, _ in state.rollup_counts} == {SLA_DUE}
    assert nonzero(state.gauges) == {
        (TICKETS_OPEN, ("email", "urgent", "orders")): 1,
        (TICKETS_AWAITING_FIRST_RESPONSE, ("email", "urgent", "orders")): 1,
    }
    assert dict(rebuilt(state).rollup_counts) == dict(state.rollup_counts)
    # The stage-two rollups still see them: the 15-minute urgent first response is due this
    # hour (the 4-hour resolution is not).
    partials = dict(build_partials({0: [state]}, ["orders"], T0))
    assert sum(partials["queue:orders"].due.values()) == 1
    # Solved: nothing left, not even zero entries (deadline minutes are not a bounded set).
    feed(TicketStatusChanged, "T1", T0 + timedelta(minutes=1), status="solved")
    run(state, feed.messages[-1:])
    assert state.rollup_counts == Counter()


def test_the_shipped_order_is_what_makes_a_crash_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash-window tests drive the shipped codec: with its records reordered (the meta
    record before the values) a crash between them loses an event, which the same check sees."""
    messages = Feed(0)
    messages(ChatRequested, "C1", T0, queue="orders")
    messages(ChatAccepted, "C1", T0 + timedelta(minutes=1), agent_id="A1")
    messages(ChatEnded, "C1", T0 + timedelta(minutes=5))
    clean, _ = clean_pass("chats", messages.messages)

    def outcomes() -> list[bool]:
        return [second.values == clean.values for _, second, _ in crash_in_the_flush_of(
            "chats", messages.messages[:1], messages.messages[1:], [])]

    assert all(outcomes())  # the shipped order: every crash point recovers exactly
    shipped = ChangelogCodec.records

    def meta_first(self: Any, state: Any) -> Any:
        records, changed = shipped(self, state)
        meta = [r for r in records if r[0] == META_KEY]
        return meta + [r for r in records if r[0] != META_KEY], changed

    monkeypatch.setattr(ChangelogCodec, "records", meta_first)
    assert not all(outcomes())  # meta before the values: a crash between them loses events
