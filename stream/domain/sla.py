"""SLA tracking for one conversation: policy, target clocks, and which transitions were seen.

`SlaTrack` is embedded in ticket and chat state. Event-driven changes (start, pause, resume,
met, re-chosen policy) happen in `SlaRules` methods called by the state machines; time-driven
changes (at risk, breached) happen in `SlaRules.evaluate`, called for keys whose next due instant
has passed (the sweep, invariant 3). Both return `SlaEvent` effects for `support.sla` and counters.

Two bitmasks per track: `status` holds the current cycle's at-risk/breached marks (gauges derive
from it; a new next_response cycle clears its bits), `emitted` records every (target, kind)
already published, so each is emitted once per conversation (CONTRACT §2), across restarts too,
because the track is part of the stored state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final, NamedTuple

import msgspec

from stream.domain import effects as fx
from stream.domain import gauges
from stream.domain.calendar import BusinessCalendar
from stream.domain.effects import Count, Effect
from stream.domain.sla_clock import SlaClock
from stream.domain.sla_policy import TARGETS, Policy, PolicyBook

KINDS: Final = ("at_risk", "breached", "met")
AT_RISK, BREACHED, MET = 0, 1, 2
_BITS: Final[dict[tuple[str, int], int]] = {
    (target, kind): 1 << (index * 3 + kind)
    for index, target in enumerate(TARGETS)
    for kind in (AT_RISK, BREACHED, MET)
}
# Deadlines remembered per SlaRules (see SlaRules.deadline); cleared when full, so bounded.
DEADLINE_MEMO_LIMIT: Final = 1 << 14


def bit(target: str, kind: int) -> int:
    found = _BITS.get((target, kind))
    if found is None:  # an unknown target: the same error TARGETS.index gave
        raise ValueError(f"{target!r} is not a target")
    return found


class SlaEvent(NamedTuple):
    """A target transition. `publish` is False when this (target, kind) was already published
    for the conversation (a later next_response cycle): it still counts, but is not re-sent."""

    kind: str  # sla.at_risk | sla.breached | sla.met
    target: str
    deadline: datetime | None
    policy: str
    publish: bool = True
    in_time: bool = False  # sla.met before the deadline and never breached: counts as met


class SlaTrack(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """One conversation's SLA state. Frozen: a stored value's track is shared by the copy that
    `recent.begin` makes, and the partition derives the old value's gauges from it, so every
    change makes a new track (`msgspec.structs.replace`)."""

    policy: str
    clocks: list[SlaClock]
    status: int = 0
    emitted: int = 0

    def clock(self, target: str) -> SlaClock | None:
        for clock in self.clocks:
            if clock.target == target:
                return clock
        return None

    def has(self, target: str, kind: int) -> bool:
        return bool(self.status & _BITS[target, kind])


class SlaRules:
    """The policy book plus the pure operations on tracks."""

    def __init__(self, book: PolicyBook) -> None:
        self.book = book
        self._policies = {p.name: p for p in book.policies}
        self._deadlines: dict[tuple[int, datetime, float], datetime | None] = {}

    def deadline(self, clock: SlaClock, calendar: BusinessCalendar) -> datetime | None:
        """`clock.deadline(calendar)`, remembered.

        Storing a value derives its gauges (`deadline_minutes`) and its next due instant
        (`due_times`), and replacing it does both for the old value too: each walked the
        business calendar for every clock (24 % of a restart's recovery time in the
        benchmarks). The deadline depends only on the calendar, the start of the current run
        and the budget left, which is the key; the calendars live as long as this object, so
        their ids are stable.
        """
        since = clock.running_since
        if since is None or clock.met_at is not None:
            return None
        key = (id(calendar), since, clock.budget - clock.consumed)
        memo = self._deadlines
        if key in memo:
            return memo[key]
        found = clock.deadline(calendar)
        if len(memo) >= DEADLINE_MEMO_LIMIT:
            memo.clear()
        memo[key] = found
        return found

    def policy(self, track: SlaTrack) -> Policy | None:
        return self._policies.get(track.policy)

    def calendar(self, track: SlaTrack) -> BusinessCalendar | None:
        policy = self.policy(track)
        return policy.calendar if policy else None

    # --- event-driven ---------------------------------------------------------------------
    def start(
        self,
        channel: str,
        priority: str,
        queue: str | None,
        request_type: str | None,
        at: datetime,
        targets: tuple[str, ...] = ("first_response", "resolution"),
        conversation: str = "ticket",
    ) -> SlaTrack | None:
        policy = self.book.find(channel, priority, queue, request_type, conversation)
        if policy is None:
            return None
        clocks = [
            SlaClock.start(t, policy.targets[t], at)  # type: ignore[arg-type]
            for t in targets
            if t in policy.targets
        ]
        return SlaTrack(policy=policy.name, clocks=clocks)

    def rechoose(
        self,
        track: SlaTrack,
        channel: str,
        priority: str,
        queue: str | None,
        request_type: str | None,
        created_at: datetime,
        conversation: str = "ticket",
    ) -> SlaTrack:
        """A new priority may pick another policy: keep time consumed, take the new budgets.

        Business time already consumed was counted with the old calendar; re-counting history
        with the new one would need the full pause history, which is not kept.
        """
        policy = self.book.find(channel, priority, queue, request_type, conversation)
        if policy is None or policy.name == track.policy:
            return track
        clocks: list[SlaClock] = []
        for clock in track.clocks:
            budget = policy.targets.get(clock.target)
            if budget is not None:
                clocks.append(msgspec.structs.replace(clock, budget=budget))
        for target in ("first_response", "resolution"):
            if target in policy.targets and track.clock(target) is None:
                clocks.append(SlaClock.start(target, policy.targets[target], created_at))
        # The marks of the old budgets no longer hold; the sweep re-evaluates right away.
        return SlaTrack(policy.name, clocks, status=0, emitted=track.emitted)

    def met(self, track: SlaTrack, target: str, at: datetime) -> tuple[SlaTrack, list[SlaEvent]]:
        clock = track.clock(target)
        calendar = self.calendar(track)
        if clock is None or clock.is_met or calendar is None:
            return track, []
        deadline = self.deadline(clock, calendar)
        met = clock.met(at, calendar)
        track = self._replace(track, met)
        events: list[SlaEvent] = []
        in_time = not met.overdue and not track.has(target, BREACHED)
        if met.overdue and not track.has(target, BREACHED):
            # Answered late before the sweep noticed: the breach happened all the same, and
            # replays must record it whatever the timing of the sweep was.
            track, events = self._mark(track, target, BREACHED, deadline)
        track, done = self._mark(track, target, MET, deadline)
        if in_time:
            done = [e._replace(in_time=True) for e in done]
        return track, events + done

    def pause(self, track: SlaTrack, target: str, at: datetime) -> SlaTrack:
        clock, calendar = track.clock(target), self.calendar(track)
        if clock is None or calendar is None:
            return track
        return self._replace(track, clock.pause(at, calendar))

    def resume(self, track: SlaTrack, target: str, at: datetime) -> SlaTrack:
        clock = track.clock(target)
        if clock is None:
            return track
        if clock.is_met:
            # A reopen resumes resolution: the time consumed until it was solved still counts.
            clock = msgspec.structs.replace(clock, met_at=None, running_since=None)
            track = msgspec.structs.replace(track, status=track.status & ~bit(target, MET))
        return self._replace(track, clock.resume(at))

    def restart(self, track: SlaTrack, target: str, at: datetime) -> SlaTrack:
        """A new cycle of a repeating target (next_response after a customer reply)."""
        policy = self.policy(track)
        if policy is None or target not in policy.targets:
            return track
        current = track.clock(target)
        if current is not None and current.is_running:
            return track  # the customer wrote again before we answered: the clock keeps running
        clock = SlaClock.start(target, policy.targets[target], at)  # type: ignore[arg-type]
        mask = bit(target, AT_RISK) | bit(target, BREACHED) | bit(target, MET)
        track = msgspec.structs.replace(track, status=track.status & ~mask)
        if current is None:
            return msgspec.structs.replace(track, clocks=[*track.clocks, clock])
        return self._replace(track, clock)

    # --- time-driven ----------------------------------------------------------------------
    def evaluate(self, track: SlaTrack, now: datetime) -> tuple[SlaTrack, list[SlaEvent]]:
        policy = self.policy(track)
        if policy is None:
            return track, []
        events: list[SlaEvent] = []
        for clock in track.clocks:
            if not clock.is_running:
                continue
            deadline = self.deadline(clock, policy.calendar)
            state = clock.status(now, policy.calendar, policy.warn_seconds(clock.budget))
            if state == "breached" and not track.has(clock.target, BREACHED):
                track, new = self._mark(track, clock.target, BREACHED, deadline)
                events += new
            elif state == "at_risk" and not track.has(clock.target, AT_RISK):
                track, new = self._mark(track, clock.target, AT_RISK, deadline)
                events += new
        return track, events

    def close(self, track: SlaTrack, at: datetime) -> tuple[SlaTrack, list[SlaEvent]]:
        """The conversation ended unanswered (abandoned, ended by a bot): a target already past
        its deadline was breached, whether or not the sweep had noticed it yet."""
        policy = self.policy(track)
        if policy is None:
            return track, []
        events: list[SlaEvent] = []
        for clock in track.clocks:
            if not clock.is_running or track.has(clock.target, BREACHED):
                continue
            deadline = self.deadline(clock, policy.calendar)
            if deadline is not None and at > deadline:
                track, new = self._mark(track, clock.target, BREACHED, deadline)
                events += new
        return track, events

    def due_times(self, track: SlaTrack) -> Iterator[datetime]:
        """Instants at which `evaluate` may change something: warn points and deadlines."""
        policy = self.policy(track)
        if policy is None:
            return
        for clock in track.clocks:
            if not clock.is_running:
                continue
            deadline = self.deadline(clock, policy.calendar)
            if deadline is None:
                continue
            if not track.has(clock.target, AT_RISK):
                yield deadline - timedelta(seconds=policy.warn_seconds(clock.budget))
            if not track.has(clock.target, BREACHED):
                yield deadline + timedelta(microseconds=1)  # breached means *after* the deadline

    def deadline_minutes(self, track: SlaTrack) -> Iterator[int]:
        """Deadline minutes (epoch minutes) of running, unmet targets: breach projection."""
        calendar = self.calendar(track)
        if calendar is None:
            return
        for clock in track.clocks:
            if clock.is_running and not track.has(clock.target, BREACHED):
                deadline = self.deadline(clock, calendar)
                if deadline is not None:
                    yield int(deadline.timestamp() // 60)

    def gauge_marks(self, track: SlaTrack) -> Iterator[tuple[str, str]]:
        """(gauge, target) pairs: at-risk (not breached) and breached-not-met targets."""
        for clock in track.clocks:
            target = clock.target
            if clock.is_met:
                continue
            if track.has(target, BREACHED):
                yield gauges.SLA_BREACHED_OPEN.key, target
            elif track.has(target, AT_RISK):
                yield gauges.SLA_AT_RISK.key, target

    # --- helpers ----------------------------------------------------------------------------
    def _replace(self, track: SlaTrack, clock: SlaClock) -> SlaTrack:
        clocks = [clock if c.target == clock.target else c for c in track.clocks]
        return msgspec.structs.replace(track, clocks=clocks)

    def _mark(
        self, track: SlaTrack, target: str, kind: int, deadline: datetime | None
    ) -> tuple[SlaTrack, list[SlaEvent]]:
        flag = bit(target, kind)
        publish = not track.emitted & flag
        track = msgspec.structs.replace(
            track, status=track.status | flag, emitted=track.emitted | flag
        )
        return track, [SlaEvent(f"sla.{KINDS[kind]}", target, deadline, track.policy, publish)]

    def next_due(self, track: SlaTrack) -> datetime | None:
        return min(self.due_times(track), default=None)


def sla_effects(
    events: list[SlaEvent], channel: str, priority: str, queue: str | None
) -> list[Effect]:
    """Breach and in-time counts (attainment = met ÷ (met + breached), both per cycle) and
    the notices to publish on `support.sla`."""
    effects: list[Effect] = []
    for e in events:
        if e.kind == "sla.breached":
            effects.append(Count(fx.SLA_BREACHES, (channel, priority, e.target)))
        elif e.in_time:
            effects.append(Count(fx.SLA_MET, (channel, priority, e.target)))
        if e.publish:
            effects.append(
                fx.Notice(e.kind, e.target, e.deadline, e.policy, channel, priority, queue or "")
            )
    return effects
