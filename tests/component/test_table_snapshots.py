"""Table recovery from local snapshots (stream/table_recovery.py) against a real SQLite store and
an in-memory changelog: a restart reads only the tail after the snapshot and ends with the state
a full changelog read gives; a damaged, truncated or foreign snapshot, or one the changelog no
longer continues, is not used (the whole changelog is read, with the same final tables)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stream.domain.events import TicketStatusChanged
from stream.domain.partition import PartitionState
from stream.snapshots import Snapshots
from stream.table_store import Identity, SnapshotStore
from stream.tables import ChangelogTable
from tests.component.fake_changelog import FakeChangelog
from tests.unit.conftest import BLACK_FRIDAY_MORNING as T0
from tests.unit.test_partition import RETENTION, Feed, assert_same, kind_of, nonzero, run
from tests.unit.test_snapshot_capture import open_tickets

TOPIC = "app-tickets-changelog"


class Worker:
    """One incarnation of a worker's tickets table on `data` (a restart = a new Worker)."""

    def __init__(self, changelog: FakeChangelog, data: Path | None, app_id: str = "app") -> None:
        self.changelog = changelog
        snapshots = None
        if data is not None:
            store = SnapshotStore(data, "tickets")
            snapshots = Snapshots(store, Identity(app_id, TOPIC, 0, 1, "schema"))
        self.table: ChangelogTable[Any] = ChangelogTable(
            kind_of("tickets"), TOPIC, RETENTION, {}, snapshots=snapshots,
            reader=changelog.reader,
        )
        self.recovered: list[tuple[int, bool]] = []
        self.table.on_recovered = lambda p, s, records, snap: self.recovered.append((records, snap))

    async def start(self) -> PartitionState[Any]:
        self.changelog.read_records = 0
        self.table.assign([0])
        async with asyncio.timeout(20):  # a guard: a failing recovery retries for ever
            state = await self.table.partition(0)
        assert state is not None
        return state

    async def snapshot(self) -> None:
        self.table.snapshot_due()
        await self.table.settle_snapshots()

    async def stop(self) -> None:
        store = self.table.snapshots.store if self.table.snapshots else None
        if store is not None:  # what a process exit does: the connections close
            await asyncio.get_running_loop().run_in_executor(store.executor, store.close, 0)


async def busy(
    worker: Worker, state: PartitionState[Any], first: int, n: int, hours: float = 1,
) -> None:
    """Open n tickets, solve every third `hours` after opening time, flush to the changelog.
    Solving past the retention (24 h) expires what was solved before: tombstones."""
    open_tickets(state, first, n)
    feed = Feed(state.meta.applied_offset + 1)
    at = T0 + timedelta(hours=hours)
    run(state, [feed(TicketStatusChanged, f"T{i}", at, status="solved")
                for i in range(first, first + n, 3)])
    await worker.table.flush(worker.changelog.send)


async def full_recovery(changelog: FakeChangelog) -> PartitionState[Any]:
    return await Worker(changelog, None).start()


async def test_a_restart_reads_only_the_tail_after_its_snapshot(tmp_path: Path) -> None:
    changelog = FakeChangelog()
    first = Worker(changelog, tmp_path)
    state = await first.start()
    await busy(first, state, 0, 60)
    await first.snapshot()
    at_snapshot = len(changelog.logs[0])
    await busy(first, state, 60, 30, hours=26)  # after the snapshot: the tail
    await first.stop()

    second = Worker(changelog, tmp_path)
    restored = await second.start()
    tail = len(changelog.logs[0]) - at_snapshot
    assert changelog.read_records == tail > 0  # not the whole changelog
    assert second.recovered == [(tail, True)]
    full = await full_recovery(changelog)
    assert changelog.read_records == len(changelog.logs[0])
    assert_same(restored, full)
    assert nonzero(restored.gauges) == nonzero(state.gauges)
    # The restored worker goes on writing snapshots: the next restart reads nothing at all.
    await busy(second, restored, 90, 9)
    await second.snapshot()
    await second.stop()
    third = Worker(changelog, tmp_path)
    assert_same(await third.start(), await full_recovery(changelog))
    assert third.recovered[0][1] and third.recovered[0][0] == 0


def damage(path: Path, how: str) -> None:
    if how == "overwritten":
        path.write_bytes(b"not a database at all " * 100)
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["overwritten", "truncated", "other app id", "changelog lost",
                                 "changelog behind"])
async def test_an_untrusted_snapshot_falls_back_to_the_whole_changelog(
    tmp_path: Path, how: str,
) -> None:
    changelog = FakeChangelog()
    first = Worker(changelog, tmp_path)
    state = await first.start()
    await busy(first, state, 0, 60)
    await first.snapshot()
    await busy(first, state, 60, 30, hours=26)
    await first.stop()
    path = first.table.snapshots.store.path(0)  # type: ignore[union-attr]
    app_id = "app"
    if how in ("overwritten", "truncated"):
        damage(path, how)
    elif how == "other app id":
        app_id = "another-app"
    elif how == "changelog lost":
        # The broker lost its topics (an in-memory tansu restarted) and new traffic came in.
        changelog = FakeChangelog()
        other = Worker(changelog, None)
        await busy(other, await other.start(), 500, 200)  # longer: the anchor is inside it
    else:
        # The snapshot is ahead of what the broker kept (it lost the last records).
        del changelog.logs[0][len(changelog.logs[0]) // 3:]

    second = Worker(changelog, tmp_path, app_id)
    restored = await second.start()
    assert second.recovered == [(len(changelog.logs[0]), False)]
    assert changelog.read_records == len(changelog.logs[0])
    assert_same(restored, await full_recovery(changelog))
    # The fallback wrote a fresh base snapshot: the next restart uses it.
    await second.snapshot()
    await second.stop()
    third = Worker(changelog, tmp_path, app_id)
    assert_same(await third.start(), await full_recovery(changelog))
    assert third.recovered == [(0, True)]
