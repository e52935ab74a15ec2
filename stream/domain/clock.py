"""What "now" means for ages and deadlines (DESIGN invariant 6).

Counts always use event time; only "how old is this / is this late" questions ask a clock:
- `wall`: the machine's time (live operation);
- `event`: the highest `occurred_at` seen (replays and sped-up simulations);
- `fixed:TS`: frozen at TS — replay a log "as of" a moment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def observe(self, occurred_at: datetime) -> None:
        """Called with every applied event's time; only the event clock cares."""


class WallClock:
    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._source()

    def observe(self, occurred_at: datetime) -> None:
        return None

    def __repr__(self) -> str:
        return "wall"


class EventClock:
    """Now = the event-time watermark: the highest occurred_at applied so far."""

    def __init__(self, start: datetime | None = None) -> None:
        self._watermark = start or datetime.fromtimestamp(0, UTC)

    def now(self) -> datetime:
        return self._watermark

    def observe(self, occurred_at: datetime) -> None:
        if occurred_at > self._watermark:
            self._watermark = occurred_at

    def __repr__(self) -> str:
        return "event"


class FixedClock:
    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware timestamp")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def observe(self, occurred_at: datetime) -> None:
        return None

    def __repr__(self) -> str:
        return f"fixed:{self._at.isoformat()}"


def parse_clock(spec: str) -> Clock:
    """`wall`, `event` or `fixed:2026-11-27T12:00:00Z` → a clock (ValueError otherwise)."""
    if spec == "wall":
        return WallClock()
    if spec == "event":
        return EventClock()
    if spec.startswith("fixed:"):
        text = spec.removeprefix("fixed:")
        try:
            at = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"fixed clock timestamp {text!r} is not RFC 3339") from exc
        if at.tzinfo is None:
            raise ValueError(f"fixed clock timestamp {text!r} needs an offset or Z")
        return FixedClock(at)
    raise ValueError(f"unknown clock {spec!r}: use wall, event or fixed:TIMESTAMP")
