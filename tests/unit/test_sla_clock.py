from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stream.domain.calendar import CALENDAR_24X7, BusinessCalendar, Hours
from stream.domain.sla_clock import SlaClock, deadlines_for
from stream.domain.sla_policy import NoPolicyError, parse_policy_text
from stream.shipped import shipped_policy
from tests.unit.conftest import prague, shipped_rules, utc

HOUR = 3600

SUPPORT_HOURS = BusinessCalendar(
    "support-hours",
    "Europe/Prague",
    {
        **{day: [Hours.parse("08:00-20:00")] for day in range(5)},
        5: [Hours.parse("09:00-17:00")],
    },
    [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)],
)


# --- construction and storage -------------------------------------------------------------------


def test_start() -> None:
    clock = SlaClock.start("first_response", 120, prague(2026, 11, 27, 12))
    assert clock.running_since == utc(2026, 11, 27, 11)
    assert clock.running_since is not None and clock.running_since.tzinfo is UTC
    assert (clock.target, clock.budget, clock.consumed, clock.met_at) == (
        "first_response",
        120.0,
        0.0,
        None,
    )
    assert clock.is_running and not clock.is_paused and not clock.is_met


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf")])
def test_start_rejects_bad_budget(budget: float) -> None:
    with pytest.raises(ValueError, match="budget"):
        SlaClock.start("resolution", budget, utc(2026, 1, 1))


def test_start_rejects_unknown_target_and_naive_time() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        SlaClock.start("first_reply", 60, utc(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock.start("resolution", 60, datetime(2026, 1, 1))
    clock = SlaClock.start("resolution", 60, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.pause(datetime(2026, 1, 1, 0, 1), CALENDAR_24X7)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.status(datetime(2026, 1, 1, 0, 1), CALENDAR_24X7, 0)


def test_encoding_is_compact_and_round_trips() -> None:
    clock = SlaClock.start("first_response", 14_400, utc(2026, 12, 1, 8))
    encoded = msgspec.json.encode(clock)
    assert encoded == b'{"t":"first_response","b":14400.0,"r":"2026-12-01T08:00:00Z"}'
    paused = clock.pause(utc(2026, 12, 1, 9), CALENDAR_24X7)
    assert msgspec.json.encode(paused) == b'{"t":"first_response","b":14400.0,"c":3600.0}'
    met = paused.met(utc(2026, 12, 1, 10), CALENDAR_24X7)
    for value in (clock, paused, met):
        assert msgspec.json.decode(msgspec.json.encode(value), type=SlaClock) == value
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(value), type=SlaClock) == value
    assert len(msgspec.msgpack.encode(clock)) < 50


def test_decoding_rejects_naive_timestamps_and_unknown_targets() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"t":"resolution","b":60.0,"r":"2026-12-01T08:00:00"}', type=SlaClock)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"t":"first_reply","b":60.0}', type=SlaClock)


def test_clock_is_immutable() -> None:
    clock = SlaClock.start("resolution", 60, utc(2026, 1, 1))
    with pytest.raises(AttributeError):
        clock.budget = 5  # type: ignore[misc]


# --- transitions --------------------------------------------------------------------------------


def test_chat_first_response_statuses() -> None:
    requested = utc(2026, 11, 27, 12)
    clock = SlaClock.start("first_response", 120, requested)
    warn = 30.0  # 25 % of 2 min

    def status_at(seconds: float) -> str:
        return clock.status(requested + timedelta(seconds=seconds), CALENDAR_24X7, warn)

    assert clock.deadline(CALENDAR_24X7) == requested + timedelta(minutes=2)
    assert [status_at(s) for s in (0, 89, 90, 120, 120.5, 600)] == [
        "ok",
        "ok",
        "at_risk",
        "at_risk",  # deadline - now = 0: not yet past it
        "breached",
        "breached",
    ]
    met = clock.met(requested + timedelta(seconds=100), CALENDAR_24X7)
    assert met.status(requested + timedelta(hours=1), CALENDAR_24X7, warn) == "met"
    assert not met.overdue and met.consumed == 100
    late = clock.met(requested + timedelta(seconds=121), CALENDAR_24X7)
    assert late.overdue and late.status(requested, CALENDAR_24X7, warn) == "met"
    exactly = clock.met(requested + timedelta(seconds=120), CALENDAR_24X7)
    assert not exactly.overdue


def test_business_hours_clock_remaining_is_wall_time() -> None:
    # Email, 4 h business target, created Friday 19:30 Prague → due Saturday 12:30.
    created = prague(2026, 11, 27, 19, 30)
    clock = SlaClock.start("first_response", 4 * HOUR, created)
    assert clock.deadline(SUPPORT_HOURS) == prague(2026, 11, 28, 12, 30)
    assert clock.remaining(created, SUPPORT_HOURS) == 17 * HOUR
    assert clock.budget_left(created, SUPPORT_HOURS) == 4 * HOUR
    night = prague(2026, 11, 27, 23)
    assert clock.elapsed_business(night, SUPPORT_HOURS) == 30 * 60
    assert clock.remaining(night, SUPPORT_HOURS) == 13.5 * HOUR
    warn = 0.25 * 4 * HOUR
    # At risk is judged on the wall time left to the deadline instant, not business time left.
    assert clock.status(prague(2026, 11, 27, 19, 59), SUPPORT_HOURS, warn) == "ok"
    assert clock.status(prague(2026, 11, 28, 11, 29, 59), SUPPORT_HOURS, warn) == "ok"
    assert clock.status(prague(2026, 11, 28, 11, 30), SUPPORT_HOURS, warn) == "at_risk"
    assert clock.status(prague(2026, 11, 28, 12, 31), SUPPORT_HOURS, warn) == "breached"
    assert clock.remaining(prague(2026, 11, 28, 12, 31), SUPPORT_HOURS) == -60


def test_pending_pauses_resolution() -> None:
    # Resolution 24 h business, created Mon 30 Nov 09:00; without pauses due Wed 2 Dec 09:00.
    clock = SlaClock.start("resolution", 24 * HOUR, prague(2026, 11, 30, 9))
    original = clock.deadline(SUPPORT_HOURS)
    assert original == prague(2026, 12, 2, 9)
    # Pending at Mon 12:00 (3 h used), customer answers Wed 10:00.
    paused = clock.pause(prague(2026, 11, 30, 12), SUPPORT_HOURS)
    assert paused.is_paused and paused.consumed == 3 * HOUR
    assert paused.deadline(SUPPORT_HOURS) is None
    assert paused.remaining(prague(2026, 12, 1), SUPPORT_HOURS) is None
    assert paused.status(prague(2026, 12, 5), SUPPORT_HOURS, 6 * HOUR) == "paused"
    assert paused.elapsed_business(prague(2026, 12, 5), SUPPORT_HOURS) == 3 * HOUR
    assert paused.budget_left(prague(2026, 12, 5), SUPPORT_HOURS) == 21 * HOUR
    resumed = paused.resume(prague(2026, 12, 2, 10))
    # 21 h left: Wed 10:00-20:00 (10 h) + Thu 08:00-19:00 (11 h).
    assert resumed.deadline(SUPPORT_HOURS) == prague(2026, 12, 3, 19)
    # ...which is the original deadline moved by the paused business time (8 + 12 + 2 h).
    assert original is not None
    assert SUPPORT_HOURS.add(original, 22 * HOUR) == prague(2026, 12, 3, 19)
    solved = resumed.met(prague(2026, 12, 3, 18), SUPPORT_HOURS)
    assert solved.status(prague(2026, 12, 4), SUPPORT_HOURS, 0) == "met"
    assert not solved.overdue and solved.consumed == 23 * HOUR


def test_paused_after_the_deadline_stays_breached() -> None:
    clock = SlaClock.start("resolution", HOUR, utc(2026, 12, 1, 8))
    paused = clock.pause(utc(2026, 12, 1, 10), CALENDAR_24X7)
    assert paused.overdue and paused.consumed == 2 * HOUR
    assert paused.status(utc(2026, 12, 1, 11), CALENDAR_24X7, 0) == "breached"
    resumed = paused.resume(utc(2026, 12, 2))
    assert resumed.deadline(CALENDAR_24X7) == utc(2026, 12, 2)  # budget gone: due at resume
    assert resumed.status(utc(2026, 12, 2, 0, 1), CALENDAR_24X7, 0) == "breached"
    assert resumed.met(utc(2026, 12, 2, 1), CALENDAR_24X7).overdue


def test_paused_with_budget_used_up_is_breached() -> None:
    # Pending exactly at the deadline: not past it yet, but nothing is left to answer in time.
    clock = SlaClock.start("resolution", HOUR, utc(2026, 12, 1, 8))
    paused = clock.pause(utc(2026, 12, 1, 9), CALENDAR_24X7)
    assert not paused.overdue and paused.consumed == HOUR
    assert paused.status(utc(2026, 12, 1, 9, 30), CALENDAR_24X7, 0) == "breached"
    assert paused.met(utc(2026, 12, 1, 9, 30), CALENDAR_24X7).overdue


def test_met_while_paused_in_time() -> None:
    clock = SlaClock.start("resolution", HOUR, utc(2026, 12, 1, 8))
    paused = clock.pause(utc(2026, 12, 1, 8, 30), CALENDAR_24X7)
    met = paused.met(utc(2026, 12, 5), CALENDAR_24X7)
    assert met.is_met and not met.overdue and met.consumed == 30 * 60


def test_transitions_are_total_and_idempotent() -> None:
    at = utc(2026, 12, 1, 8)
    clock = SlaClock.start("next_response", HOUR, at)
    assert clock.resume(at + timedelta(minutes=5)) is clock  # already running
    paused = clock.pause(at + timedelta(minutes=10), CALENDAR_24X7)
    assert paused.pause(at + timedelta(minutes=20), CALENDAR_24X7) is paused
    met = paused.resume(at + timedelta(minutes=30)).met(at + timedelta(minutes=40), CALENDAR_24X7)
    assert met.met(at + timedelta(minutes=50), CALENDAR_24X7) is met
    assert met.pause(at + timedelta(minutes=50), CALENDAR_24X7) is met
    assert met.resume(at + timedelta(minutes=50)) is met
    assert met.consumed == 20 * 60
    assert met.deadline(CALENDAR_24X7) is None
    assert met.elapsed_business(at + timedelta(days=1), CALENDAR_24X7) == 20 * 60


def test_late_event_consumes_no_time() -> None:
    clock = SlaClock.start("first_response", HOUR, utc(2026, 12, 1, 8))
    assert clock.pause(utc(2026, 12, 1, 7), CALENDAR_24X7).consumed == 0
    assert clock.met(utc(2026, 12, 1, 7), CALENDAR_24X7).consumed == 0


# --- deadlines_for ------------------------------------------------------------------------------


def test_deadlines_for_email_skips_christmas() -> None:
    book = shipped_policy()
    policy, deadlines = deadlines_for(
        book,
        "email",
        "normal",
        "general",
        None,
        datetime.fromisoformat("2026-12-23T19:00:00+01:00"),
    )
    assert (policy.name, policy.calendar.name) == ("email", "support-hours")
    assert deadlines == {
        "first_response": utc(2026, 12, 28, 10),  # Mon 11:00 Prague
        "next_response": utc(2026, 12, 28, 10),
        "resolution": utc(2026, 12, 29, 18),  # Tue 19:00 Prague
    }
    assert all(deadline.tzinfo is UTC for deadline in deadlines.values())


def test_deadlines_for_chat_social_and_urgent_orders() -> None:
    book = shipped_policy()
    created = utc(2026, 11, 27, 21)  # Black Friday, 22:00 Prague: after hours
    chat, chat_deadlines = deadlines_for(book, "chat", "normal", "general", None, created)
    assert chat.name == "chat"
    assert chat_deadlines == {
        "first_response": created + timedelta(minutes=2),
        "next_response": created + timedelta(minutes=2),
    }
    social, social_deadlines = deadlines_for(book, "social", "normal", None, None, created)
    assert social.name == "social"
    assert social_deadlines["first_response"] == prague(2026, 11, 28, 11)  # Sat 09:00 + 2 h
    urgent, urgent_deadlines = deadlines_for(
        book, "email", "urgent", "orders", "order_status", created
    )
    assert urgent.name == "urgent-orders"
    assert urgent_deadlines == {
        "first_response": created + timedelta(minutes=15),
        "next_response": created + timedelta(hours=1),
        "resolution": created + timedelta(hours=4),
    }


def test_deadlines_for_rejects_naive_and_unmatched() -> None:
    book = shipped_policy()
    with pytest.raises(ValueError, match="timezone-aware"):
        deadlines_for(book, "email", "normal", None, None, datetime(2026, 12, 1))
    partial = parse_policy_text(
        "policies:\n  - {name: chat, match: {channel: [chat]}, targets: {first_response: 2m}}\n"
    )
    with pytest.raises(NoPolicyError):
        deadlines_for(partial, "email", "normal", None, None, utc(2026, 12, 1))


# --- properties ---------------------------------------------------------------------------------

CALENDARS = [
    SUPPORT_HOURS,
    CALENDAR_24X7,
    BusinessCalendar(
        "ny-weekdays",
        "America/New_York",
        {day: [Hours.parse("09:00-12:00"), Hours.parse("13:00-17:30")] for day in range(5)},
        [date(2026, 11, 26), date(2026, 12, 25)],
    ),
]
instants = st.integers(int(utc(2026, 1, 1).timestamp()), int(utc(2027, 12, 1).timestamp())).map(
    lambda seconds: datetime.fromtimestamp(seconds, UTC)
)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(
    st.sampled_from(CALENDARS),
    instants,
    st.integers(1, 5 * 86_400),
    st.integers(0, 10 * 86_400),
    st.integers(0, 10 * 86_400),
)
def test_pause_shifts_deadline_by_paused_business_time(
    calendar: BusinessCalendar, start: datetime, budget: int, until_pause: int, paused_for: int
) -> None:
    clock = SlaClock.start("resolution", budget, start)
    original = clock.deadline(calendar)
    assert original is not None
    pause_at = start + timedelta(seconds=until_pause)
    assume(pause_at < original)  # paused before the budget ran out
    resume_at = pause_at + timedelta(seconds=paused_for)
    resumed = clock.pause(pause_at, calendar).resume(resume_at)
    shifted = resumed.deadline(calendar)
    paused_business = calendar.business_seconds(pause_at, resume_at)
    assert shifted == calendar.add(original, paused_business)
    assert shifted is not None
    assert calendar.business_seconds(original, shifted) == paused_business
    assert resumed.elapsed_business(shifted, calendar) == budget


@PROPERTY
@given(st.sampled_from(CALENDARS), instants, st.integers(1, 3 * 86_400), st.integers(0, 8 * 86_400))
def test_status_agrees_with_deadline(
    calendar: BusinessCalendar, start: datetime, budget: int, later: int
) -> None:
    clock = SlaClock.start("first_response", budget, start)
    now = start + timedelta(seconds=later)
    deadline = clock.deadline(calendar)
    assert deadline is not None
    warn = 0.25 * budget
    status = clock.status(now, calendar, warn)
    remaining = clock.remaining(now, calendar)
    assert remaining == (deadline - now).total_seconds()
    if now > deadline:
        assert status == "breached"
    elif remaining <= warn:
        assert status == "at_risk"
    else:
        assert status == "ok"
    assert clock.elapsed_business(now, calendar) + clock.budget_left(now, calendar) == budget
    met = clock.met(now, calendar)
    assert met.overdue == (now > deadline)
    assert met.consumed == clock.elapsed_business(now, calendar)
    # Overdue means the business budget is used up (it can equal it after a closing deadline).
    assert not met.overdue or met.consumed >= budget


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CALENDARS), instants, st.integers(1, 3 * 86_400),
            st.integers(0, 4 * 86_400), st.integers(0, 3),
        ),
        min_size=1, max_size=30,
    )
)
def test_remembered_deadlines_equal_computed_ones(
    cases: list[tuple[BusinessCalendar, datetime, int, int, int]],
) -> None:

    rules = shipped_rules()
    clocks = []
    for calendar, start, budget, consumed, state in cases:
        clock = SlaClock.start("resolution", budget, start)
        clock = msgspec.structs.replace(clock, consumed=float(consumed))
        if state == 1:
            clock = clock.pause(start, calendar)
        elif state == 2:
            clock = clock.met(start, calendar)
        clocks.append((clock, calendar))
    # Twice, interleaved: every answer (fresh or remembered) is the computed one, also for
    # clocks that share a start but differ in budget left or calendar.
    for _ in range(2):
        for clock, calendar in clocks:
            assert rules.deadline(clock, calendar) == clock.deadline(calendar)


def test_remembered_deadlines_stay_bounded() -> None:
    from stream.domain.sla import DEADLINE_MEMO_LIMIT

    rules = shipped_rules()
    start = utc(2026, 12, 1, 9)
    for i in range(DEADLINE_MEMO_LIMIT + 10):
        clock = SlaClock.start("first_response", 60, start + timedelta(seconds=i))
        assert rules.deadline(clock, SUPPORT_HOURS) == clock.deadline(SUPPORT_HOURS)
    assert len(rules._deadlines) <= DEADLINE_MEMO_LIMIT
