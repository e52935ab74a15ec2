"""ReadModel against an in-memory Redis stand-in: updates send only what changed.

The at-risk list must always equal a fresh rebuild from the table, while a batch whose keys
have no at-risk or breached target before or after sends nothing to Redis.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stream.domain.conversations import Tickets
from stream.domain.events import Decoded, Event, TicketCreated, TicketReplied, TicketStatusChanged
from stream.domain.partition import PartitionState
from stream.domain.sla import SlaRules
from stream.domain.tickets import TicketState
from stream.read_model import ReadModel
from stream.shipped import shipped_policy

RULES = SlaRules(shipped_policy())
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday, inside support hours


@dataclass
class FakeRedis:
    """The sorted sets and hashes the read model uses; counts the commands it executes."""

    zsets: dict[str, dict[str, float]] = field(default_factory=dict)
    hashes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    commands: int = 0

    def pipeline(self, transaction: bool = False) -> FakePipeline:
        return FakePipeline(self)


@dataclass
class FakePipeline:
    redis: FakeRedis
    queued: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.queued.append((name, args))

    async def execute(self) -> list[Any]:
        r = self.redis
        for name, args in self.queued:
            r.commands += 1
            if name == "delete":
                for key in args:
                    r.zsets.pop(key, None)
                    r.hashes.pop(key, None)
            elif name == "zadd":
                r.zsets.setdefault(args[0], {}).update(args[1])
            elif name == "zrem":
                for member in args[1:]:
                    r.zsets.get(args[0], {}).pop(member, None)
            elif name == "hset":
                r.hashes.setdefault(args[0], {})[args[1]] = args[2]
            elif name == "hdel":
                for member in args[1:]:
                    r.hashes.get(args[0], {}).pop(member, None)
            else:
                raise AssertionError(f"unexpected command {name}")
        return []


def contents(redis: FakeRedis) -> tuple[Any, Any]:
    return (
        {k: dict(v) for k, v in redis.zsets.items() if v},
        {k: dict(v) for k, v in redis.hashes.items() if v},
    )


def changes(part: PartitionState[TicketState]) -> list[tuple[str, TicketState | None]]:
    puts, deletes = part.drain()
    part.drain_windows()
    return [*puts, *((key, None) for key in deletes)]


async def test_updates_equal_a_rebuild_and_skip_keys_without_entries() -> None:
    rng = random.Random(8)
    part: PartitionState[TicketState] = PartitionState(0, Tickets(RULES), timedelta(days=3))
    redis = FakeRedis()
    model = ReadModel(redis, "app", RULES)  # type: ignore[arg-type]
    assert await model.rebuild("tickets", 0, part)
    offset = 0
    now = T0
    quiet_batches = 0
    for step in range(60):
        now += timedelta(minutes=rng.choice([1, 5, 20]))
        for _ in range(rng.randint(1, 6)):
            key = f"T{rng.randint(0, 25)}"
            event: Event
            kind = rng.random()
            if key not in part.values or kind < 0.3:
                event = TicketCreated(
                    event_id=f"e{offset}", occurred_at=now.isoformat(), ticket_id=key,
                    channel=rng.choice(["chat", "email", "social"]),  # type: ignore[arg-type]
                    priority=rng.choice(["normal", "urgent"]),  # type: ignore[arg-type]
                    queue="orders", request_type="order_status",
                )
            elif kind < 0.7:
                event = TicketReplied(event_id=f"e{offset}", occurred_at=now.isoformat(),
                                      ticket_id=key, author=rng.choice(["agent", "customer"]))
            else:
                event = TicketStatusChanged(event_id=f"e{offset}", occurred_at=now.isoformat(),
                                            ticket_id=key, status="solved")
            part.apply(key, offset, Decoded(event, now))
            offset += 1
        for key in part.pop_due(now):
            part.evaluate(key, now)
        batch = changes(part)
        before, listed = redis.commands, contents(redis)
        assert await model.update("tickets", 0, batch)
        fresh = FakeRedis()
        assert await ReadModel(fresh, "app", RULES).rebuild("tickets", 0, part)  # type: ignore[arg-type]
        assert contents(redis) == contents(fresh), f"step {step}"
        if contents(redis) == listed:
            # No entry appeared, left or changed: nothing may have been sent.
            assert redis.commands == before, f"step {step}: commands without a difference"
            quiet_batches += 1
    assert quiet_batches  # the scenario did exercise batches that send nothing
    assert redis.zsets["app:atrisk:tickets:0"]  # and kept some entries


async def test_a_key_leaving_the_list_is_removed_and_unchanged_keys_send_nothing() -> None:
    part: PartitionState[TicketState] = PartitionState(0, Tickets(RULES), timedelta(days=3))
    redis = FakeRedis()
    model = ReadModel(redis, "app", RULES)  # type: ignore[arg-type]
    assert await model.rebuild("tickets", 0, part)
    rebuilt = redis.commands
    created = TicketCreated(event_id="c", occurred_at=T0.isoformat(), ticket_id="T1",
                            channel="email", priority="urgent", queue="orders",
                            request_type="order_status")
    part.apply("T1", 0, Decoded(created, T0))
    assert await model.update("tickets", 0, changes(part))
    assert redis.commands == rebuilt  # open, not at risk: no entry, no command
    late = T0 + timedelta(minutes=16)  # past the 15-minute urgent first response
    for key in part.pop_due(late):
        part.evaluate(key, late)
    assert await model.update("tickets", 0, changes(part))
    assert list(redis.zsets["app:atrisk:tickets:0"]) == ["T1|first_response"]
    sent = redis.commands
    assert await model.update("tickets", 0, [("T1", part.values["T1"])])  # same value again
    assert redis.commands == sent
    reply = TicketReplied(event_id="r", occurred_at=late.isoformat(), ticket_id="T1",
                          author="agent")
    part.apply("T1", 1, Decoded(reply, late))
    assert await model.update("tickets", 0, changes(part))
    assert contents(redis) == ({}, {})


@dataclass
class FakeScoreRedis:
    """Sets, hashes and lists as the scorecards use them; counts commands."""

    data: dict[str, Any] = field(default_factory=dict)
    commands: int = 0

    def pipeline(self, transaction: bool = False) -> FakeScorePipeline:
        return FakeScorePipeline(self)


@dataclass
class FakeScorePipeline:
    redis: FakeScoreRedis
    queued: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.queued.append((name, args))

    async def execute(self) -> list[Any]:
        data = self.redis.data
        for name, (key, *args) in self.queued:
            self.redis.commands += 1
            if name == "sadd":
                data.setdefault(key, set()).update(args)
            elif name == "hincrby":
                card = data.setdefault(key, {})
                card[args[0]] = card.get(args[0], 0) + args[1]
            elif name == "rpush":
                data.setdefault(key, []).extend(args)
            elif name == "ltrim":
                data[key] = data[key][args[0]:] if args[1] == -1 else data[key]
            elif name != "expire":
                raise AssertionError(f"unexpected command {name}")
        return []


async def test_scorecards_of_a_batch_equal_one_write_per_stat() -> None:
    from zoneinfo import ZoneInfo

    from stream.domain.effects import AgentStat
    from stream.scorecards import Scorecards

    rng = random.Random(3)
    stats = [
        AgentStat(
            rng.choice(["a1", "a2", "a3"]),
            rng.choice(["replies", "solved", "first_response", "csat"]),
            float(rng.randint(1, 5)) if rng.random() < 0.5 else float(rng.randint(10, 900)),
            T0 + timedelta(hours=rng.choice([0, 20])),  # two local days in Prague
        )
        for _ in range(300)
    ]
    batched, single = FakeScoreRedis(), FakeScoreRedis()
    await Scorecards(batched, "app", ZoneInfo("Europe/Prague")).record(stats)  # type: ignore[arg-type]
    one_by_one = Scorecards(single, "app", ZoneInfo("Europe/Prague"))  # type: ignore[arg-type]
    for stat in stats:
        await one_by_one.record([stat])
    assert batched.data == single.data
    assert len(batched.data) > 4  # both days, several agents, cards and first responses
    assert batched.commands < single.commands / 4
