from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain.calendar import CALENDAR_24X7, Hours
from stream.domain.sla_policy import (
    NoPolicyError,
    PolicyBook,
    PolicyError,
    PolicyFileError,
    WarnBefore,
    load_policy_book,
    parse_holidays,
    parse_policy_text,
    parse_weekdays,
    validate_policy_text,
)
from tests.unit.conftest import SHIPPED_POLICY as SHIPPED

CONTRACT_EXAMPLE = """\
calendars:
  support-hours:
    timezone: Europe/Prague
    weekly: {mon-fri: ["08:00-20:00"], sat: ["09:00-17:00"]}
    holidays: [2026-12-24, 2026-12-25, 2026-12-26]
policies:                      # first match wins; an empty match matches everything
  - name: urgent-orders
    match: {priority: [urgent], request_type: [order_status]}
    calendar: 24x7             # built in
    targets: {first_response: 15m, next_response: 1h, resolution: 4h}
    warn_before: 25%           # a fraction of the target, or a duration such as 10m
  - name: chat
    match: {channel: [chat]}
    targets: {first_response: 2m}   # no calendar: 24x7
  - name: default
    match: {}
    calendar: support-hours
    targets: {first_response: 4h, resolution: 24h}
"""


def problems(text: str) -> list[str]:
    return [str(problem) for problem in validate_policy_text(textwrap.dedent(text))]


# --- valid files --------------------------------------------------------------------------------


def test_contract_example_parses() -> None:
    book = parse_policy_text(CONTRACT_EXAMPLE)
    assert [policy.name for policy in book.policies] == ["urgent-orders", "chat", "default"]
    assert set(book.calendars) == {"24x7", "support-hours"}
    assert book.warnings == ()
    urgent = book.policy("urgent-orders")
    assert urgent.calendar is CALENDAR_24X7
    assert urgent.targets == {"first_response": 900, "next_response": 3600, "resolution": 14_400}
    assert urgent.warn_seconds(14_400) == 3600
    chat = book.policy("chat")
    assert chat.calendar is CALENDAR_24X7 and chat.targets == {"first_response": 120}
    assert chat.warn_seconds(120) == 30  # default 25 %
    hours = book.calendars["support-hours"]
    assert hours.timezone == "Europe/Prague"
    assert hours.weekly[0] == (Hours(8 * 3600, 20 * 3600),)
    assert hours.weekly[5] == (Hours(9 * 3600, 17 * 3600),)
    assert hours.weekly[6] == ()
    assert hours.holidays == {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}


def test_choose_first_match_wins() -> None:
    book = parse_policy_text(CONTRACT_EXAMPLE)
    assert book.choose("email", "urgent", "orders", "order_status").name == "urgent-orders"
    assert book.choose("chat", "urgent", None, "order_status").name == "urgent-orders"
    assert book.choose("chat", "normal").name == "chat"
    assert book.choose("email", "urgent", "orders", None).name == "default"
    assert book.choose("email", "high", "orders", "order_status").name == "default"


def test_match_on_queue_and_single_values() -> None:
    book = parse_policy_text(
        textwrap.dedent(
            """\
            policies:
              - name: vip
                match: {queue: vip, priority: [high, urgent]}
                targets: {first_response: 30m}
              - name: rest
                targets: {first_response: 4h}
            """
        )
    )
    assert book.choose("email", "high", "vip").name == "vip"
    assert book.choose("email", "normal", "vip").name == "rest"  # match omitted = everything
    assert book.choose("email", "high", None).name == "rest"  # a missing queue matches no list


def test_match_on_conversation_kind() -> None:
    book = parse_policy_text(
        textwrap.dedent(
            """\
            policies:
              - name: live-chat
                match: {channel: chat, conversation: [chat]}
                targets: {first_response: 2m}
              - name: rest
                targets: {first_response: 4h}
            """
        )
    )
    assert book.choose("chat", "normal", None, None, "chat").name == "live-chat"
    assert book.choose("chat", "normal", None, None, "ticket").name == "rest"
    # Callers that do not say what the conversation is match no conversation list.
    assert book.choose("chat", "normal").name == "rest"
    assert problems(
        """\
        policies:
          - match: {conversation: [call]}
            name: p
            targets: {first_response: 1h}
          - name: rest
            targets: {first_response: 1h}
        """
    ) == ["policy.yaml:2:28: unknown conversation 'call' (expected one of ticket, chat)"]


def test_shipped_policy_loads_and_chooses() -> None:
    book = load_policy_book(SHIPPED)
    assert book.warnings == ()
    assert book.policies[-1].match.is_catch_all
    chat = book.choose("chat", "normal", "general", None, "chat")
    assert (chat.name, chat.calendar.name, chat.targets["first_response"]) == ("chat", "24x7", 120)
    # The ticket a chat was converted into is follow-up work on the ticket desk's hours.
    converted = book.choose("chat", "normal", "general", None, "ticket")
    assert (converted.name, converted.targets["first_response"]) == ("default", 4 * 3600)
    email = book.choose("email", "normal", "general", "product_question")
    assert email.name == "email"
    assert (email.calendar.name, email.targets["first_response"]) == ("support-hours", 4 * 3600)
    assert email.targets["resolution"] == 24 * 3600
    social = book.choose("social", "normal", "general", None)
    assert (social.name, social.targets["first_response"]) == ("social", 2 * 3600)
    urgent = book.choose("email", "urgent", "orders", "order_status")
    assert (urgent.name, urgent.targets["resolution"]) == ("urgent-orders", 4 * 3600)
    assert book.choose("web_form", "urgent", "orders", "order_status").name == "urgent-orders"
    assert book.choose("phone", "low", None, None).name == "default"
    assert book.choose("email", "urgent", "orders", "refund").name == "email"
    calendar = book.calendars["support-hours"]
    assert calendar.timezone == "Europe/Prague"
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)} <= (
        calendar.holidays
    )
    for policy in book.policies:
        assert set(policy.targets) <= {"first_response", "next_response", "resolution"}
        assert policy.targets  # every policy defines something


def test_shipped_policy_validates_clean() -> None:
    assert validate_policy_text(SHIPPED.read_text(encoding="utf-8")) == []


# --- errors -------------------------------------------------------------------------------------


def test_unknown_target_is_line_precise() -> None:
    text = CONTRACT_EXAMPLE.replace("targets: {first_response: 2m}", "targets: {first_reply: 2m}")
    assert problems(text) == [
        "policy.yaml:14:15: unknown target 'first_reply' "
        "(expected one of first_response, next_response, resolution)"
    ]


def test_all_errors_are_collected() -> None:
    found = problems(
        """\
        calendars:
          office:
            timezone: Europe/Prag
            weekly:
              mon-fri: ["08:00-20:00", "19:00-21:00"]
              sat: ["9-17"]
              funday: ["10:00-12:00"]
            holidays: [2026-02-30, "2026-12-24..2026-12-20", tomorrow]
            colour: blue
        policies:
          - name: p1
            match: {channel: [sms, email], priority: [critical], team: [a]}
            calendar: offise
            targets: {first_response: 15 minutes, resolution: 0s, first_reply: 1h}
            warn_before: 150%
          - name: p1
            targets: {}
          - nam: p3
            targets: {resolution: 90}
            warn_before: soon
        top: 1
        """
    )
    assert found == [
        "policy.yaml:3:15: unknown timezone 'Europe/Prag' (expected an IANA name such as "
        "Europe/Prague)",
        "policy.yaml:5:32: overlapping hours 08:00-20:00 and 19:00-21:00 on mon-fri",
        "policy.yaml:6:13: invalid hours '9-17': expected HH:MM-HH:MM such as 08:00-20:00",
        "policy.yaml:7:7: unknown weekday 'funday' (expected mon, tue, wed, thu, fri, sat, sun, "
        "a range such as mon-fri or a list such as sat,sun)",
        "policy.yaml:8:16: invalid holiday '2026-02-30': expected a date YYYY-MM-DD or a range "
        "A..B",
        "policy.yaml:8:28: holiday range '2026-12-24..2026-12-20' ends before it starts",
        "policy.yaml:8:54: invalid holiday 'tomorrow': expected a date YYYY-MM-DD or a range A..B",
        "policy.yaml:9:5: unknown key 'colour' in calendar 'office' (expected one of timezone, "
        "weekly, holidays)",
        "policy.yaml:12:23: unknown channel 'sms' (expected one of email, chat, phone, social, "
        "web_form)",
        "policy.yaml:12:47: unknown priority 'critical' (expected one of low, normal, high, "
        "urgent)",
        "policy.yaml:12:58: unknown key 'team' in match (expected one of channel, priority, "
        "queue, request_type, conversation)",
        "policy.yaml:13:15: unknown calendar 'offise' (defined: 24x7, office)",
        "policy.yaml:14:31: invalid duration '15 minutes': expected numbers with units w, d, h, "
        "m, s, largest first, e.g. 90s, 15m, 1h30m, 2d or 1w",
        "policy.yaml:14:55: target resolution must be longer than 0s",
        "policy.yaml:14:59: unknown target 'first_reply' (expected one of first_response, "
        "next_response, resolution)",
        "policy.yaml:15:18: warn_before '150%' is not between 0% and 100% (for a duration give "
        "a unit, such as 10m)",
        "policy.yaml:16:11: duplicate policy name 'p1' (first at line 11)",
        "policy.yaml:17:14: the policy needs at least one target, such as first_response: 4h",
        # The second p1 has no match, so it matches everything and shadows p3.
        "policy.yaml:18:5: this policy can never match: 'p1' above matches everything "
        "(first match wins)",
        "policy.yaml:18:5: unknown key 'nam' in a policy (expected one of name, match, calendar, "
        "targets, warn_before)",
        "policy.yaml:18:5: the policy needs a name",
        "policy.yaml:19:27: duration '90' needs a unit (w, d, h, m, s), e.g. 90s, 15m, 1h30m, "
        "2d or 1w",
        "policy.yaml:20:18: invalid warn_before 'soon': expected a fraction of the target such "
        "as 25% or 0.25, or a duration such as 10m",
        "policy.yaml:21:1: unknown key 'top' in the policy file (expected one of calendars, "
        "policies)",
    ]
    with pytest.raises(PolicyFileError) as raised:
        parse_policy_text(textwrap.dedent(CONTRACT_EXAMPLE.replace("15m", "15x")))
    assert [error.line for error in raised.value.errors] == [10]


def test_a_broken_calendar_is_reported_once() -> None:
    found = problems(
        """\
        calendars:
          office: {timezone: Nowhere/City, weekly: {mon: ["08:00-16:00"]}}
        policies:
          - {name: a, match: {queue: [a]}, calendar: office, targets: {first_response: 1h}}
          - {name: b, match: {queue: [b]}, calendar: ofice, targets: {first_response: 1h}}
          - {name: c, targets: {first_response: 1h}}
        """
    )
    assert found == [
        "policy.yaml:2:22: unknown timezone 'Nowhere/City' (expected an IANA name such as "
        "Europe/Prague)",
        "policy.yaml:5:46: unknown calendar 'ofice' (defined: 24x7, office)",
    ]


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ("{}", "calendar 'c' has no opening hours: its deadlines would never arrive"),
        ("{mon: [], 'sat,sun': []}", "calendar 'c' has no opening hours"),
        ('{mon-fri: ["08:00-20:00"], sat,sun: []}', "quote keys that contain commas: 'sat,sun'"),
        ('{mon-fri: ["08:00-20:00"], fri: ["08:00-16:00"]}', "fri is already set by 'mon-fri'"),
        ('{sat-mon: ["08:00-20:00"]}', "runs backwards: write it as a list such as sat,sun,mon"),
        ('{mon: ["20:00-08:00"]}', "the end must be after the start"),
        ('{mon: "08:00-20:00"}', None),
        ('["08:00-20:00"]', "weekly hours of calendar 'c' must be a mapping"),
    ],
)
def test_weekly_errors(weekly: str, message: str | None) -> None:
    text = f"""\
calendars:
  c: {{timezone: UTC, weekly: {weekly}}}
policies:
  - {{name: p, calendar: c, targets: {{first_response: 1h}}}}
"""
    found = validate_policy_text(text)
    if message is None:
        assert found == []
    else:
        assert len(found) == 1 and message in found[0].message, found
        assert found[0].line == 2


def test_builtin_calendar_cannot_be_redefined() -> None:
    found = problems(
        """\
        calendars:
          24x7: {timezone: UTC, weekly: {mon: ["00:00-24:00"]}}
        policies: [{name: p, targets: {first_response: 1h}}]
        """
    )
    assert found == ["policy.yaml:2:3: calendar '24x7' is built in and cannot be redefined"]


def test_missing_pieces() -> None:
    assert problems("") == ["policy.yaml:1:1: the policy file is empty"]
    assert problems("calendars: {}\n") == [
        "policy.yaml:1:1: missing 'policies': the file needs at least one policy"
    ]
    assert problems("policies: []\n") == [
        "policy.yaml:1:11: 'policies' must be a non-empty list of policies"
    ]
    assert problems("- a\n- b\n") == [
        "policy.yaml:1:1: the policy file must be a mapping (key: value)"
    ]
    assert problems(
        "calendars:\n  c: {weekly: {mon: ['08:00-09:00']}}\npolicies: [{name: p}]\n"
    ) == [
        "policy.yaml:2:3: calendar 'c' needs a timezone (an IANA name such as Europe/Prague)",
        "policy.yaml:3:12: the policy needs targets, such as {first_response: 4h}",
    ]


def test_duplicate_keys_and_empty_match_lists() -> None:
    found = problems(
        """\
        policies:
          - name: p
            name: q
            match: {channel: []}
            targets: {first_response: 1h}
        """
    )
    assert found == [
        "policy.yaml:3:5: duplicate key 'name' in a policy (first at line 2)",
        "policy.yaml:4:13: an empty channel list matches nothing (leave the key out to match all)",
    ]


def test_policy_after_catch_all_is_an_error() -> None:
    found = problems(
        """\
        policies:
          - {name: everything, match: {}, targets: {first_response: 1h}}
          - {name: chat, match: {channel: [chat]}, targets: {first_response: 2m}}
        """
    )
    assert found == [
        "policy.yaml:3:5: this policy can never match: 'everything' above matches everything "
        "(first match wins)",
        "policy.yaml:3:5: warning: the last policy does not match everything: conversations that "
        "match no policy get no SLA clocks (end with a catch-all policy, match: {})",
    ]


def test_missing_catch_all_is_a_warning_and_choose_raises() -> None:
    book = parse_policy_text(
        "policies:\n  - {name: chat, match: {channel: [chat]}, targets: {first_response: 2m}}\n"
    )
    assert [warning.line for warning in book.warnings] == [2]
    assert book.warnings[0].is_warning
    assert book.find("email", "normal") is None
    with pytest.raises(NoPolicyError, match="channel='email'"):
        book.choose("email", "normal")
    assert book.choose("chat", "low").name == "chat"


def test_yaml_syntax_error_is_located() -> None:
    (error,) = validate_policy_text("policies:\n  - name: [unclosed\n  - x\n", "sla.yaml")
    assert str(error) == (
        "sla.yaml:4:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 2, column 11)"
    )


def test_control_characters_are_reported() -> None:
    (error,) = validate_policy_text("policies:\n  - name: a\x07\n")
    assert (error.line, error.column) == (2, 12)
    assert "invalid YAML" in error.message


def test_yaml_implicit_types_do_not_leak() -> None:
    book = parse_policy_text(
        textwrap.dedent(
            """\
            calendars:
              c:
                timezone: UTC
                weekly: {mon: [08:00-20:00]}
                holidays: [2026-12-24]
            policies:
              - name: no        # YAML 1.1 would make this False
                match: {queue: [on, 'off'], request_type: [1.5]}
                calendar: c
                targets: {first_response: 1h}
                warn_before: 0.1
              - name: rest
                targets: {first_response: 1h}
            """
        )
    )
    policy = book.policies[0]
    assert policy.name == "no"
    assert policy.match.queue == frozenset({"on", "off"})
    assert policy.match.request_type == frozenset({"1.5"})
    assert policy.warn_seconds(3600) == pytest.approx(360)


def test_load_policy_book_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(PolicyFileError) as raised:
        load_policy_book(missing)
    assert str(raised.value).startswith(f"{missing}: cannot read")
    broken = tmp_path / "broken.yaml"
    broken.write_text("policies:\n  - name: p\n    targets: {first_reply: 1h}\n", encoding="utf-8")
    with pytest.raises(PolicyFileError) as raised:
        load_policy_book(broken)
    assert str(raised.value) == (
        f"{broken}:3:15: unknown target 'first_reply' "
        "(expected one of first_response, next_response, resolution)"
    )
    assert isinstance(raised.value.errors[0], PolicyError)


# --- small parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon", [0]),
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat,sun", [5, 6]),
        ("mon-wed, fri", [0, 1, 2, 4]),
        ("Sun", [6]),
        ("mon-sun", list(range(7))),
    ],
)
def test_parse_weekdays(spec: str, days: list[int]) -> None:
    assert parse_weekdays(spec) == days


@pytest.mark.parametrize("spec", ["", "monday", "fri-mon", "mon,mon", "mon-fri,wed", "mon-", "1"])
def test_parse_weekdays_rejects(spec: str) -> None:
    with pytest.raises(ValueError, match="weekday"):
        parse_weekdays(spec)


def test_parse_holidays() -> None:
    assert parse_holidays("2027-01-01") == [date(2027, 1, 1)]
    assert parse_holidays("2026-12-24..2026-12-26") == [
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
    ]
    with pytest.raises(ValueError, match="longer than 366 days"):
        parse_holidays("2026-01-01..2028-01-01")
    for bad in ["2026-1-1", "20261224", "2026-12-24..", "..2026-12-24", "2026-13-01"]:
        with pytest.raises(ValueError, match="holiday"):
            parse_holidays(bad)


@pytest.mark.parametrize(
    ("text", "target", "seconds", "shown"),
    [
        ("25%", 3600, 900, "25%"),
        ("0.25", 3600, 900, "25%"),
        ("12.5%", 800, 100, "12.5%"),
        ("0%", 3600, 0, "0%"),
        ("100%", 3600, 3600, "100%"),
        ("10m", 3600, 600, "10m"),
        ("10m", 60, 600, "10m"),  # longer than the target: at risk from the start
        ("1h30m", 86_400, 5400, "1h30m"),
    ],
)
def test_warn_before(text: str, target: float, seconds: float, shown: str) -> None:
    warn = WarnBefore.parse(text)
    assert warn.warn_seconds(target) == seconds
    assert str(warn) == shown


@pytest.mark.parametrize("text", ["150%", "1.5", "-10%", "soon", "", "10", "25 percent"])
def test_warn_before_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="warn_before"):
        WarnBefore.parse(text)


# --- robustness ---------------------------------------------------------------------------------

TOKENS = [
    "calendars:", "policies:", "\n", "  ", "    ", "- ", "name: ", "match: ", "targets: ",
    "calendar: ", "warn_before: ", "timezone: ", "weekly: ", "holidays: ", "channel: ",
    "priority: ", "first_response: ", "resolution: ", "{", "}", "[", "]", ", ", ":", "'", '"',
    "#", "&a ", "*a", "!!int ", "!custom ", "? ", "|", ">", "---", "...", "~", "null", "25%",
    "15m", "0s", "mon-fri", "sat,sun", "08:00-20:00", "00:00-24:00", "2026-12-24", "24x7",
    "support-hours", "Europe/Prague", "chat", "urgent", "x", "1", "\t", "%YAML 1.1", "<<: *a",
    "\x00", "é", "\ufeff",
]  # fmt: skip


def assert_only_policy_errors(text: str) -> None:
    found = validate_policy_text(text)
    assert all(isinstance(problem, PolicyError) for problem in found)
    assert all(problem.line >= 1 and problem.column >= 1 for problem in found)
    try:
        book = parse_policy_text(text)
    except PolicyFileError as exc:
        assert exc.errors and all(not error.is_warning for error in exc.errors)
        assert [str(e) for e in exc.errors] == [str(p) for p in found if not p.is_warning]
    else:
        assert isinstance(book, PolicyBook)
        assert all(problem.is_warning for problem in found)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yamlish_text_only_produces_policy_errors(text: str) -> None:
    assert_only_policy_errors(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_only_produces_policy_errors(text: str) -> None:
    assert_only_policy_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_shipped_policy_only_produces_policy_errors(data: st.DataObject) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.sampled_from(["", *TOKENS]))
    assert_only_policy_errors(text[:start] + insert + text[end:])


def test_deeply_nested_yaml_is_an_error_not_a_crash() -> None:
    found = validate_policy_text("[" * 1000)
    assert len(found) == 1 and "invalid YAML" in found[0].message
