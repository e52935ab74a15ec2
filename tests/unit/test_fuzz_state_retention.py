"""Bounded state (DESIGN invariant 8) in the pure partition core: closed conversations leave.

- 100k conversations (50k tickets created → solved, 50k chats requested → accepted → ended, one
  per event-time second) with a 60 s retention: the live keys stay at about 120 (what ended in
  the last retention window plus what is open), never grow with the number of conversations, and
  after the watermark moves on nothing but still-open conversations is left. Every deletion is
  drained as a tombstone.
- hypothesis: random open/close histories with random retentions; once the watermark passes the
  last end + retention, the table holds exactly the conversations that are still open.
- the in-memory SLA deadline index shrinks with the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.domain.conversations import Chats, Tickets
from stream.domain.events import (
    ChatAccepted,
    ChatEnded,
    ChatRequested,
    Decoded,
    TicketCreated,
    TicketStatusChanged,
)
from stream.domain.partition import PartitionState
from tests.unit.conftest import decoded as ev
from tests.unit.conftest import queue_label as label
from tests.unit.conftest import shipped_rules

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
RETENTION = timedelta(seconds=60)


def ticket_life(i: int, at: datetime) -> Iterator[tuple[str, Decoded]]:
    key = f"T{i}"
    yield key, ev(TicketCreated, at, f"a{i}", ticket_id=key, channel="email",
                  priority="normal", queue="orders")
    yield key, ev(TicketStatusChanged, at + timedelta(seconds=30), f"b{i}", ticket_id=key,
                  status="solved")


def chat_life(i: int, at: datetime) -> Iterator[tuple[str, Decoded]]:
    key = f"C{i}"
    yield key, ev(ChatRequested, at, f"c{i}", chat_id=key, queue="returns")
    yield key, ev(ChatAccepted, at + timedelta(seconds=5), f"d{i}", chat_id=key, agent_id="a1")
    yield key, ev(ChatEnded, at + timedelta(seconds=30), f"e{i}", chat_id=key)


def test_100k_closed_conversations_leave_the_tables() -> None:
    tickets: PartitionState[Any] = PartitionState(0, Tickets(None, label), RETENTION)
    chats: PartitionState[Any] = PartitionState(0, Chats(label), RETENTION)
    offset, peak, tombstones, samples = 0, 0, 0, {}
    conversations = 100_000
    for i in range(conversations // 2):
        at = T0 + timedelta(seconds=i)
        for part, life in ((tickets, ticket_life), (chats, chat_life)):
            for key, decoded in life(i, at):
                assert part.apply(key, offset, decoded) is not None
                offset += 1
        if i % 500 == 499:  # a flush, as the worker does per batch
            for part in (tickets, chats):
                tombstones += len(part.drain()[1])
                part.drain_windows()
        live = len(tickets.values) + len(chats.values)
        peak = max(peak, live)
        if (i + 1) % 10_000 == 0:
            samples[2 * (i + 1)] = live
    # One more event an hour later moves the watermark past every retention.
    late = T0 + timedelta(seconds=conversations // 2 + 3600)
    tickets.apply("T-last", offset, ev(TicketCreated, late, "last", ticket_id="T-last",
                                       channel="email", priority="low", queue="orders"))
    chats.apply("C-last", offset + 1, ev(ChatRequested, late, "last", chat_id="C-last",
                                         queue="orders"))
    for part in (tickets, chats):
        tombstones += len(part.drain()[1])
    windows = sum(len(p.minutes) + len(p.hours) for p in (tickets, chats))
    print(f"\n100k conversations, retention 60 s: live keys after n conversations {samples}; "
          f"peak {peak}; after the watermark moved on: {len(tickets.values)} ticket and "
          f"{len(chats.values)} chat keys (the two still open), {tombstones} tombstones; "
          f"{windows} window buckets (bounded by 120 minutes + 36 days of hours)")
    assert peak <= 2 * 100  # (30 s open + 60 s retention) per kind, plus slack
    assert max(samples.values()) - min(samples.values()) <= 10  # flat, not growing
    assert set(tickets.values) == {"T-last"} and set(chats.values) == {"C-last"}
    assert tombstones == conversations
    assert len(tickets._expiry) + len(chats._expiry) <= 2 * 100
    assert windows <= 2 * (121 + 36 * 24 + 1)


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[tuple[int, str, int, bool]]]:
    """(retention seconds, [(second, conversation kind, id, closes)])."""
    retention = draw(st.integers(1, 600))
    items = draw(st.lists(st.tuples(st.integers(0, 3600), st.sampled_from(["ticket", "chat"]),
                                    st.booleans()), min_size=1, max_size=60))
    return retention, [(t, kind, n, closes) for n, (t, kind, closes) in enumerate(items)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.integers(0, 600))
def test_after_retention_only_open_conversations_remain(
    history: tuple[int, list[tuple[int, str, int, bool]]], close_after: int
) -> None:
    retention, items = history
    parts = {"ticket": PartitionState(0, Tickets(None, label), timedelta(seconds=retention)),
             "chat": PartitionState(0, Chats(label), timedelta(seconds=retention))}
    events: list[tuple[datetime, str, str, Decoded]] = []
    for second, kind, n, closes in items:
        at = T0 + timedelta(seconds=second)
        life = ticket_life(n, at) if kind == "ticket" else chat_life(n, at)
        steps = list(life)
        if not closes:
            steps = steps[:1]
        for step, (key, decoded) in enumerate(steps):
            shifted = at + timedelta(seconds=close_after * step)
            events.append((shifted, kind, key, Decoded(decoded.event, shifted)))
    events.sort(key=lambda e: e[0])
    for offset, (_, kind, key, decoded) in enumerate(events):
        parts[kind].apply(key, offset, decoded)
    end = max(at for at, *_ in events) + timedelta(seconds=retention + 1)
    offset = len(events)
    for kind, part in parts.items():
        cls, field = (TicketCreated, "ticket_id") if kind == "ticket" else (ChatRequested,
                                                                            "chat_id")
        extra = {"channel": "email", "priority": "low"} if kind == "ticket" else {}
        part.apply("tick", offset, ev(cls, end, "tick", **{field: "tick"}, queue="orders",
                                      **extra))
        offset += 1
        still_open = {("T" if kind == "ticket" else "C") + str(n)
                      for _, k, n, closes in items if k == kind and not closes}
        assert set(part.values) == still_open | {"tick"}


def test_sla_deadline_index_shrinks_with_the_table() -> None:
    rules = shipped_rules()
    part: PartitionState[Any] = PartitionState(0, Tickets(rules, label), RETENTION)
    for i in range(10_000):
        at = T0 + timedelta(seconds=i // 3)
        for n, (key, decoded) in enumerate(ticket_life(i, at)):
            part.apply(key, 2 * i + n, decoded)
        if i % 300 == 0:
            now = part.meta.watermark
            assert now is not None
            for key in part.pop_due(now):  # the sweep, with the event clock
                part.evaluate(key, now)
    print(f"\nlive keys {len(part.values)}, deadline index {len(part._due)}")
    assert len(part._due) <= 2 * len(part.values) + 1024
