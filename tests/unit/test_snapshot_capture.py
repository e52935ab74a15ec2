"""When snapshots are captured and what they are anchored at (stream/snapshots.py), against a real
SQLite store: the anchor is the acknowledged offset of the last record sent, a partition with
undrained changes waits for its next flush, and a failed delivery discards the file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, NamedTuple

from stream.domain.changelog import ChangelogCodec
from stream.domain.events import TicketCreated
from stream.domain.partition import PartitionState
from stream.snapshots import Snapshots
from stream.table_store import Identity, SnapshotStore
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.test_partition import RETENTION, Feed, kind_of, run


class Metadata(NamedTuple):
    offset: int


def delivered(offset: int) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(Metadata(offset))
    return future


def setup(tmp_path: Path) -> tuple[Snapshots[Any], SnapshotStore, PartitionState[Any],
                                   ChangelogCodec[Any], Identity]:
    identity = Identity("app", "app-tickets-changelog", 0, 8, "s")
    store = SnapshotStore(tmp_path, "tickets")
    kind = kind_of("tickets")
    state: PartitionState[Any] = PartitionState(0, kind, RETENTION)
    return Snapshots(store, identity), store, state, ChangelogCodec(kind), identity


def open_tickets(state: PartitionState[Any], first: int, n: int) -> None:
    feed = Feed(first)
    run(state, [feed(TicketCreated, f"T{first + i}", T0, channel="email", priority="low",
                     queue="orders") for i in range(n)])


async def test_anchor_is_the_acknowledged_offset_after_the_last_record(tmp_path: Path) -> None:
    snaps, store, state, codec, identity = setup(tmp_path)
    snaps.track(0, 0, None, state, base={})
    open_tickets(state, 0, 3)
    snaps.due([state])  # undrained changes: wait for the flush
    await snaps.settle()
    records, _ = codec.records(state)
    capture = snaps.drained(0, state, records)
    assert capture is not None
    snaps.sent(0, delivered(41), records[-1], capture)
    await snaps.settle()
    snapshot = store.read(identity)
    assert snapshot is not None and snapshot.anchor == 42
    assert snapshot.last is not None and snapshot.last[0] == records[-1][0]
    assert sorted(k for k in snapshot.records if not k.startswith("\x00")) == ["T0", "T1", "T2"]
    # Clean now: the next interval writes at once, anchored at the same acknowledged record.
    snaps.due([state])
    await snaps.settle()
    assert snaps.written == 3 and store.read(identity).anchor == 42  # type: ignore[union-attr]


async def test_failed_delivery_discards_the_snapshot(tmp_path: Path) -> None:
    snaps, store, state, codec, identity = setup(tmp_path)
    snaps.track(0, 0, None, state, base={})
    await snaps.settle()
    assert store.read(identity) is not None
    open_tickets(state, 0, 2)
    snaps.due([state])
    records, _ = codec.records(state)
    capture = snaps.drained(0, state, records)
    failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    failed.set_exception(RuntimeError("not delivered"))
    snaps.sent(0, failed, records[-1], capture)
    await snaps.settle()
    assert store.read(identity) is None  # the next recovery reads the whole changelog
    snaps.due([state])  # no longer tracked: nothing more is written for it
    await snaps.settle()
    assert not store.path(0).exists()


async def test_base_leaves_out_keys_the_recovery_expired(tmp_path: Path) -> None:
    snaps, store, state, _codec, identity = setup(tmp_path)
    open_tickets(state, 0, 1)  # T0 is in the values; T-gone was read but expired by rebuild()
    base = {"T0": b"t0", "T-gone": b"x", "\x00meta": b"m"}
    snaps.track(0, 7, ["T0", 1], state, base=base)
    await snaps.settle()
    snapshot = store.read(identity)
    assert snapshot is not None and (snapshot.anchor, snapshot.last) == (7, ["T0", 1])
    assert snapshot.records == {"T0": b"t0", "\x00meta": b"m"}
