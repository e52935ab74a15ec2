"""Local table snapshots on a real broker (issue 18): a worker restarted on its own data dir reads
only the changelog records after its snapshots' anchors, exactly, and its gauges equal the truth;
with snapshots off, or with damaged snapshot files, it reads the whole changelog and ends with the
same gauges."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream.changelog_io import true_end_offsets
from tests.integration.fixtures import Deployment, WorkerProcess, total, wait_until
from tests.integration.test_pipeline import expected_gauges, live_gauges
from tests.scenario import scenario, truth

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
FIXED = f"fixed:{NOW.isoformat().replace('+00:00', 'Z')}"
TABLES = ("tickets", "chats", "agents", "commerce")


def changelog_ends(deployment: Deployment) -> dict[tuple[str, int], int]:
    async def run() -> dict[tuple[str, int], int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=deployment.bootstrap, group_id=None,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(f"{deployment.app_id}-{t}-changelog", p)
                   for t in TABLES for p in range(deployment.partitions)]
            consumer.assign(tps)
            ends = await true_end_offsets(consumer, tps)
            return {(tp.topic.split("-")[-2], tp.partition): end for tp, end in ends.items()}
        finally:
            await consumer.stop()

    return asyncio.run(run())


def anchors(data: Path, deployment: Deployment) -> dict[tuple[str, int], int]:
    """The anchor of every table partition's snapshot file, read with SQLite itself."""
    found = {}
    for table in TABLES:
        for p in range(deployment.partitions):
            path = data / "snapshots" / deployment.app_id / f"{table}-{p}.sqlite"
            found[(table, p)] = -1  # not written yet
            if not path.exists():
                continue
            db = sqlite3.connect(path)
            try:
                row = db.execute("SELECT value FROM info WHERE name = 'anchor'").fetchone()
                found[(table, p)] = int(row[0]) if row else -1
            except sqlite3.OperationalError:
                pass  # the worker is creating it
            finally:
                db.close()
    return found


def read_by_recovery(worker: WorkerProcess, start: str, table: str | None = None) -> float:
    labels = {"start": start, **({"table": table} if table else {})}
    return total(worker.samples(), "support_table_recovery_records_total", **labels)


def test_a_restart_reads_only_the_tail_after_its_snapshots(
    deployment: Deployment, tmp_path: Path,
) -> None:
    events = scenario(seed=7, tickets=900, chats=900, start=START, duplicates=30)
    first, rest = events[: len(events) // 2], events[len(events) // 2 :]
    data = tmp_path / "own-data"
    # The first worker snapshots every second; later ones only at their first recovery, so the
    # records a worker writes after it are the next restart's tail, countable from the ends.
    env = {"SUPPORTPULSE_DATA_DIR": str(data), "SUPPORTPULSE_TABLE_SNAPSHOTS": "true",
           "SUPPORTPULSE_TABLE_SNAPSHOT_INTERVAL_SECONDS": "3600"}
    partitions = deployment.partitions * len(TABLES)

    def settle(worker: WorkerProcess, part: list[Any]) -> None:
        want = expected_gauges(truth(part, NOW))
        wait_until(lambda: live_gauges(worker.samples()) == want, 90,
                   lambda: f"{live_gauges(worker.samples())}\n!= {want}")

    one = deployment.worker(clock=FIXED, **{
        **env, "SUPPORTPULSE_TABLE_SNAPSHOT_INTERVAL_SECONDS": "1"}).start()
    deployment.produce(first)
    settle(one, first)
    # Every partition's snapshot catches up with the last record written (the sweep keeps
    # writing for a while after the input: wait until the anchors stop moving at the end).
    wait_until(lambda: anchors(data, deployment) == changelog_ends(deployment), 60,
               lambda: f"{anchors(data, deployment)}\n!= {changelog_ends(deployment)}")
    one.kill()
    at_stop = anchors(data, deployment)

    at_kill = changelog_ends(deployment)  # a sweep may have written after the last snapshot
    two = deployment.worker(clock=FIXED, **env).start()
    assert total(two.samples(), "support_table_recoveries_total", start="snapshot") == partitions
    assert read_by_recovery(two, "snapshot") == sum(at_kill[k] - at_stop[k] for k in at_kill)
    deployment.produce(rest)
    settle(two, events)
    two.kill()  # no snapshot since its start: everything it wrote is the next one's tail
    ends = changelog_ends(deployment)
    tail = sum(ends[k] - at_stop[k] for k in ends)
    assert tail > 1000

    three = deployment.worker(clock=FIXED, **env).start()
    assert read_by_recovery(three, "snapshot") == tail
    assert read_by_recovery(three, "beginning") == 0
    settle(three, events)
    three.stop()

    # Snapshots off: the whole changelog, the same gauges.
    off = deployment.worker(clock=FIXED, SUPPORTPULSE_TABLE_SNAPSHOTS="false").start()
    assert read_by_recovery(off, "beginning") == sum(changelog_ends(deployment).values())
    assert total(off.samples(), "support_table_recoveries_total", start="snapshot") == 0
    settle(off, events)
    off.stop()

    # Damaged files (overwritten, truncated) are not trusted: those tables read everything.
    # (The write-ahead log goes too: SQLite rebuilds the pages it holds, whatever the main file.)
    for p in range(deployment.partitions):
        tickets = data / "snapshots" / deployment.app_id / f"tickets-{p}.sqlite"
        tickets.write_bytes(b"x" * 4096)
        chats = data / "snapshots" / deployment.app_id / f"chats-{p}.sqlite"
        chats.write_bytes(chats.read_bytes()[:2048])
        for path in (tickets, chats):
            Path(f"{path}-wal").unlink(missing_ok=True)
            Path(f"{path}-shm").unlink(missing_ok=True)
    ends = changelog_ends(deployment)
    four = deployment.worker(clock=FIXED, **env).start()
    for table in ("tickets", "chats"):
        whole = sum(ends[(table, p)] for p in range(deployment.partitions))
        assert read_by_recovery(four, "beginning", table) == whole
    assert total(four.samples(), "support_table_recoveries_total", start="snapshot",
                 table="agents") == deployment.partitions
    settle(four, events)
