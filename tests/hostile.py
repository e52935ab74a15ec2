"""Hostile input for the decoder and the live worker (tests/unit/test_fuzz_decoder.py,
tests/integration/test_hardening_hostile_input.py).

`hostile_messages(rng, n)` makes a seeded mix of the classes an attacker or a broken producer
sends: random bytes, truncated JSON of valid events, deep nesting, huge strings, wrong types per
field, extreme and malformed timestamps, NaN/Infinity, duplicate keys, lone surrogates, nulls
and oversized messages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

# One valid body per CONTRACT §1 type (required fields only), keyed by the message-key field.
VALID: dict[str, dict[str, Any]] = {
    "ticket.created": {"ticket_id": "T1", "channel": "email", "priority": "high",
                       "queue": "orders", "customer_id": "K1"},
    "ticket.replied": {"ticket_id": "T1", "author": "agent", "agent_id": "A1"},
    "ticket.status_changed": {"ticket_id": "T1", "status": "solved"},
    "ticket.assigned": {"ticket_id": "T1", "agent_id": "A1"},
    "ticket.priority_changed": {"ticket_id": "T1", "priority": "urgent"},
    "ticket.rated": {"ticket_id": "T1", "score": 5},
    "ticket.effort_rated": {"ticket_id": "T1", "score": 1},
    "chat.requested": {"chat_id": "C1", "queue": "returns"},
    "chat.accepted": {"chat_id": "C1", "agent_id": "A1"},
    "chat.message": {"chat_id": "C1", "author": "customer"},
    "chat.transferred": {"chat_id": "C1", "queue": "payments"},
    "chat.ended": {"chat_id": "C1"},
    "chat.abandoned": {"chat_id": "C1"},
    "chat.rated": {"chat_id": "C1", "score": 3},
    "chat.converted": {"chat_id": "C1", "ticket_id": "T9"},
    "agent.status_changed": {"agent_id": "A1", "status": "online", "queues": ["orders"]},
    "order.placed": {"order_id": "O1", "customer_id": "K1", "amount": "19.90",
                     "currency": "EUR"},
    "campaign.shown": {"campaign_id": "CMP1"},
    "selfservice.session": {"session_id": "S1", "resolved": True},
}
TYPES = sorted(VALID)
AT = "2026-11-27T11:00:00Z"

# Values of every JSON type, including edge cases, for "wrong type" mutations.
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**40, 1.5, -0.0, 1e308, "", " ", "x" * 300,
    [], [None], {}, {"a": {"b": []}}, "\u0000", "\U0001f600" * 70, ["orders"] * 3,
]

# Timestamps that are valid RFC 3339 only in form, or not at all.
ODD_TIMESTAMPS = [
    "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59Z", "1e20", "100000000000000000000", "-1", "NaN", "Infinity", "",
    "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z",
    "2026-11-27T10:00:00+24:00", "2026-11-27T10:00:00", "2026-11-27", "10:00:00Z",
    "2026-11-27T10:00:00.1234567891234Z", "2026-11-27T10:00:00Z" + " " * 50,
    "２０２６-11-27T10:00:00Z", "2026-11-27T10:00:00\u0000Z", "x" * 65,
]
# Year 1 east of UTC / year 9999 west of UTC: converting to UTC leaves datetime's range (this
# used to raise out of decode() and kill the worker's agent; fixed in 7ae6c00).
OVERFLOWING_TIMESTAMPS = [
    "0001-01-01T00:00:00+14:00", "0001-01-01T00:59:59+01:00", "0001-01-01T10:00:00+23:59",
    "9999-12-31T23:59:59-14:00", "9999-12-31T20:00:00-04:00",
]


def valid_event(type_name: str, n: int = 0, **override: Any) -> dict[str, Any]:
    return {"type": type_name, "event_id": f"h-{n}", "occurred_at": AT, **VALID[type_name],
            **override}


def key_field(type_name: str) -> str:
    return next(f for f in ("ticket_id", "chat_id", "agent_id", "customer_id", "campaign_id",
                            "session_id") if f in VALID[type_name])


def nested(depth: int, leaf: str = "1", obj: bool = False) -> bytes:
    if obj:
        return (b'{"a":' * depth) + leaf.encode() + (b"}" * depth)
    return (b"[" * depth) + leaf.encode() + (b"]" * depth)


def hostile_messages(rng: random.Random, n: int) -> Iterator[tuple[str, str, bytes | None]]:
    """(class, event type it pretends to be, raw value) — `n` seeded hostile messages."""
    makers = [
        _random_bytes, _truncated, _deep, _huge_string, _wrong_type, _odd_timestamp, _nan,
        _duplicate_keys, _surrogate, _missing, _unknown_type, _not_object, _null, _oversized,
    ]
    for i in range(n):
        maker = makers[i % len(makers)] if i < len(makers) else rng.choice(makers)
        type_name = rng.choice(TYPES)
        yield maker.__name__.strip("_"), type_name, maker(rng, type_name, i)


def _dump(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _random_bytes(rng: random.Random, type_name: str, i: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))


def _truncated(rng: random.Random, type_name: str, i: int) -> bytes:
    raw = _dump(valid_event(type_name, i))
    return raw[: rng.randrange(1, len(raw) - 1)]


def _deep(rng: random.Random, type_name: str, i: int) -> bytes:
    depth = rng.choice([1000, 10_000, 30_000])
    kind = rng.randrange(3)
    if kind == 0:
        return nested(depth, obj=rng.random() < 0.5)
    inner = nested(depth // 2).decode()
    body = _dump(valid_event(type_name, i, request_type="@@"))
    return body.replace(b'"@@"', inner.encode()) if kind == 1 else body[:-1] + (
        b', "extra": ' + inner.encode() + b"}")


def _huge_string(rng: random.Random, type_name: str, i: int) -> bytes:
    field = rng.choice([key_field(type_name), "event_id", "type", "occurred_at", "queue"])
    size = rng.choice([300, 5_000, 60_000])
    return _dump(valid_event(type_name, i, **{field: rng.choice("x\u00e9\U0001f600") * size}))


def _wrong_type(rng: random.Random, type_name: str, i: int) -> bytes:
    body = valid_event(type_name, i)
    field = rng.choice([f for f in body if f != "type"])
    candidates = [v for v in ODD_VALUES if not isinstance(v, str) or field != "event_id"]
    body[field] = rng.choice(candidates)
    if (isinstance(body[field], str) and body[field] == "") or body[field] is None:
        body[field] = 12345  # keep it a sure rejection (an empty optional string may be valid)
    return _dump(body)


def _odd_timestamp(rng: random.Random, type_name: str, i: int) -> bytes:
    return _dump(valid_event(type_name, i, occurred_at=rng.choice(
        ODD_TIMESTAMPS + OVERFLOWING_TIMESTAMPS)))


def _nan(rng: random.Random, type_name: str, i: int) -> bytes:
    field = rng.choice([key_field(type_name), "occurred_at", "event_id"])
    token = rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
    body = _dump(valid_event(type_name, i, **{field: "@@"}))
    return body.replace(b'"@@"', token.encode())


def _duplicate_keys(rng: random.Random, type_name: str, i: int) -> bytes:
    body = _dump(valid_event(type_name, i))
    # The last duplicate wins in most parsers: make it a bad one.
    return body[:-1] + b', "type": ' + _dump(rng.choice([17, "ticket.deleted", None])) + b"}"


def _surrogate(rng: random.Random, type_name: str, i: int) -> bytes:
    field = rng.choice([key_field(type_name), "event_id", "type"])
    body = _dump(valid_event(type_name, i, **{field: "@@"}))
    if rng.random() < 0.5:
        return body.replace(b'"@@"', b'"\\ud800x"')  # an escaped lone surrogate
    return body.replace(b'"@@"', b'"\xed\xa0\x80"')  # a raw (invalid UTF-8) surrogate


def _missing(rng: random.Random, type_name: str, i: int) -> bytes:
    body = valid_event(type_name, i)
    del body[rng.choice(["event_id", "occurred_at", "type", key_field(type_name)])]
    return _dump(body)


def _unknown_type(rng: random.Random, type_name: str, i: int) -> bytes:
    return _dump(valid_event(type_name, i, type=rng.choice(
        ["ticket.deleted", "TICKET.CREATED", "ticket.created ", "", "__proto__", "x" * 200])))


def _not_object(rng: random.Random, type_name: str, i: int) -> bytes:
    return _dump(rng.choice([[valid_event(type_name, i)], "ticket.created", 42, None, True]))


def _null(rng: random.Random, type_name: str, i: int) -> bytes | None:
    return None if rng.random() < 0.5 else b""


def _oversized(rng: random.Random, type_name: str, i: int) -> bytes:
    return _dump(valid_event(type_name, i, note="y" * (65 * 1024)))
