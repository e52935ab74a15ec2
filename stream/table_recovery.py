"""Recovering table partitions: from a local snapshot plus the changelog's tail, or from the
whole changelog.

A snapshot (stream/table_store.py) is used only if the changelog still has the record it is
anchored after: its anchor lies within the partition's bounds and the record at anchor − 1 is
the one the snapshot was written after (same key, same value checksum). A broker that lost its
topics (an in-memory tansu restarted), a changelog deleted and re-created, or a snapshot ahead of
what the broker kept fails that check; the partition is then read from the start, as without
snapshots, and the store gets a fresh base snapshot.

Only the last record of a key counts, so only that one is decoded: a key written many times (a
customer's contacts: ≈ 10 records per key in the benchmarks; tansu does not compact) costs one
decode instead of one per record. The raw bytes of each key's last record are held until the end
of the read (after a full read they become the base snapshot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic

from stream.changelog_io import Bounds, Reader
from stream.domain.changelog import ChangelogCodec
from stream.domain.lazy_values import LazyValues
from stream.domain.partition import Kind, PartitionState, S
from stream.snapshots import Snapshots
from stream.table_store import Snapshot, record_check

log = logging.getLogger(__name__)

YIELD_EVERY = 20_000  # records decoded between two yields to the event loop (web, other agents)


@dataclass
class Recovered(Generic[S]):
    state: PartitionState[S]
    end: int  # the changelog offset the state covers up to
    last: list[Any] | None  # record_check of the record at end − 1
    records: int = 0  # changelog records read
    snapshot: bool = False  # restored from a local snapshot (then only the tail was read)
    latest: dict[str, bytes | None] = field(default_factory=dict)  # each key's last record read


async def recover(
    reader: Reader,
    codec: ChangelogCodec[S],
    kind: Kind[S],
    retention: timedelta,
    partitions: list[int],
    snapshots: Snapshots[S] | None,
) -> dict[int, Recovered[S]]:
    bounds = await reader.bounds(partitions)
    restored: dict[int, Snapshot] = {}
    if snapshots is not None:
        for p in partitions:
            snapshot = await snapshots.load(p)
            if snapshot is not None:
                why = await _untrusted(reader, p, bounds[p], snapshot)
                if why is None:
                    restored[p] = snapshot
                else:
                    snapshots.untrusted(p, why)
    out = {p: Recovered(PartitionState(p, kind, retention), bounds[p].end, None)
           for p in partitions}
    for p, snapshot in restored.items():
        out[p].last, out[p].snapshot = snapshot.last, True
    starts = {p: restored[p].anchor if p in restored else bounds[p].begin for p in partitions}
    ends = {p: bounds[p].end for p in partitions}
    async for p, _offset, key, value in reader.read(starts, ends):
        got = out[p]
        got.latest[key] = value
        got.records += 1
        got.last = record_check(key, value)
    for p, got in out.items():
        if p in restored:
            await _restore(codec, got, restored.pop(p))
        else:
            await _load(codec, got, keep=snapshots is not None)
    return out


async def _untrusted(reader: Reader, p: int, bounds: Bounds, snapshot: Snapshot) -> str | None:
    """Why the changelog does not continue this snapshot, or None if it does."""
    anchor = snapshot.anchor
    if anchor > bounds.end:
        return f"anchored at offset {anchor}, past the changelog's end {bounds.end}"
    if anchor == 0:
        return None  # a snapshot of the empty changelog: every record is tail
    if anchor - 1 < bounds.begin:
        return f"anchored at offset {anchor}, before the changelog's beginning {bounds.begin}"
    record = await reader.record_at(p, anchor - 1)
    if record is None or record_check(*record) != snapshot.last:
        return f"the record at offset {anchor - 1} is not the one it was written after"
    return None


async def _load(codec: ChangelogCodec[S], got: Recovered[S], keep: bool) -> None:
    """A whole changelog read: decode each key's last record, then derive."""
    state = got.state
    await _each_latest(got, codec.load)
    state.rebuild()
    if not keep:
        got.latest.clear()


async def _restore(codec: ChangelogCodec[S], got: Recovered[S], snapshot: Snapshot) -> None:
    """The snapshot's values (decoded when first read) and derived state, then the tail."""
    state, raw = got.state, snapshot.records
    for key in [k for k in raw if k.startswith("\x00")]:  # meta and windows: few, decoded now
        codec.load(state, key, raw.pop(key))
    state.restore(LazyValues(raw, codec.decode), snapshot.derived)
    await _each_latest(got, codec.load_tail)
    state.finish_tail()


async def _each_latest(
    got: Recovered[S], load: Callable[[PartitionState[S], str, bytes | None], None],
) -> None:
    """`load` each key's last record read into the state, yielding now and then."""
    for n, (key, value) in enumerate(got.latest.items(), 1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        load(got.state, key, value)
