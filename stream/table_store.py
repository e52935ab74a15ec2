"""Local snapshots of the changelog tables: one SQLite file per table partition.

A snapshot holds the latest changelog record of every key (raw bytes, as the changelog has them),
the derived state (`Derived`: gauges, waiting chats, deadline and retention indexes) and its
*anchor*: the changelog offset it covers up to. Restoring = the snapshot, then the changelog's
records from the anchor on (the tail); no value is decoded until something reads it
(`LazyValues`). Kafka Streams keeps a RocksDB store and a checkpoint file for the same reason;
SQLite gives the same with one file, atomic transactions (a SIGKILL mid-write leaves the previous
snapshot whole) and no extra dependency.

What is never trusted (the caller then reads the whole changelog and writes a fresh snapshot):
a file SQLite cannot read or whose record count disagrees (damaged, truncated, overwritten); a
snapshot of another app id, topic, partition, partition count, value schema or derivation (SLA
policy, retention, labels); an anchor the changelog does not have (a broker that lost its
topics: the anchor is past the end, the record before it is another, or the tail is gone).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

from stream.domain.partition import Derived

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the file layout or the meaning of its rows changes


@dataclass(frozen=True)
class Identity:
    """What a snapshot must have been written for."""

    app_id: str
    topic: str
    partition: int
    partitions: int
    schema: str  # the value types' and derivation's digest (`schema_digest`)

    def encode(self) -> bytes:
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True).encode()


def schema_digest(*parts: Any) -> str:
    """A digest of what shapes the stored bytes and the derived state: value types (their
    msgspec schema) and settings that change what a value contributes."""
    text = json.dumps(
        [msgspec.json.schema(p) if isinstance(p, type) else p for p in parts],
        sort_keys=True, default=str,
    )
    return f"{zlib.crc32(text.encode()):08x}-{len(text)}"


def record_check(key: str, value: bytes | None) -> list[Any]:
    """What identifies the record before the anchor, to find it again in the changelog."""
    return [key, -1 if value is None else zlib.crc32(value)]


@dataclass
class Snapshot:
    anchor: int  # the changelog offset the tail starts at
    last: list[Any] | None  # record_check of the record at anchor − 1
    records: dict[str, bytes]
    derived: Derived


class Untrusted(Exception):
    """A snapshot that must not be used; the message says why."""


class SnapshotStore:
    """The snapshot files of one table. All SQLite work runs on one thread of its own (call
    through `run`), so writes of a partition never overlap and the event loop never blocks."""

    def __init__(self, directory: Path, table: str) -> None:
        self.directory = directory
        self.table = table
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"snapshot-{table}")
        self._open: dict[int, sqlite3.Connection] = {}
        self._derived = msgspec.msgpack.Decoder(Derived)
        self._encoder = msgspec.msgpack.Encoder()

    def path(self, partition: int) -> Path:
        return self.directory / f"{self.table}-{partition}.sqlite"

    # --- on the store's thread -----------------------------------------------------------------
    def read(self, identity: Identity) -> Snapshot | None:
        """The partition's snapshot; None if there is none; Untrusted if it must not be used."""
        path = self.path(identity.partition)
        self.close(identity.partition)
        if not path.exists():
            return None
        try:
            db = sqlite3.connect(path)
            try:
                info = dict(db.execute("SELECT name, value FROM info"))
                if info.get("identity") != identity.encode():
                    raise Untrusted(f"written for {_text(info.get('identity'))}")
                records = dict(db.execute("SELECT key, value FROM records"))
            finally:
                db.close()
            if len(records) != int(info["count"]):
                raise Untrusted(f"{len(records)} records where {int(info['count'])} were written")
            derived = self._derived.decode(info["derived"])
            return Snapshot(int(info["anchor"]), json.loads(info["last"]), records, derived)
        except (sqlite3.DatabaseError, KeyError, ValueError, msgspec.DecodeError) as error:
            raise Untrusted(f"unreadable ({type(error).__name__}: {error})") from error

    def write(
        self,
        identity: Identity,
        records: Mapping[str, bytes | None],
        derived: Derived,
        anchor: int,
        last: list[Any] | None,
        base: bool,
    ) -> None:
        """One transaction: the records (None deletes a key) and the derived state anchored at
        `anchor`. `base` replaces every record (the first snapshot after a full recovery)."""
        db = self._connection(identity.partition)
        blob = self._encoder.encode(derived)
        with db:
            if base:
                db.execute("DELETE FROM records")
            db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?)",
                ((k, v) for k, v in records.items() if v is not None),
            )
            db.executemany(
                "DELETE FROM records WHERE key = ?", ((k,) for k, v in records.items() if v is None)
            )
            (count,) = db.execute("SELECT count(*) FROM records").fetchone()
            db.executemany("INSERT OR REPLACE INTO info VALUES (?, ?)", [
                ("identity", identity.encode()), ("anchor", str(anchor)),
                ("last", json.dumps(last)), ("derived", blob), ("count", str(count)),
            ])

    def discard(self, partition: int) -> None:
        self.close(partition)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path(partition)}{suffix}").unlink(missing_ok=True)

    def close(self, partition: int) -> None:
        db = self._open.pop(partition, None)
        if db is not None:
            db.close()

    def _connection(self, partition: int) -> sqlite3.Connection:
        db = self._open.get(partition)
        if db is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path(partition), check_same_thread=False)
            # WAL + NORMAL: a killed process keeps every committed snapshot (only power loss
            # may lose the last one, which is then simply older).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS records "
                       "(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE IF NOT EXISTS info "
                       "(name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
            self._open[partition] = db
        return db


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
