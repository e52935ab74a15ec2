"""The clock of one SLA target of one conversation (CONTRACT §3), as a small immutable value.

It is embedded in stored conversation state, so it keeps only what cannot be recomputed: the
budget, the business time consumed before the current run, when the current run started, and
when the target was met. The deadline is derived from the calendar on demand; a calendar or
budget change (a re-chosen policy) therefore needs no migration of stored clocks.

Readings (CONTRACT §3 leaves these open):
- *Deadline*: the instant the remaining budget runs out when counting business time from
  `running_since` (`BusinessCalendar.add`); None while paused or met.
- `remaining()` is wall-clock seconds until that instant (negative once overdue), which is what
  on-call and the at-risk list show; `budget_left()` is the business time left, also defined
  while paused.
- *At risk*: `deadline - now <= warn_seconds`, both wall time, where `warn_seconds` comes from
  the policy (`Policy.warn_seconds(budget)`). *Breached*: `now > deadline`; running exactly up to
  the deadline instant is still in time.
- A paused clock is *breached* when it had already passed its deadline when paused, or its whole
  budget is used (any later reply is late); otherwise *paused*.
- A met clock stays *met*; `overdue` tells whether it was met (or paused) after its deadline.
- Transitions are total: pausing a paused clock, resuming a running one, or anything after `met`
  returns the clock unchanged; an instant earlier than `running_since` (a late event) consumes
  no time rather than negative time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from stream.domain.calendar import BusinessCalendar
from stream.domain.sla_policy import TARGETS, Policy, PolicyBook, Target

Status = Literal["ok", "at_risk", "breached", "met", "paused"]
# Decoding rejects a stored timestamp without an offset instead of reviving a naive datetime.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class SlaClock(
    msgspec.Struct,
    frozen=True,
    omit_defaults=True,
    gc=False,  # see TicketState
    rename={
        "target": "t",
        "budget": "b",
        "consumed": "c",
        "running_since": "r",
        "met_at": "m",
        "overdue": "o",
    },
):
    """Encoded compactly, e.g. `{"t":"first_response","b":14400.0,"r":"2026-12-01T08:00:00Z"}`."""

    target: Target
    budget: float  # business seconds
    consumed: float = 0.0  # business seconds used before `running_since`
    running_since: AwareDatetime | None = None
    met_at: AwareDatetime | None = None
    overdue: bool = False  # passed its deadline before it was paused or met

    @classmethod
    def start(cls, target: Target, budget: float, at: datetime) -> SlaClock:
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
        if isinstance(budget, bool) or not math.isfinite(budget) or budget <= 0:
            raise ValueError(f"budget must be a positive number of seconds, got {budget!r}")
        return cls(target=target, budget=float(budget), running_since=_utc(at))

    @property
    def is_running(self) -> bool:
        return self.running_since is not None and self.met_at is None

    @property
    def is_paused(self) -> bool:
        return self.running_since is None and self.met_at is None

    @property
    def is_met(self) -> bool:
        return self.met_at is not None

    def pause(self, at: datetime, calendar: BusinessCalendar) -> SlaClock:
        at = _utc(at)
        if self.running_since is None or self.met_at is not None:
            return self
        return msgspec.structs.replace(
            self,
            consumed=self.consumed + calendar.business_seconds(self.running_since, at),
            running_since=None,
            overdue=self.overdue or self._past_deadline(at, calendar),
        )

    def resume(self, at: datetime) -> SlaClock:
        at = _utc(at)
        if not self.is_paused:
            return self
        return msgspec.structs.replace(self, running_since=at)

    def met(self, at: datetime, calendar: BusinessCalendar) -> SlaClock:
        at = _utc(at)
        if self.met_at is not None:
            return self
        if self.running_since is None:
            # Met while paused: late if the budget was already gone (nothing is left to count).
            late = self.overdue or self.consumed >= self.budget
            return msgspec.structs.replace(self, met_at=at, overdue=late)
        return msgspec.structs.replace(
            self,
            consumed=self.consumed + calendar.business_seconds(self.running_since, at),
            running_since=None,
            met_at=at,
            overdue=self.overdue or self._past_deadline(at, calendar),
        )

    def deadline(self, calendar: BusinessCalendar) -> datetime | None:
        """When the budget runs out if the clock keeps running; None while paused or met.

        Once the budget is used up before a pause, a resumed clock's deadline is the resume
        instant: the true one lies in the past and is no longer known.
        """
        if self.running_since is None or self.met_at is not None:
            return None
        left = max(0.0, self.budget - self.consumed)
        return calendar.add(self.running_since, left)

    def remaining(self, now: datetime, calendar: BusinessCalendar) -> float | None:
        """Wall seconds from `now` to the deadline (negative when overdue); None without one."""
        deadline = self.deadline(calendar)
        if deadline is None:
            return None
        return (deadline - _utc(now)).total_seconds()

    def elapsed_business(self, now: datetime, calendar: BusinessCalendar) -> float:
        """Business seconds consumed up to `now` (frozen while paused and after met)."""
        if self.running_since is None or self.met_at is not None:
            return self.consumed
        return self.consumed + calendar.business_seconds(self.running_since, _utc(now))

    def budget_left(self, now: datetime, calendar: BusinessCalendar) -> float:
        """Business seconds of budget left at `now` (negative when overrun)."""
        return self.budget - self.elapsed_business(now, calendar)

    def status(self, now: datetime, calendar: BusinessCalendar, warn_seconds: float) -> Status:
        now = _utc(now)
        if self.met_at is not None:
            return "met"
        deadline = self.deadline(calendar)
        if deadline is None:
            return "breached" if self.overdue or self.consumed >= self.budget else "paused"
        if now > deadline:
            return "breached"
        if (deadline - now).total_seconds() <= warn_seconds:
            return "at_risk"
        return "ok"

    def _past_deadline(self, at: datetime, calendar: BusinessCalendar) -> bool:
        deadline = self.deadline(calendar)
        return deadline is not None and at > deadline


def deadlines_for(
    book: PolicyBook,
    channel: str,
    priority: str,
    queue: str | None,
    request_type: str | None,
    created: datetime,
    conversation: str | None = None,
) -> tuple[Policy, dict[str, datetime]]:
    """The chosen policy and each of its targets' deadline, started at `created`, never paused.

    Deadlines are UTC. Raises NoPolicyError when no policy matches.
    """
    created = _utc(created)
    if conversation is None:  # a chat-channel conversation is a live chat unless told otherwise
        conversation = "chat" if channel == "chat" else "ticket"
    policy = book.choose(channel, priority, queue, request_type, conversation)
    deadlines = {
        target: policy.calendar.add(created, budget) for target, budget in policy.targets.items()
    }
    return policy, deadlines


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {value.isoformat()}")
    return value.astimezone(UTC)
