"""Business calendars: when the clock of an SLA target is allowed to run.

A calendar is a weekly pattern of opening hours in local wall time of an IANA timezone, minus
holiday dates. Every question is answered by walking local dates and turning that date's opening
hours into UTC instants, so the cost is O(local days spanned) and DST days (23 h or 25 h long) come
out right without special cases.

Turning a local boundary into an instant (the one place where DST needs a rule): a boundary
"T on local date D" is *the first instant at which the wall clock on D shows T or later*.
- T inside a spring-forward gap (does not exist): the transition instant, i.e. the first existing
  local time after the gap. "02:30-05:00" on the Prague spring-forward day opens at 03:00 CEST.
- T ambiguous (fall-back, shown twice): its first occurrence. "00:00-02:30" on the Prague
  fall-back day closes at 02:30 CEST; "02:30-05:00" opens at 02:30 CEST and so includes the
  repeated hour.
This mapping is monotonic, so opening hours that do not overlap in local time never overlap as
instants (an interval may shrink to nothing inside a gap; it is then skipped).

All intervals are half-open [open, close): an instant exactly at closing time is closed. Results
are UTC datetimes; inputs may use any fixed or IANA tzinfo but must be timezone-aware.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_SECONDS: Final = 86_400
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", re.ASCII)
_ZERO: Final = timedelta(0)
_ONE_DAY: Final = timedelta(days=1)
# Bounded so that a long-running worker walking years of dates cannot grow without limit.
_CACHE_LIMIT: Final = 4096

Span = tuple[datetime, datetime]


class Hours(NamedTuple):
    """One opening interval of a day in local wall time, as seconds after local midnight."""

    start: int
    end: int  # up to DAY_SECONDS, written "24:00"

    @classmethod
    def parse(cls, text: str) -> Hours:
        """Parse "08:00-20:00" (also "00:00-24:00"); ValueError with the reason otherwise."""
        found = _HOURS.fullmatch(text.strip()) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"invalid hours {text!r}: expected HH:MM-HH:MM such as 08:00-20:00")
        start = _seconds_of_day(text, int(found[1]), int(found[2]))
        end = _seconds_of_day(text, int(found[3]), int(found[4]))
        if start >= DAY_SECONDS:
            raise ValueError(f"invalid hours {text!r}: 24:00 can only end an interval")
        if end <= start:
            raise ValueError(
                f"invalid hours {text!r}: the end must be after the start "
                "(split hours past midnight into two days)"
            )
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_clock_text(self.start)}-{_clock_text(self.end)}"


def check_day_hours(hours: Sequence[Hours]) -> tuple[Hours, ...]:
    """Sorted hours of one day; ValueError naming the pair when two overlap.

    Touching intervals ("08:00-12:00", "12:00-20:00") are allowed and behave as one.
    """
    ordered = tuple(sorted(hours))
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise ValueError(f"overlapping hours {before} and {after}")
    return ordered


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError with a clear message when unknown."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("timezone must be an IANA name such as Europe/Prague")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown timezone {name!r} (expected an IANA name such as Europe/Prague)"
        ) from None


class BusinessCalendar:
    """Weekly opening hours in a timezone, minus holidays. Immutable.

    `weekly` maps weekday numbers (0 = Monday … 6 = Sunday) to that day's opening hours; missing
    days are closed. `holidays` are local dates closed all day.
    """

    __slots__ = (
        "_always_open",
        "_cache",
        "_holidays",
        "_last_holiday",
        "_name",
        "_timezone",
        "_weekly",
        "_zone",
    )

    def __init__(
        self,
        name: str,
        timezone: str,
        weekly: Mapping[int, Sequence[Hours]],
        holidays: Iterable[date] = (),
    ) -> None:
        self._name = name
        self._timezone = timezone
        self._zone = load_zone(timezone)
        days: list[tuple[Hours, ...]] = [() for _ in WEEKDAYS]
        for weekday, hours in weekly.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            try:
                days[weekday] = check_day_hours(hours)
            except ValueError as exc:
                raise ValueError(f"{exc} on {WEEKDAYS[weekday]}") from None
        if not any(days):
            # Such a calendar would push every deadline to infinity.
            raise ValueError(f"calendar {name!r} has no opening hours")
        self._weekly: tuple[tuple[Hours, ...], ...] = tuple(days)
        self._holidays = frozenset(holidays)
        for holiday in self._holidays:
            if isinstance(holiday, datetime) or not isinstance(holiday, date):
                raise ValueError(f"holiday must be a date, got {holiday!r}")
        self._last_holiday = max(self._holidays, default=None)
        self._always_open = not self._holidays and all(
            day == (Hours(0, DAY_SECONDS),) for day in self._weekly
        )
        self._cache: dict[date, tuple[Span, ...]] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def weekly(self) -> tuple[tuple[Hours, ...], ...]:
        """Seven tuples of opening hours, Monday first."""
        return self._weekly

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def always_open(self) -> bool:
        return self._always_open

    def __repr__(self) -> str:
        days = ", ".join(
            f"{WEEKDAYS[day]}=[{' '.join(map(str, hours))}]"
            for day, hours in enumerate(self._weekly)
            if hours
        )
        return (
            f"BusinessCalendar({self._name!r}, {self._timezone!r}, {days}, "
            f"{len(self._holidays)} holidays)"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return (self._name, self._timezone, self._weekly, self._holidays) == (
            other._name,
            other._timezone,
            other._weekly,
            other._holidays,
        )

    def __hash__(self) -> int:
        return hash((self._name, self._timezone, self._weekly))

    # --- queries ------------------------------------------------------------------------------

    def is_open(self, t: datetime) -> bool:
        """Whether `t` lies inside opening hours (closing instants are closed)."""
        at = _utc(t, "t")
        if self._always_open:
            return True
        return any(start <= at < end for start, end in self.open_spans(self._local_date(at)))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant `u >= start` with `business_seconds(start, u) == seconds`.

        So a start outside hours begins counting at the next opening, and `add(t, 0) == t`.
        For seconds > 0 business time runs right up to the result `u`
        (`business_seconds(u - e, u) == e` for every small e > 0): `u` is inside opening hours,
        or it is exactly the closing instant of an interval (closed itself, hours being
        half-open) when the budget runs out at closing time; never the next opening.
        This makes `add` additive: `add(add(t, a), b) == add(t, a + b)`, for any `t`.
        Seconds are rounded to microseconds.
        """
        at = _utc(start, "start")
        left = _budget(seconds)
        if not left:
            return at
        if self._always_open:
            return at + left
        day = self._local_date(at)
        closed_days = 0
        while True:
            spans = self.open_spans(day)
            closed_days = 0 if spans else closed_days + 1
            self._check_reachable(day, closed_days)
            for open_at, close_at in spans:
                if close_at <= at:
                    continue
                begin = max(open_at, at)
                available = close_at - begin
                if left <= available:
                    return begin + left
                left -= available
            day += _ONE_DAY

    def business_seconds(self, a: datetime, b: datetime) -> float:
        """Business time inside [a, b) in seconds; 0 when b <= a."""
        return self.business_time(a, b).total_seconds()

    def business_time(self, a: datetime, b: datetime) -> timedelta:
        """Like `business_seconds`, as an exact timedelta."""
        lo, hi = _utc(a, "a"), _utc(b, "b")
        if hi <= lo:
            return _ZERO
        if self._always_open:
            return hi - lo
        total = _ZERO
        day, last = self._local_date(lo), self._local_date(hi)
        while day <= last:
            for open_at, close_at in self.open_spans(day):
                begin, end = max(open_at, lo), min(close_at, hi)
                if end > begin:
                    total += end - begin
            day += _ONE_DAY
        return total

    def next_open(self, t: datetime) -> datetime:
        """`t` itself when open, else the next opening instant."""
        at = _utc(t, "t")
        if self._always_open:
            return at
        day = self._local_date(at)
        closed_days = 0
        while True:
            spans = self.open_spans(day)
            closed_days = 0 if spans else closed_days + 1
            self._check_reachable(day, closed_days)
            for open_at, close_at in spans:
                if close_at > at:
                    return max(open_at, at)
            day += _ONE_DAY

    def open_spans(self, day: date) -> tuple[Span, ...]:
        """The opening intervals of local date `day` as UTC instants, in order, none empty."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        spans: tuple[Span, ...] = ()
        if day not in self._holidays:
            converted = (
                (self._instant(day, hours.start), self._instant(day, hours.end))
                for hours in self._weekly[day.weekday()]
            )
            spans = tuple((a, b) for a, b in converted if b > a)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[day] = spans
        return spans

    # --- internals ----------------------------------------------------------------------------

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self._zone).date()

    def _instant(self, day: date, seconds_of_day: int) -> datetime:
        """The first instant at which the wall clock on `day` shows `seconds_of_day` or later."""
        if seconds_of_day >= DAY_SECONDS:
            day, seconds_of_day = day + _ONE_DAY, seconds_of_day - DAY_SECONDS
        wall = datetime.combine(day, _time_of_day(seconds_of_day))
        earlier = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        if earlier.astimezone(self._zone).replace(tzinfo=None) == wall:
            return earlier  # exists; fold=0 is the first occurrence when ambiguous
        # In a gap, fold=0 applies the pre-transition offset and lands after the transition,
        # fold=1 the post-transition offset and lands before it: the transition lies between.
        later = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        lo, hi = min(earlier, later), max(earlier, later)
        after_offset = hi.astimezone(self._zone).utcoffset()
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            mid = mid.replace(microsecond=0)
            if mid.astimezone(self._zone).utcoffset() == after_offset:
                hi = mid
            else:
                lo = mid
        return hi

    def _check_reachable(self, day: date, closed_days: int) -> None:
        # Past the last holiday some weekday with hours comes within a week, or two when a DST
        # gap swallows that day's only hours; validation makes this unreachable otherwise.
        quiet_since = day - timedelta(days=14)
        if closed_days > 14 and (self._last_holiday is None or quiet_since > self._last_holiday):
            raise ValueError(f"calendar {self._name!r} never opens again")


def always_open_calendar(name: str = "24x7", timezone: str = "UTC") -> BusinessCalendar:
    return BusinessCalendar(name, timezone, {day: [Hours(0, DAY_SECONDS)] for day in range(7)})


CALENDAR_24X7: Final = always_open_calendar()


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    # Arithmetic on aware datetimes in a DST zone is wall-clock arithmetic; UTC keeps it exact.
    return value.astimezone(UTC)


def _budget(seconds: float) -> timedelta:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
    return timedelta(seconds=seconds)


def _seconds_of_day(text: str, hour: int, minute: int) -> int:
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"invalid hours {text!r}: {hour:02d}:{minute:02d} is not a time of day")
    return hour * 3600 + minute * 60


def _time_of_day(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def _clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
