from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stream.domain.calendar import (
    CALENDAR_24X7,
    DAY_SECONDS,
    BusinessCalendar,
    Hours,
    always_open_calendar,
)
from tests.unit.conftest import PRAGUE, utc

NEW_YORK = ZoneInfo("America/New_York")
SECOND = timedelta(seconds=1)


def hours(*texts: str) -> list[Hours]:
    return [Hours.parse(text) for text in texts]


def support_hours(
    timezone: str = "Europe/Prague", holidays: tuple[date, ...] = ()
) -> BusinessCalendar:
    """CONTRACT §3's example: mon-fri 08:00-20:00, sat 09:00-17:00, sun closed."""
    weekdays = {day: hours("08:00-20:00") for day in range(5)}
    return BusinessCalendar(
        "support-hours", timezone, {**weekdays, 5: hours("09:00-17:00")}, holidays
    )


CHRISTMAS = (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1))


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


# --- opening hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("08:00-20:00", 8 * 3600, 20 * 3600),
        ("00:00-24:00", 0, DAY_SECONDS),
        ("9:30-17:15", 9 * 3600 + 1800, 17 * 3600 + 900),
        (" 08:00 - 12:00 ", 8 * 3600, 12 * 3600),
    ],
)
def test_hours_parse(text: str, start: int, end: int) -> None:
    assert Hours.parse(text) == Hours(start, end)


@pytest.mark.parametrize(
    "text", ["", "8-20", "08:00", "20:00-08:00", "08:00-08:00", "24:00-24:00", "08:60-09:00",
             "25:00-26:00", "24:30-24:45", "08:00-24:01", "08.00-20.00"],
)  # fmt: skip
def test_hours_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid hours"):
        Hours.parse(text)


def test_hours_str_round_trips() -> None:
    assert str(Hours.parse("00:00-24:00")) == "00:00-24:00"
    assert str(Hours.parse("9:05-17:00")) == "09:05-17:00"


# --- validation ---------------------------------------------------------------------------------


def test_no_opening_hours_is_an_error() -> None:
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar("never", "UTC", {})
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessCalendar("never", "UTC", {0: [], 6: []})


def test_overlapping_hours_are_an_error() -> None:
    with pytest.raises(ValueError, match="overlapping hours 08:00-12:00 and 11:00-13:00 on tue"):
        BusinessCalendar("x", "UTC", {1: hours("11:00-13:00", "08:00-12:00")})


def test_touching_hours_behave_as_one() -> None:
    split = BusinessCalendar("x", "UTC", {0: hours("08:00-12:00", "12:00-20:00")})
    whole = BusinessCalendar("y", "UTC", {0: hours("08:00-20:00")})
    start = utc(2026, 11, 30, 10)  # a Monday
    assert split.add(start, 4 * 3600) == whole.add(start, 4 * 3600) == utc(2026, 11, 30, 14)


@pytest.mark.parametrize(
    "zone", ["Europe/Prag", "", "Not/AZone", "../etc/passwd", "/etc/localtime"]
)
def test_bad_timezone(zone: str) -> None:
    with pytest.raises(ValueError, match="timezone"):
        BusinessCalendar("x", zone, {0: hours("08:00-20:00")})


def test_bad_weekday_and_holiday() -> None:
    with pytest.raises(ValueError, match="weekday"):
        BusinessCalendar("x", "UTC", {7: hours("08:00-20:00")})
    with pytest.raises(ValueError, match="holiday"):
        BusinessCalendar("x", "UTC", {0: hours("08:00-20:00")}, [utc(2026, 12, 24)])


def test_naive_datetimes_are_rejected() -> None:
    calendar = support_hours()
    naive = datetime(2026, 11, 27, 12)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add(naive, 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.business_seconds(naive, utc(2026, 11, 28))
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CALENDAR_24X7.add(naive, 60)


def test_negative_or_infinite_seconds_are_rejected() -> None:
    with pytest.raises(ValueError):
        support_hours().add(utc(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        support_hours().add(utc(2026, 1, 5), float("nan"))
    with pytest.raises(ValueError):
        CALENDAR_24X7.add(utc(2026, 1, 5), float("inf"))


# --- worked examples ----------------------------------------------------------------------------


def test_friday_evening_ticket_lands_saturday_noon() -> None:
    # Fri 2026-11-27 19:30: 30 min left on Friday, then 3 h 30 min from Saturday's 09:00 opening.
    due = support_hours().add(local(PRAGUE, 2026, 11, 27, 19, 30), 4 * 3600)
    assert due == local(PRAGUE, 2026, 11, 28, 12, 30)
    assert due.tzinfo is UTC


def test_christmas_holidays_are_skipped() -> None:
    calendar = support_hours(holidays=CHRISTMAS)
    # Wed 23 Dec 19:00: 1 h on Wednesday; 24–26 Dec holidays, Sunday closed; Mon 28 Dec 08:00 + 3 h.
    assert calendar.add(local(PRAGUE, 2026, 12, 23, 19), 4 * 3600) == local(
        PRAGUE, 2026, 12, 28, 11
    )
    # 24 h resolution: 1 h Wed + 12 h Mon 28 + 11 h Tue 29 → Tue 19:00.
    assert calendar.add(local(PRAGUE, 2026, 12, 23, 19), 24 * 3600) == local(
        PRAGUE, 2026, 12, 29, 19
    )
    # Across the year end: Thu 31 Dec 19:00 + 4 h → 1 h Thu, 1 Jan holiday, Sat 2 Jan 09:00 + 3 h.
    assert calendar.add(local(PRAGUE, 2026, 12, 31, 19), 4 * 3600) == local(PRAGUE, 2027, 1, 2, 12)
    assert not calendar.is_open(local(PRAGUE, 2026, 12, 24, 12))
    assert calendar.is_open(local(PRAGUE, 2026, 12, 23, 12))


def test_start_outside_hours_counts_from_next_opening() -> None:
    calendar = support_hours()
    sunday_night = local(PRAGUE, 2026, 11, 29, 23, 0)
    assert calendar.add(sunday_night, 15 * 60) == local(PRAGUE, 2026, 11, 30, 8, 15)
    assert calendar.next_open(sunday_night) == local(PRAGUE, 2026, 11, 30, 8)


def test_budget_ending_at_closing_lands_on_the_closing_instant() -> None:
    calendar = support_hours()
    due = calendar.add(local(PRAGUE, 2026, 11, 30, 19), 3600)
    assert due == local(PRAGUE, 2026, 11, 30, 20)
    assert not calendar.is_open(due)  # half-open hours: closing instant is closed
    assert calendar.is_open(due - SECOND)
    assert calendar.add(local(PRAGUE, 2026, 11, 30, 19), 3601) == local(
        PRAGUE, 2026, 12, 1, 8, 0, 1
    )


def test_zero_seconds_is_the_start_itself() -> None:
    calendar = support_hours()
    closed = local(PRAGUE, 2026, 11, 29, 23)
    assert calendar.add(closed, 0) == closed


def test_business_seconds_examples() -> None:
    calendar = support_hours(holidays=CHRISTMAS)
    fri, sat = local(PRAGUE, 2026, 11, 27, 19, 30), local(PRAGUE, 2026, 11, 28, 12, 30)
    assert calendar.business_seconds(fri, sat) == 4 * 3600
    assert calendar.business_seconds(sat, fri) == 0
    assert calendar.business_seconds(fri, fri) == 0
    week = calendar.business_seconds(local(PRAGUE, 2026, 11, 30), local(PRAGUE, 2026, 12, 7))
    assert week == (5 * 12 + 8) * 3600
    christmas = calendar.business_seconds(local(PRAGUE, 2026, 12, 24), local(PRAGUE, 2026, 12, 28))
    assert christmas == 0


def test_is_open() -> None:
    calendar = support_hours()
    assert calendar.is_open(local(PRAGUE, 2026, 11, 30, 8))
    assert not calendar.is_open(local(PRAGUE, 2026, 11, 30, 7, 59, 59))
    assert not calendar.is_open(local(PRAGUE, 2026, 11, 30, 20))
    assert calendar.is_open(local(PRAGUE, 2026, 11, 28, 16, 59))
    assert not calendar.is_open(local(PRAGUE, 2026, 11, 29, 12))  # Sunday
    # Any offset works on input: 07:30 UTC is 08:30 in Prague in winter.
    assert calendar.is_open(utc(2026, 11, 30, 7, 30))


def test_24x7_is_plain_arithmetic() -> None:
    start = local(PRAGUE, 2026, 3, 28, 23)
    assert CALENDAR_24X7.always_open
    # Exact elapsed time across the spring-forward night, not wall-clock arithmetic (04:00 CEST).
    assert CALENDAR_24X7.add(start, 5 * 3600) == utc(2026, 3, 29, 3)
    assert CALENDAR_24X7.add(start, 5 * 3600) != start + timedelta(hours=5)
    assert CALENDAR_24X7.business_seconds(start, utc(2026, 3, 30, 22)) == 2 * DAY_SECONDS
    assert CALENDAR_24X7.is_open(start)


def test_full_days_run_across_midnight() -> None:
    calendar = BusinessCalendar(
        "round-the-clock-weekdays", "Europe/Prague", {day: hours("00:00-24:00") for day in range(5)}
    )
    assert not calendar.always_open
    start = local(PRAGUE, 2026, 11, 30, 23)  # Monday
    assert calendar.add(start, 3 * 3600) == local(PRAGUE, 2026, 12, 1, 2)
    friday = local(PRAGUE, 2026, 12, 4, 23)
    assert calendar.add(friday, 2 * 3600) == local(PRAGUE, 2026, 12, 7, 1)


# --- daylight saving time -----------------------------------------------------------------------


def prague_all_day() -> BusinessCalendar:
    # A holiday far away keeps it off the always-open fast path, so the per-day logic is tested.
    week = {day: hours("00:00-24:00") for day in range(7)}
    return BusinessCalendar("all-day", "Europe/Prague", week, [date(2030, 1, 1)])


def test_dst_days_are_23_and_25_hours() -> None:
    calendar = prague_all_day()
    spring = calendar.business_seconds(local(PRAGUE, 2026, 3, 29), local(PRAGUE, 2026, 3, 30))
    autumn = calendar.business_seconds(local(PRAGUE, 2026, 10, 25), local(PRAGUE, 2026, 10, 26))
    assert (spring, autumn) == (23 * 3600, 25 * 3600)
    assert calendar.add(local(PRAGUE, 2026, 3, 29), 23 * 3600) == local(PRAGUE, 2026, 3, 30)
    assert calendar.add(local(PRAGUE, 2026, 10, 25), 25 * 3600) == local(PRAGUE, 2026, 10, 26)


def test_business_hours_keep_local_wall_time_across_dst() -> None:
    calendar = support_hours()
    # Sat 28 Mar 16:00 CET, 1 h left; Sunday (DST starts) closed; Monday opens 08:00 CEST.
    due = calendar.add(local(PRAGUE, 2026, 3, 28, 16), 2 * 3600)
    assert due == local(PRAGUE, 2026, 3, 30, 9)
    assert due == utc(2026, 3, 30, 7)
    # Sat 24 Oct 16:00 CEST; Sunday (DST ends) closed; Monday 08:00 CET = 07:00 UTC.
    assert calendar.add(local(PRAGUE, 2026, 10, 24, 16), 2 * 3600) == utc(2026, 10, 26, 8)


def test_new_york_dst() -> None:
    calendar = support_hours("America/New_York")
    # Fri 6 Mar 19:00 EST (1 h), Sat 7 Mar 09:00-17:00 EST (8 h), Sun closed, Mon 9 Mar 08:00 EDT.
    due = calendar.add(local(NEW_YORK, 2026, 3, 6, 19), 10 * 3600)
    assert due == local(NEW_YORK, 2026, 3, 9, 9) == utc(2026, 3, 9, 13)
    # Sat 31 Oct 16:00 EDT (1 h) → Mon 2 Nov 08:00 EST (= 13:00 UTC) + 1 h.
    assert calendar.add(local(NEW_YORK, 2026, 10, 31, 16), 2 * 3600) == utc(2026, 11, 2, 14)


def test_boundary_in_spring_forward_gap_opens_at_the_transition() -> None:
    calendar = BusinessCalendar("night", "Europe/Prague", {6: hours("02:30-05:00")})
    spans = calendar.open_spans(date(2026, 3, 29))
    # 02:30 does not exist on 29 Mar: the first instant the clock shows 02:30 or later is 03:00.
    assert spans == ((local(PRAGUE, 2026, 3, 29, 3), local(PRAGUE, 2026, 3, 29, 5)),)
    assert spans[0][0] == utc(2026, 3, 29, 1)
    assert calendar.business_seconds(utc(2026, 3, 28), utc(2026, 3, 30)) == 2 * 3600
    # An interval entirely inside the gap disappears on that day only.
    gap = BusinessCalendar("gap", "Europe/Prague", {6: hours("02:00-03:00")})
    assert gap.open_spans(date(2026, 3, 29)) == ()
    assert gap.business_seconds(utc(2026, 3, 28), utc(2026, 4, 6)) == 3600


def test_ambiguous_boundary_uses_first_occurrence() -> None:
    calendar = BusinessCalendar("split", "Europe/Prague", {6: hours("00:00-02:30", "02:30-05:00")})
    (early, late) = calendar.open_spans(date(2026, 10, 25))
    assert early == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 0, 30))  # closes at 02:30 CEST
    assert late == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 4))  # includes the repeated hour
    assert calendar.business_seconds(utc(2026, 10, 24), utc(2026, 10, 26)) == 6 * 3600


def test_midnight_that_does_not_exist() -> None:
    # Santiago springs forward at 24:00 on 5 Sep 2026: local 6 Sep 00:00 never happens.
    santiago = ZoneInfo("America/Santiago")
    calendar = BusinessCalendar(
        "cl",
        "America/Santiago",
        {day: hours("00:00-24:00") for day in range(7)},
        [date(2030, 1, 1)],
    )
    (span,) = calendar.open_spans(date(2026, 9, 6))
    assert span[0] == utc(2026, 9, 6, 4) == local(santiago, 2026, 9, 6, 1)
    assert calendar.open_spans(date(2026, 9, 5))[0][1] == span[0]  # no hole, no overlap
    assert calendar.business_seconds(utc(2026, 9, 5, 12), utc(2026, 9, 6, 12)) == DAY_SECONDS


# --- across years and efficiency ----------------------------------------------------------------


def test_long_budgets_are_cheap() -> None:
    calendar = support_hours(holidays=CHRISTMAS)
    started = timer.perf_counter()
    due = calendar.add(local(PRAGUE, 2026, 1, 5, 8), 3000 * 3600)  # ≈ 4.5 years of business hours
    business = calendar.business_seconds(local(PRAGUE, 2026, 1, 5, 8), due)
    assert business == 3000 * 3600
    assert due.year >= 2026
    assert timer.perf_counter() - started < 1.0


def test_holidays_on_the_only_open_day_for_weeks() -> None:
    sundays = [date(2026, 12, 6) + timedelta(weeks=week) for week in range(6)]
    calendar = BusinessCalendar("sundays", "UTC", {6: hours("10:00-12:00")}, sundays)
    assert calendar.add(utc(2026, 12, 1), 3600) == utc(2027, 1, 17, 11)
    assert calendar.next_open(utc(2026, 12, 1)) == utc(2027, 1, 17, 10)


def test_always_open_calendar_in_other_zone() -> None:
    calendar = always_open_calendar("prague-24x7", "Europe/Prague")
    assert calendar.always_open
    day = calendar.business_seconds(local(PRAGUE, 2026, 3, 29), local(PRAGUE, 2026, 3, 30))
    assert day == 23 * 3600


# --- properties ---------------------------------------------------------------------------------

ZONES = ("Europe/Prague", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/Santiago")  # fmt: skip
FIXED_ZONES = ("UTC", "Asia/Kolkata", "Asia/Tokyo")


QUARTERS = tuple(range(24 * 4 + 1))
# Boundaries a wall-clock reading cannot place unambiguously: strictly inside the repeated hour
# (01:00-02:00 New York, 02:00-03:00 Prague). 02:00 itself is fine in both zones.
UNAMBIGUOUS_QUARTERS = tuple(q for q in QUARTERS if q not in {5, 6, 7, 9, 10, 11})


@st.composite
def day_hours(draw: st.DrawFn, quarters: tuple[int, ...] = QUARTERS) -> list[Hours]:
    # Quarter-hour aligned, non-overlapping, possibly touching intervals.
    points = draw(st.lists(st.sampled_from(quarters), min_size=0, max_size=6, unique=True))
    points.sort()
    pairs = list(zip(points[::2], points[1::2], strict=False))
    return [Hours(start * 900, end * 900) for start, end in pairs if end > start]


@st.composite
def calendars(
    draw: st.DrawFn, zones: tuple[str, ...] = ZONES, quarters: tuple[int, ...] = QUARTERS
) -> BusinessCalendar:
    weekly = {day: draw(day_hours(quarters)) for day in range(7)}
    if not any(weekly.values()):
        weekly[draw(st.integers(0, 6))] = [Hours(9 * 3600, 17 * 3600)]
    holidays = draw(
        st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20, unique=True)
    )
    return BusinessCalendar("random", draw(st.sampled_from(zones)), weekly, holidays)


# DST changes in the zones above (Prague, New York, Lord Howe, Santiago), for starts near them.
DST_CHANGES = [utc(2026, 3, 8, 7), utc(2026, 3, 29, 1), utc(2026, 4, 4, 15), utc(2026, 4, 5, 3),
               utc(2026, 9, 6, 4), utc(2026, 10, 3, 15), utc(2026, 10, 25, 1), utc(2026, 11, 1, 6),
               utc(2027, 3, 28, 1), utc(2027, 10, 31, 1)]  # fmt: skip
uniform_instants = st.integers(
    int(utc(2026, 1, 1).timestamp()), int(utc(2027, 12, 1).timestamp())
).map(lambda seconds: datetime.fromtimestamp(seconds, UTC))
near_dst = st.builds(
    lambda change, offset: change + timedelta(seconds=offset),
    st.sampled_from(DST_CHANGES),
    st.integers(-3 * DAY_SECONDS, 3 * DAY_SECONDS),
)
instants = uniform_instants | near_dst
budgets = st.integers(1, 14 * DAY_SECONDS)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(calendars(), instants, budgets)
def test_deadline_is_inside_hours_or_exactly_at_closing(
    calendar: BusinessCalendar, start: datetime, seconds: int
) -> None:
    """For seconds > 0, `add` lands where business time runs up to it: either inside opening
    hours, or exactly on a closing instant (the end of an interval, which is itself closed)."""
    due = calendar.add(start, seconds)
    assert calendar.is_open(due) or calendar.business_seconds(due - SECOND, due) == 1
    assert calendar.business_seconds(start, due) == seconds
    # ...and it is the earliest such instant.
    assert calendar.business_seconds(start, due - timedelta(microseconds=1)) < seconds


@PROPERTY
@given(calendars(), instants, budgets, budgets)
def test_add_is_monotonic_and_additive(
    calendar: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    first, both = calendar.add(start, a), calendar.add(start, a + b)
    assert first <= both
    assert calendar.add(start, min(a, b)) <= calendar.add(start, max(a, b))
    assert calendar.add(first, b) == both


@PROPERTY
@given(calendars(), instants, budgets)
def test_add_from_inside_hours(calendar: BusinessCalendar, start: datetime, seconds: int) -> None:
    start = calendar.next_open(start)
    assume(calendar.is_open(start))
    assert calendar.business_seconds(start, calendar.add(start, seconds)) == seconds
    assert calendar.business_seconds(start, start + SECOND) == 1


@PROPERTY
@given(calendars(), instants, st.integers(0, 10 * DAY_SECONDS), st.integers(0, 10 * DAY_SECONDS))
def test_business_seconds_is_additive_and_bounded(
    calendar: BusinessCalendar, a: datetime, x: int, y: int
) -> None:
    b, c = a + timedelta(seconds=x), a + timedelta(seconds=x + y)
    ab, bc = calendar.business_seconds(a, b), calendar.business_seconds(b, c)
    assert calendar.business_seconds(a, c) == ab + bc
    assert 0 <= ab <= x


@settings(max_examples=60, deadline=None)
@given(
    calendars(FIXED_ZONES),
    instants.map(lambda t: t.replace(second=0)),
    st.integers(0, 3 * 24 * 60),
)
def test_business_seconds_matches_minute_by_minute_count(
    calendar: BusinessCalendar, a: datetime, minutes: int
) -> None:
    """Against a naive reference in zones without DST: count open minutes by wall time."""
    assert calendar.business_seconds(a, a + timedelta(minutes=minutes)) == wall_clock_count(
        calendar, a, minutes
    )


@settings(max_examples=60, deadline=None)
@given(
    calendars(("Europe/Prague", "America/New_York"), UNAMBIGUOUS_QUARTERS),
    near_dst.map(lambda t: t.replace(second=0)),
    st.integers(0, 3 * 24 * 60),
)
def test_dst_days_match_wall_clock_reading(
    calendar: BusinessCalendar, a: datetime, minutes: int
) -> None:
    """Around DST changes, with no boundary inside a repeated hour, "open" is exactly "the local
    wall clock shows a time inside that day's hours": 23 h and 25 h days come out right."""
    assert calendar.business_seconds(a, a + timedelta(minutes=minutes)) == wall_clock_count(
        calendar, a, minutes
    )
    for step in range(0, minutes, 37):
        at = a + timedelta(minutes=step)
        assert calendar.is_open(at) == (wall_clock_count(calendar, at, 1) == 60)


def wall_clock_count(calendar: BusinessCalendar, a: datetime, minutes: int) -> int:
    zone = ZoneInfo(calendar.timezone)
    expected = 0
    for step in range(minutes):
        wall = (a + timedelta(minutes=step)).astimezone(zone)
        second_of_day = wall.hour * 3600 + wall.minute * 60
        if wall.date() in calendar.holidays:
            continue
        if any(h.start <= second_of_day < h.end for h in calendar.weekly[wall.weekday()]):
            expected += 60
    return expected
