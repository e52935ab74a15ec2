"""Hostile input fuzzing of `stream.domain.events.decode` (hypothesis).

The property (CONTRACT §1 "bad input never stops the worker"): whatever the bytes, `decode`
returns a `Decoded` (a well-formed event with a UTC time no more than 7 days ahead and a message
key) or a `Rejection` whose reason is one of the bounded `REJECT_REASONS`. It never raises.

Strategies: random bytes; valid events truncated anywhere; nesting 1k–100k deep (bare, inside a
field, after the fields); huge strings in every field; every field replaced by any JSON value
(including NaN/±Infinity, which Python's json writes as bare tokens); generated timestamps from
year 1 to 9999 with every offset, and arbitrary text/epoch-like strings as timestamps; duplicate
keys in any order; lone surrogates, escaped and raw; the seeded mix of tests/hostile.py.

Found and fixed (commit 7ae6c00): year 1 east of UTC / year 9999 west of UTC made
`parse_timestamp` raise OverflowError, which killed the worker's agent for the topic; timestamps
are now rejected as `bad_timestamp` outside 2000–2100. `decode` still accepts decimal amounts
beyond float range (rejected as invalid_field).
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stream.domain.events import (
    REJECT_REASONS,
    STREAM_OF_TYPE,
    Decoded,
    OrderPlaced,
    Rejection,
    conversation_key,
    decode,
)
from tests.hostile import (
    OVERFLOWING_TIMESTAMPS,
    TYPES,
    VALID,
    hostile_messages,
    nested,
    valid_event,
)
from tests.unit.conftest import BLACK_FRIDAY_NOON as NOW
from tests.unit.conftest import CLOCK

now = CLOCK.now

STREAMS = [None, "tickets", "chats", "agents", "commerce"]
FUZZ = settings(
    max_examples=250, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(raw: bytes | None, stream: str | None = None, max_bytes: int = 64 * 1024) -> Any:
    """decode() must not raise and must return a well-formed result."""
    result = decode(raw, now, stream=stream, max_bytes=max_bytes)
    assert isinstance(result, Decoded | Rejection), type(result)
    if isinstance(result, Rejection):
        assert result.reason in REJECT_REASONS, result
        assert isinstance(result.detail, str)
        result.detail.encode("utf-8", "replace")  # what the DLQ header does with it
        return result
    assert result.occurred_at.utcoffset() == timedelta(0)
    assert result.occurred_at - NOW <= timedelta(days=7)
    assert conversation_key(result.event)
    assert stream is None or STREAM_OF_TYPE[result.event.__struct_config__.tag] == stream
    msgspec.json.encode(result.event)
    return result


def dump(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
types = st.sampled_from(TYPES)
streams = st.sampled_from(STREAMS)


# --- raw bytes -----------------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=4096), streams)
@example(b"\xff\xfe\x00", None)
@example(b"", "tickets")
def test_random_bytes(raw: bytes, stream: str | None) -> None:
    check(raw, stream)


@FUZZ
@given(types, st.data(), streams)
def test_truncated_valid_events(type_name: str, data: st.DataObject, stream: str | None) -> None:
    raw = dump(valid_event(type_name))
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert check(raw[:cut], stream).reason in ("invalid_json", "not_object")


@FUZZ
@given(types, st.data())
def test_valid_events_with_random_bytes_flipped(type_name: str, data: st.DataObject) -> None:
    raw = bytearray(dump(valid_event(type_name)))
    for _ in range(data.draw(st.integers(1, 5))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    check(bytes(raw), data.draw(streams))


# --- structure -----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [1_000, 10_000, 30_000])
@pytest.mark.parametrize("obj", [False, True])
def test_deep_nesting(depth: int, obj: bool) -> None:
    raw = nested(depth, obj=obj)
    expected = {"oversized"} if len(raw) > 64 * 1024 else {"invalid_json", "not_object"}
    assert check(raw).reason in expected


@pytest.mark.parametrize("depth", [10_000, 100_000, 1_000_000])
def test_very_deep_nesting_beyond_the_size_limit(depth: int) -> None:
    # With the size limit raised: the parser's recursion guard, not the limit, must stop it.
    check(nested(depth), max_bytes=3 * depth)
    check(nested(depth, obj=True), max_bytes=8 * depth)


@pytest.mark.parametrize("type_name", TYPES)
def test_deep_nesting_inside_a_valid_event(type_name: str) -> None:
    inner = nested(10_000).decode()
    field = next(iter(VALID[type_name]))
    in_field = dump(valid_event(type_name, **{field: "@@"})).replace(b'"@@"', inner.encode())
    assert check(in_field).reason in ("invalid_json", "invalid_field")
    extra = dump(valid_event(type_name))[:-1] + b', "extra": ' + inner.encode() + b"}"
    check(extra)  # unknown fields are ignored: valid or invalid_json, never a crash


@FUZZ
@given(types, st.data(), st.sampled_from([200, 300, 5_000, 70_000]),
       st.characters(codec="utf-8"))
def test_huge_strings_in_every_field(
    type_name: str, data: st.DataObject, size: int, char: str
) -> None:
    body = valid_event(type_name)
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = char * size
    raw = dump(body)
    result = check(raw, max_bytes=data.draw(st.sampled_from([64 * 1024, 1 << 20])))
    if len(raw) > 1 << 20:
        assert result.reason == "oversized"


@FUZZ
@given(types, st.data(), json_values, streams)
def test_any_json_value_in_any_field(
    type_name: str, data: st.DataObject, value: Any, stream: str | None
) -> None:
    body = valid_event(type_name)
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = value
    check(dump(body), stream)


@FUZZ
@given(types, st.data(), st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400",
                                          "1e-400", "-0", "123456789012345678901234567890"]))
def test_nan_infinity_and_huge_numbers(type_name: str, data: st.DataObject, token: str) -> None:
    body = valid_event(type_name)
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = "@@"
    check(dump(body).replace(b'"@@"', token.encode()))


@FUZZ
@given(types, st.lists(st.sampled_from(["type", "event_id", "occurred_at", "ticket_id",
                                        "chat_id", "queue", "score"]), min_size=1, max_size=4),
       st.lists(json_values, min_size=4, max_size=4), st.booleans())
def test_duplicate_keys(
    type_name: str, keys: list[str], values: list[Any], first: bool
) -> None:
    body = dump(valid_event(type_name))
    dupes = b"".join(
        b'"' + k.encode() + b'": ' + dump(v) + b", " for k, v in zip(keys, values, strict=False)
    )
    raw = (b"{" + dupes + body[1:]) if first else (body[:-1] + b", " + dupes[:-2] + b"}")
    check(raw)


@FUZZ
@given(types, st.data(), st.text(alphabet=st.characters(categories=["Cs"]), min_size=1,
                                 max_size=4), st.booleans())
def test_lone_surrogates(type_name: str, data: st.DataObject, surrogates: str, raw_utf8: bool
                         ) -> None:
    body = valid_event(type_name)
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = f"x{surrogates}y"
    if raw_utf8:  # invalid UTF-8 bytes (CESU-style surrogates)
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    else:  # \udXXX escapes
        raw = json.dumps(body, ensure_ascii=True).encode()
    check(raw)


# --- timestamps ------------------------------------------------------------------------------
@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    year = draw(st.integers(1, 9999))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(
        st.integers(0, 59))
    fraction = draw(st.sampled_from(["", ".5", ".123456", ".123456789", ".0000000000001"]))
    sign = draw(st.sampled_from(["Z", "z", "+", "-"]))
    offset = sign if sign in "Zz" else (
        f"{sign}{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}")
    sep = draw(st.sampled_from(["T", "t", " "]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}" \
           f"{fraction}{offset}"


@FUZZ
@given(types, rfc3339(), streams)
@example("ticket.created", "0001-01-01T00:00:00Z", None)
@example("ticket.created", "9999-12-31T23:59:59Z", None)
@example("ticket.created", "0001-01-01T00:00:00-14:00", None)
@example("ticket.created", "9999-12-31T23:59:59+14:00", None)
@example("chat.requested", "2026-11-27T10:00:00+23:59", None)
def test_generated_timestamps(type_name: str, stamp: str, stream: str | None) -> None:
    result = check(dump(valid_event(type_name, occurred_at=stamp)), stream)
    if isinstance(result, Decoded):
        assert result.occurred_at == datetime.fromisoformat(stamp.upper()).astimezone(UTC)


@FUZZ
@given(types, st.one_of(
    st.text(max_size=70),
    st.sampled_from(["1e20", "1e400", "-1", "0", "1700000000", "1700000000000",
                     "100000000000000000000", "NaN", "Infinity", "2026-11-27T10:00:00",
                     "2026-11-27", "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z"]),
))
def test_arbitrary_text_as_timestamp(type_name: str, stamp: str) -> None:
    result = check(dump(valid_event(type_name, occurred_at=stamp)))
    if stamp in ("1e20", "1e400", "1700000000", "NaN", "2026-11-27T10:00:00", "2026-11-27"):
        assert result.reason == "bad_timestamp"


@FUZZ
@given(types, st.one_of(st.integers(), st.floats(), st.none(), st.booleans(),
                        st.just(1e20), st.just(["2026-11-27T10:00:00Z"])))
def test_timestamp_of_the_wrong_type(type_name: str, stamp: Any) -> None:
    # NaN and ±Infinity are written as bare tokens, which are not JSON.
    assert check(dump(valid_event(type_name, occurred_at=stamp))).reason in (
        "invalid_field", "invalid_json")


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(OVERFLOWING_TIMESTAMPS), types)
def test_timestamps_that_overflow_utc_are_rejected(stamp: str, type_name: str) -> None:
    # Was a crash (OverflowError out of decode, the topic's agent died): fixed in 7ae6c00.
    result = check(dump(valid_event(type_name, occurred_at=stamp)))
    assert result.reason == "bad_timestamp"


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "1066-10-14T09:00:00+00:00",
                                   "1899-12-31T23:59:59Z", "9999-12-31T23:59:59Z"])
def test_timestamps_far_from_now_never_reach_the_domain(stamp: str) -> None:
    # Accepted year-1 events overflowed date arithmetic in the domain (calendar, commerce).
    assert check(dump(valid_event("ticket.created", occurred_at=stamp))).reason in (
        "bad_timestamp", "future_timestamp")


# --- values the domain cannot use ------------------------------------------------------------
@pytest.mark.parametrize("amount", ["1e400", "1e309", "9" * 39, "1e12", "123456789012345"])
def test_amounts_that_overflow_a_float_are_rejected(amount: str) -> None:
    body = valid_event("order.placed", amount=amount)
    result = check(dump(body))
    if isinstance(result, Decoded):
        assert isinstance(result.event, OrderPlaced)
        value = float(Decimal(str(result.event.amount)))  # what Commerce counts
        assert math.isfinite(value), f"amount {amount!r} accepted as {value}"


# --- the seeded mix the live worker gets -----------------------------------------------------
def test_seeded_hostile_mix() -> None:
    reasons: dict[str, set[str]] = {}
    for kind, type_name, raw in hostile_messages(random.Random(7), 3000):
        result = check(raw, STREAM_OF_TYPE[type_name])
        reasons.setdefault(kind, set()).add(
            result.reason if isinstance(result, Rejection) else "accepted")
    assert reasons["oversized"] == {"oversized"}
    assert reasons["null"] == {"invalid_json"}
    assert reasons["truncated"] <= {"invalid_json", "not_object"}
    assert "accepted" not in reasons["missing"] | reasons["unknown_type"]
