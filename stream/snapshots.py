"""When a table partition's local snapshot is taken, and what it is anchored at.

A snapshot must equal the state after some prefix of the changelog, and hold nothing the
changelog does not (another worker recovering from the changelog must find the same state). So
it is *captured* only at a point where the partition's values and derived state agree with the
records drained so far (right after a flush drained it, or between events when nothing is
undrained), and it is *anchored* at the offset the broker acknowledged for the last of those
records: the write waits for that delivery, and a failed delivery discards the file (the next
recovery reads the whole changelog and writes a new one). Writes go out in capture order on the
store's own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Generic

from stream.domain.changelog import Record
from stream.domain.partition import Derived, PartitionState, S
from stream.table_store import Identity, Snapshot, SnapshotStore, Untrusted, record_check

log = logging.getLogger(__name__)


@dataclass
class Capture:
    partition: int
    records: dict[str, bytes | None]  # the latest record of each key changed since the last one
    derived: Derived
    anchor: int  # used when no record was sent since the previous snapshot
    last: list[Any] | None
    delivery: Awaitable[Any] | None = None  # the last record's acknowledgement (RecordMetadata)
    base: bool = False


class Snapshots(Generic[S]):
    def __init__(self, store: SnapshotStore, identity: Identity) -> None:
        self.store = store
        self.identity = identity  # of partition 0; `_identity(p)` for the others
        self._pending: dict[int, dict[str, bytes | None]] = {}
        self._anchor: dict[int, tuple[int, list[Any] | None]] = {}
        self._sent: dict[int, tuple[Awaitable[Any], list[Any]]] = {}
        self._wanted: set[int] = set()
        self._queue: asyncio.Queue[Capture] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.written = 0

    def _identity(self, partition: int) -> Identity:
        i = self.identity
        return Identity(i.app_id, i.topic, partition, i.partitions, i.schema)

    # --- ownership -------------------------------------------------------------------------------
    async def load(self, partition: int) -> Snapshot | None:
        """The partition's snapshot if there is one that may be used; an untrusted file is
        logged and removed (the caller reads the whole changelog and writes a new one)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self.store.executor, self.store.read, self._identity(partition))
        except Untrusted as why:
            self.untrusted(partition, str(why))
            return None

    def untrusted(self, partition: int, why: str) -> None:
        log.warning("local snapshot of %s partition %d not used: %s; reading the whole changelog",
                    self.store.table, partition, why)
        self.store.executor.submit(self.store.discard, partition)

    def track(
        self, partition: int, anchor: int, last: list[Any] | None, state: PartitionState[S],
        base: dict[str, bytes] | None = None, tail: dict[str, bytes | None] | None = None,
    ) -> None:
        """A partition became ready at changelog offset `anchor`. After a full recovery `base`
        holds the records read, written at once as the partition's first snapshot; after a
        restore, `tail` holds the latest records read after the snapshot's anchor (they go into
        the next one)."""
        self._pending[partition] = dict(tail or {})
        self._anchor[partition] = (anchor, last)
        self._sent.pop(partition, None)
        if base is not None:
            # Keys the recovery's rebuild() expired are not in the values: left out, the base
            # agrees with the derived state (their tombstones follow in the next snapshot).
            records: dict[str, bytes | None] = {
                k: v for k, v in base.items() if k.startswith("\x00") or k in state.values
            }
            self._enqueue(Capture(partition, records, state.derived(), anchor, last, base=True))

    def drop(self, partition: int) -> None:
        self._pending.pop(partition, None)
        self._anchor.pop(partition, None)
        self._sent.pop(partition, None)
        self._wanted.discard(partition)

    # --- writing ---------------------------------------------------------------------------------
    def drained(
        self, partition: int, state: PartitionState[S], records: list[Record]
    ) -> Capture | None:
        """Called right after a flush drained `state` (before its sends): keep the records; if a
        snapshot of the partition is wanted, capture it now, while the state agrees with them."""
        pending = self._pending.get(partition)
        if pending is None:
            return None
        for key, value in records:
            pending[key] = value
        if partition not in self._wanted:
            return None
        self._wanted.discard(partition)
        return self._capture(partition, state)

    def sent(
        self, partition: int, delivery: Awaitable[Any] | None, record: Record | None,
        capture: Capture | None,
    ) -> None:
        """The flush sent its records (`delivery` acknowledges the last, `record`), if any."""
        if partition not in self._pending:
            return
        if delivery is not None and record is not None:
            self._sent[partition] = (delivery, record_check(*record))
        if capture is not None:
            if partition in self._sent:
                capture.delivery, capture.last = self._sent[partition]
            self._enqueue(capture)

    def due(self, states: Iterable[PartitionState[S]]) -> None:
        """The snapshot interval passed: capture every tracked partition now if nothing is
        undrained, else at its next flush."""
        for state in states:
            p = state.partition
            if p not in self._pending:
                continue
            if state.clean:
                self._enqueue(self._capture(p, state))
            else:
                self._wanted.add(p)

    def _capture(self, partition: int, state: PartitionState[S]) -> Capture:
        records, self._pending[partition] = self._pending[partition], {}
        anchor, last = self._anchor[partition]
        capture = Capture(partition, records, state.derived(), anchor, last)
        if partition in self._sent:
            capture.delivery, capture.last = self._sent[partition]
        return capture

    def _enqueue(self, capture: Capture) -> None:
        self._queue.put_nowait(capture)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_all())

    async def _write_all(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._queue.empty():
            capture = self._queue.get_nowait()
            p = capture.partition
            try:
                anchor = capture.anchor
                if capture.delivery is not None:
                    anchor = (await capture.delivery).offset + 1
                await loop.run_in_executor(
                    self.store.executor, self.store.write, self._identity(p), capture.records,
                    capture.derived, anchor, capture.last, capture.base,
                )
                if p in self._anchor:
                    self._anchor[p] = (anchor, capture.last)
                self.written += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                # Records of this capture are in no snapshot: the file can no longer be
                # completed. Drop it; the next recovery reads the changelog and starts anew.
                log.warning("snapshot of %s partition %d failed; discarded", self.store.table, p,
                            exc_info=True)
                self.drop(p)
                await loop.run_in_executor(self.store.executor, self.store.discard, p)
            finally:
                self._queue.task_done()

    async def settle(self) -> None:
        """Wait until every capture so far is written (a clean stop)."""
        await self._queue.join()
