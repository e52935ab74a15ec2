"""Local table snapshots: a restore (snapshot + changelog tail) equals a full changelog recovery,
and a snapshot file that is damaged or written for something else is never trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.domain.changelog import ChangelogCodec
from stream.domain.lazy_values import LazyValues
from stream.domain.partition import Derived, PartitionState
from stream.domain.tickets import TicketState
from stream.table_store import Identity, SnapshotStore, Untrusted, schema_digest
from tests.unit.test_partition import (
    HYPO,
    RETENTION,
    Changelog,
    assert_same,
    kind_of,
    kinds,
    nonzero,
    run,
    sequences,
)


def restore(
    kind: Any, snapshot: dict[str, bytes | None], derived: Derived,
    tail: list[tuple[str, bytes | None]],
) -> PartitionState[Any]:
    """What the worker does with a snapshot: lazy values, derived state, then the tail."""
    codec: ChangelogCodec[Any] = ChangelogCodec(kind)
    state: PartitionState[Any] = PartitionState(3, kind, RETENTION)
    raw = {k: v for k, v in snapshot.items() if v is not None and not k.startswith("\x00")}
    for key, value in snapshot.items():
        if key.startswith("\x00"):
            codec.load(state, key, value)
    state.restore(LazyValues(raw, codec.decode), msgspec.msgpack.decode(
        msgspec.msgpack.encode(derived), type=Derived))
    latest: dict[str, bytes | None] = {}
    for key, value in tail:
        latest[key] = value
    for key, value in latest.items():
        codec.load_tail(state, key, value)
    state.finish_tail()
    return state


@HYPO
@given(data=st.data(), name=kinds())
def test_snapshot_plus_tail_equals_full_recovery(data: st.DataObject, name: str) -> None:
    messages = data.draw(sequences(name))
    split = data.draw(st.integers(0, len(messages)))
    kind = kind_of(name)
    changelog = Changelog(kind.value_type, kind)
    state: PartitionState[Any] = PartitionState(3, kind, RETENTION)
    run(state, messages[:split])
    changelog.write(changelog.pending(state))
    # The snapshot: every record so far, and the derived state at this clean point.
    snapshot, derived = dict(changelog.records), state.derived()
    run(state, messages[split:])
    tail = changelog.pending(state)  # the records written after the snapshot's anchor
    changelog.write(tail)
    restored = restore(kind, snapshot, derived, tail)
    assert_same(restored, changelog.recover(3, kind))
    assert nonzero(restored.gauges) == nonzero(state.gauges)


def test_lazy_values_decode_once_and_behave_as_a_dict() -> None:
    decoded: list[bytes] = []

    def decode(raw: bytes) -> str:
        decoded.append(raw)
        return raw.decode()

    values = LazyValues({"a": b"1", "b": b"2"}, decode)
    assert len(values) == 2 and "a" in values and "z" not in values
    assert values.get("a") == "1" and values["a"] == "1" and decoded == [b"1"]
    values["c"] = "3"
    del values["b"]
    assert sorted(values) == ["a", "c"] and values.get("b") is None and values.undecoded == 0
    with pytest.raises(KeyError):
        del values["b"]


def _identity(partition: int = 0, app_id: str = "app") -> Identity:
    return Identity(app_id, f"{app_id}-tickets-changelog", partition, 8,
                    schema_digest(TicketState, 86400.0))


def _derived() -> Derived:
    return Derived([(("g", ("x",)), 2)], [], {}, [], [])


def test_store_round_trip_and_incremental_writes(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, "tickets")
    store.write(_identity(), {"a": b"1", "b": b"2"}, _derived(), 10, ["b", 5], base=True)
    store.write(_identity(), {"a": None, "c": b"3"}, _derived(), 12, ["c", 7], base=False)
    snap = store.read(_identity())
    assert snap is not None
    assert snap.records == {"b": b"2", "c": b"3"}
    assert (snap.anchor, snap.last, snap.derived) == (12, ["c", 7], _derived())
    assert store.read(_identity(partition=1)) is None  # none written


@pytest.mark.parametrize("damage", ["other app", "truncated", "overwritten", "other schema"])
def test_damaged_or_foreign_snapshots_are_untrusted(tmp_path: Path, damage: str) -> None:
    store = SnapshotStore(tmp_path, "tickets")
    many = {f"T-{i}": bytes(200) for i in range(2000)}
    store.write(_identity(), many, _derived(), 2000, ["T-1999", 1], base=True)
    store.close(0)
    path = store.path(0)
    wanted = _identity()
    if damage == "other app":
        wanted = _identity(app_id="other")
    elif damage == "other schema":
        wanted = Identity(wanted.app_id, wanted.topic, 0, 8, schema_digest(TicketState, 60.0))
    elif damage == "truncated":
        Path(f"{path}-wal").unlink(missing_ok=True)
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    else:
        Path(f"{path}-wal").unlink(missing_ok=True)
        with open(path, "r+b") as f:
            f.seek(4096)
            f.write(b"\xff" * 8192)
    with pytest.raises(Untrusted):
        store.read(wanted)
