from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("2m", 120),
        ("15m", 900),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172_800),
        ("1w", 604_800),
        ("1w2d3h4m5s", 604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5),
        ("0s", 0),
        ("1.5h", 5400),
        (" 10m ", 600),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", " ", "h", "10", "1.5", "-5m", "10x", "30m1h", "1h1h", "1H", "1 h", "m5", "1e3s"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_number_without_unit_says_so() -> None:
    with pytest.raises(ValueError, match="needs a unit"):
        parse_duration("900")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (86_400, "1d"),
        (10 * 86_400, "10d"),
        (90.5, "1m30.5s"),
        (0.25, "0.25s"),
        (-120, "-2m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_rejects_non_finite() -> None:
    with pytest.raises(ValueError):
        format_duration(float("nan"))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10 * 365 * 86_400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_parse_never_raises_anything_but_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert seconds >= 0
