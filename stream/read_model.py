"""The Redis read model (invariant 7): at-risk and breached conversations sorted by deadline,
and dedupe markers for outgoing SLA events.

Everything here can be rebuilt from the tables: each partition's list is replaced wholesale when
the partition is recovered, and updated per batch from the keys the batch changed. Redis being
down only degrades these extras (`support_redis_up 0`) and marks the partitions for a rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis.asyncio

from stream.domain.partition import PartitionState
from stream.domain.sla import SlaRules

log = logging.getLogger(__name__)

ENTRY_TTL_SECONDS = 30 * 86400


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
        deadline = clock.deadline(calendar) if clock else None
        if deadline is None:
            continue
        result.append(
            AtRiskEntry(
                conversation_id=key, stream=stream, target=target,
                status="breached" if gauge == "sla_breached_open" else "at_risk",
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
        if (stream, partition) in self.needs_rebuild:
            return False
        zset, details = self._zset(stream, partition), self._details(stream, partition)
        pipe = self.client.pipeline(transaction=False)
        for key, state in changes:
            members = [f"{key}|{t}" for t in ("first_response", "next_response", "resolution")]
            pipe.zrem(zset, *members)
            pipe.hdel(details, *members)
            if state is not None:
                for entry in entries_for(key, state, stream, self.rules):
                    member = f"{key}|{entry.target}"
                    pipe.zadd(zset, {member: _epoch(entry.deadline)})
                    pipe.hset(details, member, self._encoder.encode(entry))
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            self.needs_rebuild.add((stream, partition))
            return False
        return True

    async def rebuild(self, stream: str, partition: int, state: PartitionState[Any]) -> bool:
        if self.rules is None:
            return True
        zset, details = self._zset(stream, partition), self._details(stream, partition)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(zset, details)
        for key, value in list(state.values.items()):
            for entry in entries_for(key, value, stream, self.rules):
                member = f"{key}|{entry.target}"
                pipe.zadd(zset, {member: _epoch(entry.deadline)})
                pipe.hset(details, member, self._encoder.encode(entry))
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            self.needs_rebuild.add((stream, partition))
            return False
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
        if not notices:
            return
        pipe = self.client.pipeline(transaction=False)
        for notice in notices:
            pipe.set(self._sent_key(*notice), b"1", ex=ENTRY_TTL_SECONDS)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            log.warning("could not record %d sent SLA events in Redis", len(notices))


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339).timestamp()
