"""The Redis read model (invariant 7): at-risk and breached conversations sorted by deadline,
and dedupe markers for outgoing SLA events.

Everything here can be rebuilt from the tables: each partition's list is replaced wholesale when
the partition is recovered, and updated per batch from the keys the batch changed. Redis being
down only degrades these extras (`support_redis_up 0`) and marks the partitions for a rebuild.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis.asyncio

from stream.domain.gauges import SLA_BREACHED_OPEN
from stream.domain.partition import PartitionState
from stream.domain.sla import SlaRules

log = logging.getLogger(__name__)

ENTRY_TTL_SECONDS = 30 * 86400
# Dedupe markers only have to outlive a crash-and-replay window (minutes); a day keeps Redis
# bounded by one day's SLA events.
SENT_MARKER_TTL_SECONDS = 86400
MARK_TIMEOUT_SECONDS = 1.0


class BackgroundWriter:
    """Runs read-model writes in order, off the processing path (invariant 7: Redis must never
    slow the pipeline down). Bounded: when Redis falls behind, jobs are dropped and `on_drop`
    lets the caller schedule a rebuild."""

    def __init__(self, limit: int = 10000) -> None:
        self.limit = limit
        self.dropped = 0
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(
        self, job: Callable[[], Awaitable[None]], on_drop: Callable[[], None] | None = None
    ) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(self.limit)
            self._task = asyncio.ensure_future(self._run())
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1
            if on_drop is not None:
                on_drop()

    async def drain(self) -> None:
        """Wait until everything submitted so far is written (tests, shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:  # a read-model write must never end the writer
                log.warning("read model write failed", exc_info=True)
            finally:
                self._queue.task_done()


class AtRiskEntry(msgspec.Struct):
    conversation_id: str
    stream: str
    target: str
    status: str  # at_risk | breached
    deadline: str  # RFC 3339, UTC
    policy: str
    queue: str
    channel: str
    priority: str


def entries_for(key: str, state: Any, stream: str, rules: SlaRules) -> list[AtRiskEntry]:
    track = getattr(state, "sla", None)
    if track is None:
        return []
    open_ = state.is_open if stream == "tickets" else (state.is_waiting or state.is_active)
    if not open_:
        return []
    calendar = rules.calendar(track)
    if calendar is None:
        return []
    channel = state.channel if stream == "tickets" else "chat"
    result = []
    for gauge, target in rules.gauge_marks(track):
        clock = track.clock(target)
        deadline = rules.deadline(clock, calendar) if clock else None
        if deadline is None:
            continue
        result.append(
            AtRiskEntry(
                conversation_id=key, stream=stream, target=target,
                status="breached" if gauge == SLA_BREACHED_OPEN.key else "at_risk",
                deadline=deadline.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                policy=track.policy, queue=state.queue or "", channel=channel,
                priority=state.priority,
            )
        )
    return result


class ReadModel:
    def __init__(self, client: redis.asyncio.Redis, app_id: str, rules: SlaRules | None) -> None:
        self.client = client
        self.app_id = app_id
        self.rules = rules
        self.needs_rebuild: set[tuple[str, int]] = set()
        self._encoder = msgspec.json.Encoder()
        # What this process last wrote per (stream, partition): key → {member: entry}, only for
        # keys with entries (at risk or breached), so bounded by those. Updates send only the
        # difference; most changed keys have no entry before or after and cost no command. Set
        # by `rebuild` (which every assignment and every failure leads to), kept by `update`.
        self._written: dict[tuple[str, int], dict[str, dict[str, AtRiskEntry]]] = {}
        # Updates run in the background writer, rebuilds from recovery and the health check:
        # one at a time, so a rebuild's snapshot and `_written` never cross an update in flight.
        self._lock = asyncio.Lock()

    def _zset(self, stream: str, partition: int) -> str:
        return f"{self.app_id}:atrisk:{stream}:{partition}"

    def _details(self, stream: str, partition: int) -> str:
        return f"{self.app_id}:atrisk-detail:{stream}:{partition}"

    async def update(
        self, stream: str, partition: int, changes: Sequence[tuple[str, Any]]
    ) -> bool:
        """Replace the entries of the changed keys; False (and a rebuild later) on failure."""
        if self.rules is None or not changes:
            return True
        async with self._lock:
            return await self._update(stream, partition, changes)

    async def _update(
        self, stream: str, partition: int, changes: Sequence[tuple[str, Any]]
    ) -> bool:
        if (stream, partition) in self.needs_rebuild:
            return False
        written = self._written.get((stream, partition))
        if written is None:
            # Not rebuilt by this process (every assignment rebuilds first, so this should not
            # happen): what Redis holds is unknown, the health check rebuilds it.
            self.needs_rebuild.add((stream, partition))
            return True
        zset, details = self._zset(stream, partition), self._details(stream, partition)
        pipe = self.client.pipeline(transaction=False)
        after: dict[str, dict[str, AtRiskEntry]] = {}
        for key, state in changes:
            new = {} if state is None else self._entries(key, state, stream)
            old = written.get(key, {})
            if new == old:
                continue
            gone = [member for member in old if member not in new]
            if gone:
                pipe.zrem(zset, *gone)
                pipe.hdel(details, *gone)
            for member, entry in new.items():
                if old.get(member) != entry:
                    self._add(pipe, zset, details, member, entry)
            after[key] = new
        if not after:
            return True
        if not await self._execute(pipe, stream, partition):
            self._written.pop((stream, partition), None)
            return False
        for key, new in after.items():
            if new:
                written[key] = new
            else:
                written.pop(key, None)
        return True

    def _entries(self, key: str, state: Any, stream: str) -> dict[str, AtRiskEntry]:
        assert self.rules is not None
        return {f"{key}|{e.target}": e for e in entries_for(key, state, stream, self.rules)}

    def _add(self, pipe: Any, zset: str, details: str, member: str, entry: AtRiskEntry) -> None:
        pipe.zadd(zset, {member: _epoch(entry.deadline)})
        pipe.hset(details, member, self._encoder.encode(entry))

    async def _execute(self, pipe: Any, stream: str, partition: int) -> bool:
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            self.needs_rebuild.add((stream, partition))
            return False
        return True

    async def rebuild(self, stream: str, partition: int, state: PartitionState[Any]) -> bool:
        """Replace the partition's list with what `state` holds now (taken under the lock)."""
        if self.rules is None:
            return True
        async with self._lock:
            return await self._rebuild(stream, partition, state)

    async def _rebuild(self, stream: str, partition: int, state: PartitionState[Any]) -> bool:
        zset, details = self._zset(stream, partition), self._details(stream, partition)
        self._written.pop((stream, partition), None)  # unknown until this succeeds
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(zset, details)
        written: dict[str, dict[str, AtRiskEntry]] = {}
        for n, key in enumerate(list(state.values), 1):
            if n % 5000 == 0:
                # After a restore from a local snapshot, values are decoded here on first read
                # (≈ 20 µs each): yield so events, scrapes and /readyz are served meanwhile.
                # What changes meanwhile is queued behind this lock as an update.
                await asyncio.sleep(0)
            value = state.values.get(key)
            if value is None:
                continue  # deleted meanwhile
            entries = self._entries(key, value, stream)
            for member, entry in entries.items():
                self._add(pipe, zset, details, member, entry)
            if entries:
                written[key] = entries
        if not await self._execute(pipe, stream, partition):
            return False
        self._written[(stream, partition)] = written
        self.needs_rebuild.discard((stream, partition))
        return True

    async def at_risk(
        self, streams: Iterable[str], partitions: int, limit: int
    ) -> list[dict[str, Any]]:
        """The soonest deadlines across every partition (all workers share the Redis)."""
        pipe = self.client.pipeline(transaction=False)
        keys = [(s, p) for s in streams for p in range(partitions)]
        for stream, p in keys:
            pipe.zrange(self._zset(stream, p), 0, limit - 1, withscores=True)
        ranked: list[tuple[float, str, int, bytes]] = []
        for (stream, p), members in zip(keys, await pipe.execute(), strict=True):
            ranked += [(score, stream, p, member) for member, score in members]
        ranked.sort()
        ranked = ranked[:limit]
        pipe = self.client.pipeline(transaction=False)
        for _, stream, p, member in ranked:
            pipe.hget(self._details(stream, p), member)
        result = []
        for raw in await pipe.execute():
            if raw is not None:
                result.append(msgspec.json.decode(raw))
        return result

    # --- SLA event dedupe ---------------------------------------------------------------------
    def _sent_key(self, conversation: str, target: str, kind: str) -> str:
        return f"{self.app_id}:sla-sent:{conversation}:{target}:{kind}"

    async def already_sent(self, notices: Sequence[tuple[str, str, str]]) -> list[bool]:
        """Which (conversation, target, kind) were published by an earlier incarnation."""
        if not notices:
            return []
        try:
            values = await self.client.mget([self._sent_key(*n) for n in notices])
        except (redis.RedisError, OSError):
            return [False] * len(notices)  # at-least-once when Redis is away
        return [value is not None for value in values]

    async def mark_sent(self, notices: Sequence[tuple[str, str, str]]) -> None:
        """Record delivered SLA events; bounded to one second, as it is on the processing path
        (the at-risk lists go through the background writer instead)."""
        if not notices:
            return
        pipe = self.client.pipeline(transaction=False)
        for notice in notices:
            pipe.set(self._sent_key(*notice), b"1", ex=SENT_MARKER_TTL_SECONDS)
        try:
            async with asyncio.timeout(MARK_TIMEOUT_SECONDS):
                await pipe.execute()
        except (redis.RedisError, OSError, TimeoutError):
            log.warning("could not record %d sent SLA events in Redis", len(notices))


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339).timestamp()
