"""CONTRACT §1: decoding, validation, rejection reasons and message keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stream.domain import events as ev
from stream.domain.events import (
    EVENT_TYPES,
    REJECT_REASONS,
    STREAM_OF_TYPE,
    Decoded,
    Rejection,
    conversation_key,
    decode,
    key_for_dict,
)
from tests.unit.conftest import AT, CLOCK, DROP, EXAMPLES, event
from tests.unit.conftest import BLACK_FRIDAY_NOON as NOW

now = CLOCK.now


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def rejected(value: bytes | None, **kwargs: Any) -> Rejection:
    result = decode(value, now, **kwargs)
    assert isinstance(result, Rejection), f"accepted: {result}"
    assert result.reason in REJECT_REASONS
    return result


# --- valid events ------------------------------------------------------------------------
# The type list of CONTRACT §1, copied from the contract (it has 19 types).
CONTRACT_TYPES = {
    "tickets": ["ticket.created", "ticket.replied", "ticket.status_changed", "ticket.assigned",
                "ticket.priority_changed", "ticket.rated", "ticket.effort_rated"],
    "chats": ["chat.requested", "chat.accepted", "chat.message", "chat.transferred", "chat.ended",
              "chat.abandoned", "chat.rated", "chat.converted"],
    "agents": ["agent.status_changed"],
    "commerce": ["order.placed", "campaign.shown", "selfservice.session"],
}


def test_examples_cover_every_contract_type() -> None:
    contract = {name: stream for stream, names in CONTRACT_TYPES.items() for name in names}
    assert len(contract) == 19
    assert set(EXAMPLES) == set(contract) == set(EVENT_TYPES)
    assert contract == STREAM_OF_TYPE


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_every_type_decodes_from_a_valid_example(type_name: str) -> None:
    result = decode(raw(event(type_name)), now, stream=STREAM_OF_TYPE[type_name])
    assert isinstance(result, Decoded), result
    assert type(result.event) is EVENT_TYPES[type_name]
    assert result.event.event_id == f"e-{type_name}"
    assert result.event.schema == "support.v1"
    assert result.occurred_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    for name, value in EXAMPLES[type_name][0].items():
        assert getattr(result.event, name) == value


def test_optional_fields_take_contract_defaults() -> None:
    def decoded(type_name: str, **override: Any) -> Any:
        result = decode(raw(event(type_name, **override)), now)
        assert isinstance(result, Decoded), result
        return result.event

    assert decoded("ticket.replied").public is True
    assert decoded("ticket.replied", public=False).public is False
    assert decoded("ticket.status_changed").resolved_by == "agent"
    assert decoded("ticket.status_changed", resolved_by="bot").resolved_by == "bot"
    assert decoded("chat.requested").priority == "normal"
    # Omitted max_chats / status mean "unchanged" (a new agent: 1 / offline; test_presence.py).
    assert decoded("agent.status_changed").max_chats is None
    assert decoded("agent.status_changed", max_chats=3).max_chats == 3
    # chat.ended: the resolver depends on the chat's state, so decoding leaves it open.
    assert decoded("chat.ended").resolved_by is None
    assert decoded("chat.ended", resolved_by="bot").resolved_by == "bot"
    assert decoded("ticket.created", schema="support.v2").schema == "support.v2"
    created = decoded("ticket.created", request_type="order_status", customer_id="K1")
    assert (created.request_type, created.customer_id, created.agent_id) == (
        "order_status", "K1", None,
    )


def test_timestamp_offsets_are_normalised_to_utc() -> None:
    result = decode(raw(event("chat.ended", occurred_at="2026-11-27T13:30:00+01:00")), now)
    assert isinstance(result, Decoded)
    assert result.occurred_at == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert result.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T11:00:00Z", datetime(2026, 11, 27, 11, 0, tzinfo=UTC)),
        ("2026-11-27T11:00:00.5Z", datetime(2026, 11, 27, 11, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-27T11:00:00.123456789Z", datetime(2026, 11, 27, 11, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-27T11:00:00-00:00", datetime(2026, 11, 27, 11, 0, tzinfo=UTC)),
        ("2026-11-27T16:30:00+05:30", datetime(2026, 11, 27, 11, 0, tzinfo=UTC)),
    ],
)
def test_rfc3339_variants_are_accepted(text: str, expected: datetime) -> None:
    result = decode(raw(event("chat.ended", occurred_at=text)), now)
    assert isinstance(result, Decoded), result
    assert result.occurred_at == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-W48-5T11:00:00Z",  # ISO 8601 week date
        "2026-331T11:00:00Z",  # ordinal date
        "20261127T110000Z",  # basic format
        "2026-11-27T11:00Z",  # no seconds
        "2026-11-27T11:00:00+0100",  # offset without a colon
        "2026-11-27T11:00:00+01",
        "2026-11-27",
        "2026-11-27T11:00:00.Z",
        "２０２６-11-27T11:00:00Z",  # non-ASCII digits
    ],
)
def test_iso8601_forms_outside_rfc3339_are_rejected(text: str) -> None:
    assert rejected(raw(event("chat.ended", occurred_at=text))).reason == "bad_timestamp"


def test_rfc3339_lower_case_separators_are_accepted() -> None:
    result = decode(raw(event("chat.ended", occurred_at="2026-11-27t11:00:00z")), now)
    assert isinstance(result, Decoded), result


@pytest.mark.parametrize("amount", ["0", "19.90", 0, 12.5, 7])
def test_order_amount_accepts_decimal_strings_and_numbers(amount: Any) -> None:
    assert isinstance(decode(raw(event("order.placed", amount=amount)), now), Decoded)


def test_unknown_extra_fields_are_ignored() -> None:
    assert isinstance(decode(raw(event("chat.abandoned", note="x")), now), Decoded)


def test_message_at_the_size_limit_is_accepted_one_byte_more_is_not() -> None:
    base = raw(event("chat.abandoned", note=""))
    pad = 64 * 1024 - len(base)
    exact = raw(event("chat.abandoned", note="x" * pad))
    assert len(exact) == 64 * 1024
    assert isinstance(decode(exact, now), Decoded)
    over = raw(event("chat.abandoned", note="x" * (pad + 1)))
    assert rejected(over).reason == "oversized"


# --- rejections --------------------------------------------------------------------------
BAD: list[tuple[str, bytes | None]] = [
    ("oversized", raw(event("ticket.rated", note="x" * (64 * 1024)))),
    ("invalid_json", b'{"type": "ticket.rated", "event_id": '),
    ("invalid_json", b"\xff\xfe not utf-8"),
    ("invalid_json", b""),
    ("invalid_json", None),
    ("invalid_json", b"{'single': 'quotes'}"),
    ("not_object", b'["ticket.rated", "T1"]'),
    ("not_object", b"42"),
    ("not_object", b'"ticket.rated"'),
    ("not_object", b"null"),
    ("unknown_type", raw(event("ticket.rated", type="ticket.deleted"))),
    ("unknown_type", raw(event("ticket.rated", type="TICKET.RATED"))),
    ("missing_field", raw(event("ticket.rated", type=DROP))),
    ("missing_field", raw(event("ticket.rated", ticket_id=DROP))),
    ("missing_field", raw(event("ticket.rated", event_id=DROP))),
    ("missing_field", raw(event("ticket.rated", occurred_at=DROP))),
    ("missing_field", raw(event("ticket.created", queue=DROP))),
    ("missing_field", raw(event("agent.status_changed", queues=DROP))),
    ("missing_field", raw(event("chat.transferred", queue=DROP))),
    ("invalid_field", raw(event("ticket.rated", type=7))),
    ("invalid_field", raw(event("ticket.created", channel="fax"))),
    ("invalid_field", raw(event("ticket.created", priority="critical"))),
    ("invalid_field", raw(event("ticket.status_changed", status="done"))),
    ("invalid_field", raw(event("ticket.status_changed", resolved_by="customer"))),
    ("invalid_field", raw(event("chat.ended", resolved_by="self_service"))),
    ("invalid_field", raw(event("ticket.replied", author="system"))),
    ("invalid_field", raw(event("agent.status_changed", status="busy"))),
    ("invalid_field", raw(event("ticket.rated", ticket_id=17))),
    ("invalid_field", raw(event("ticket.rated", ticket_id=""))),
    ("invalid_field", raw(event("ticket.rated", score=0))),
    ("invalid_field", raw(event("ticket.rated", score=6))),
    ("invalid_field", raw(event("chat.rated", score=6))),
    ("invalid_field", raw(event("ticket.effort_rated", score=0))),
    ("invalid_field", raw(event("ticket.rated", score="5"))),
    ("invalid_field", raw(event("ticket.rated", score=4.5))),
    ("invalid_field", raw(event("ticket.rated", event_id="x" * 129))),
    ("invalid_field", raw(event("ticket.rated", event_id=""))),
    ("invalid_field", raw(event("ticket.rated", occurred_at=1764241200))),
    ("invalid_field", raw(event("order.placed", amount=-1))),
    ("invalid_field", raw(event("order.placed", amount="-0.01"))),
    ("invalid_field", raw(event("order.placed", amount="lots"))),
    ("invalid_field", raw(event("order.placed", amount="NaN"))),
    ("invalid_field", raw(event("order.placed", amount=True))),
    ("invalid_field", raw(event("order.placed", currency="eur"))),
    ("invalid_field", raw(event("order.placed", currency="EURO"))),
    ("invalid_field", raw(event("order.placed", currency="E1R"))),
    ("invalid_field", raw(event("ticket.replied", public="true"))),
    ("invalid_field", raw(event("selfservice.session", resolved="yes"))),
    ("invalid_field", raw(event("selfservice.session", resolved=1))),
    ("invalid_field", raw(event("agent.status_changed", max_chats=0))),
    ("invalid_field", raw(event("agent.status_changed", queues="orders"))),
    ("bad_timestamp", raw(event("ticket.rated", occurred_at="yesterday"))),
    ("bad_timestamp", raw(event("ticket.rated", occurred_at="2026-11-27T10:00:00"))),
    ("bad_timestamp", raw(event("ticket.rated", occurred_at="2026-11-27"))),
    ("bad_timestamp", raw(event("ticket.rated", occurred_at="2026-13-45T10:00:00Z"))),
    ("bad_timestamp", raw(event("ticket.rated", occurred_at=""))),
    ("future_timestamp", raw(event("ticket.rated", occurred_at="2026-12-04T12:00:01Z"))),
    ("future_timestamp", raw(event("ticket.rated", occurred_at="2027-01-01T00:00:00Z"))),
]


@pytest.mark.parametrize(("reason", "value"), BAD, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BAD)])
def test_bad_input_is_rejected_with_its_reason(reason: str, value: bytes | None) -> None:
    result = rejected(value)
    assert result.reason == reason, result.detail
    assert result.detail


def test_every_reject_reason_has_an_input() -> None:
    # key_mismatch needs the Kafka message key, and processing_error is an exception while
    # applying a decoded event: Pipeline.process produces both (component tests).
    produced = {reason for reason, _ in BAD} | {"wrong_stream", "key_mismatch", "processing_error"}
    assert produced == set(REJECT_REASONS)


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_types_are_rejected_on_another_streams_topic(type_name: str) -> None:
    own = STREAM_OF_TYPE[type_name]
    for stream in ("tickets", "chats", "agents", "commerce"):
        result = decode(raw(event(type_name)), now, stream=stream)
        if stream == own:
            assert isinstance(result, Decoded)
        else:
            assert isinstance(result, Rejection)
            assert result.reason == "wrong_stream"


def test_missing_field_detail_names_the_field() -> None:
    assert "ticket_id" in rejected(raw(event("ticket.rated", ticket_id=DROP))).detail


def test_future_limit_is_relative_to_the_injected_clock() -> None:
    six_days = (NOW + timedelta(days=6)).isoformat()
    seven_days = (NOW + timedelta(days=7)).isoformat()
    just_over = (NOW + timedelta(days=7, seconds=1)).isoformat()
    assert isinstance(decode(raw(event("ticket.rated", occurred_at=six_days)), now), Decoded)
    assert isinstance(decode(raw(event("ticket.rated", occurred_at=seven_days)), now), Decoded)
    assert rejected(raw(event("ticket.rated", occurred_at=just_over))).reason == "future_timestamp"
    # The same event is fine for a clock a day later: "now" is injected, not read from the OS.
    later = NOW + timedelta(days=1)
    ok = decode(raw(event("ticket.rated", occurred_at=just_over)), lambda: later)
    assert isinstance(ok, Decoded)
    # And the limit is configurable.
    tight = decode(raw(event("ticket.rated", occurred_at=six_days)), now, max_future_seconds=60)
    assert isinstance(tight, Rejection)
    assert tight.reason == "future_timestamp"


def test_past_timestamps_are_accepted() -> None:
    old = decode(raw(event("ticket.rated", occurred_at="2020-01-01T00:00:00Z")), now)
    assert isinstance(old, Decoded)


def test_max_bytes_is_configurable() -> None:
    value = raw(event("ticket.rated"))
    assert rejected(value, max_bytes=len(value) - 1).reason == "oversized"
    assert isinstance(decode(value, now, max_bytes=len(value)), Decoded)


def test_chat_transfer_needs_queue_or_agent() -> None:
    neither = rejected(raw(event("chat.transferred", queue=DROP)))
    assert neither.reason == "missing_field"
    assert "queue" in neither.detail
    by_agent = decode(raw(event("chat.transferred", queue=DROP, agent_id="A2")), now)
    assert isinstance(by_agent, Decoded)
    assert isinstance(by_agent.event, ev.ChatTransferred)
    assert (by_agent.event.queue, by_agent.event.agent_id) == (None, "A2")
    both = decode(raw(event("chat.transferred", agent_id="A2")), now)
    assert isinstance(both, Decoded)


@pytest.mark.parametrize("value", [b'{"note": "\xff"}', b'"\xff"', b'{"\xc3": 1}'])
def test_invalid_utf8_inside_a_string_is_rejected(value: bytes) -> None:
    assert rejected(value).reason == "invalid_json"


def test_nesting_below_the_recursion_limit_is_rejected_normally() -> None:
    assert rejected(b"[" * 900 + b"]" * 900).reason == "not_object"


@pytest.mark.parametrize("depth", [1000, 20000])
def test_deep_nesting_is_rejected_not_raised(depth: int) -> None:
    assert rejected(b"[" * depth + b"]" * depth).reason in {"invalid_json", "not_object"}


# --- keys --------------------------------------------------------------------------------
@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_message_key_follows_the_contract(type_name: str) -> None:
    body = event(type_name)
    expected = body[EXAMPLES[type_name][1]]
    result = decode(raw(body), now)
    assert isinstance(result, Decoded)
    assert conversation_key(result.event) == expected
    assert key_for_dict(body) == expected


def test_key_field_table_names_every_types_key_field() -> None:
    assert {name: EXAMPLES[name][1] for name in EXAMPLES} == ev.KEY_FIELD_OF_TYPE


def test_order_key_is_the_customer_not_the_order() -> None:
    body = event("order.placed")
    assert key_for_dict(body) == "K1"
    result = decode(raw(body), now)
    assert isinstance(result, Decoded)
    assert conversation_key(result.event) == "K1"


def test_chat_converted_key_is_the_chat() -> None:
    assert key_for_dict(event("chat.converted")) == "C1"


@pytest.mark.parametrize(
    "body",
    [
        {"ticket_id": "T1"},
        {"type": 5, "ticket_id": "T1"},
        {"type": "ticket.created"},
        {"type": "ticket.created", "ticket_id": 17},
        {"type": "invoice.paid", "ticket_id": "T1"},
    ],
)
def test_key_for_dict_without_a_key(body: dict[str, object]) -> None:
    assert key_for_dict(body) is None


def test_conversation_key_rejects_a_foreign_event() -> None:
    class Other(ev.Event, tag="other.thing", frozen=True):
        pass

    with pytest.raises(TypeError):
        conversation_key(Other(event_id="x", occurred_at=AT))


# --- totality ----------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=40,
)
field_names = st.sampled_from(
    sorted({"type", "event_id", "occurred_at", "schema", "ticket_id", "chat_id", "agent_id",
            "queue", "queues", "channel", "priority", "status", "author", "public", "score",
            "amount", "currency", "resolved", "resolved_by", "max_chats", "order_id",
            "customer_id", "campaign_id", "session_id", "template_id"})
)
field_values = (
    json_values
    | st.sampled_from([AT, "2026-12-31T00:00:00Z", "2026-11-27T10:00:00", "email", "agent",
                       "solved", "online", "EUR", "-1", "1e3", "T1", "", "x" * 200])
    | st.sampled_from(sorted(EVENT_TYPES))
)
event_like = st.builds(
    lambda type_name, fields: {"type": type_name, **fields},
    st.sampled_from(sorted(EVENT_TYPES)),
    st.dictionaries(field_names, field_values, max_size=10),
)
deep = st.integers(1, 200).flatmap(
    lambda depth: st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth])
)


def check_total(value: bytes, stream: str | None) -> None:
    result = decode(value, now, stream=stream)
    assert isinstance(result, Decoded | Rejection)
    if isinstance(result, Rejection):
        assert result.reason in REJECT_REASONS
        assert isinstance(result.detail, str)
    else:
        assert result.occurred_at.tzinfo is not None
        assert result.occurred_at - NOW <= timedelta(days=7)
        assert isinstance(conversation_key(result.event), str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=json_values | event_like | deep.map(json.loads),
    stream=st.none() | st.sampled_from(["tickets", "chats", "agents", "commerce"]),
)
def test_decode_never_raises_on_json_values(value: Any, stream: str | None) -> None:
    check_total(json.dumps(value, ensure_ascii=False).encode(), stream)


@settings(max_examples=300, deadline=None)
@given(value=event_like)
def test_decoded_events_round_trip(value: dict[str, Any]) -> None:
    """Whatever decode accepts re-encodes to an equal event (no silent coercion)."""
    result = decode(json.dumps(value).encode(), now)
    if isinstance(result, Decoded):
        again = decode(msgspec.json.encode(result.event), now)
        assert isinstance(again, Decoded)
        assert again.event == result.event


@settings(max_examples=300, deadline=None)
@example(value=b'{"type": "ticket.rated", "note": "\x80"}')
@example(value=b"[" * 5000)
@given(value=st.binary(max_size=300) | deep.map(str.encode)
       | event_like.map(lambda v: json.dumps(v).encode()))
def test_decode_never_raises_on_arbitrary_bytes(value: bytes) -> None:
    check_total(value, None)
