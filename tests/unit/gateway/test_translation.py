"""Shared helpers: event ids (bounded, stable, distinct) and timestamp normalisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.domain.events import parse_timestamp
from stream.gateway import chatwoot
from stream.gateway.connectors import Connectors
from stream.gateway.translation import Reject, Rejection, event_id, timestamp
from tests.unit.gateway.conftest import dump, payload

parts = st.lists(st.one_of(st.text(max_size=300), st.integers()), min_size=1, max_size=6)


@given(st.sampled_from(["chatwoot", "zendesk", "zammad"]), parts)
def test_event_id_bounded_and_stable(source: str, values: list[object]) -> None:
    first = event_id(source, *values)
    assert 1 <= len(first) <= 128
    assert first == event_id(source, *values)
    assert first.startswith(f"{source}:")


@given(parts, parts)
def test_event_ids_of_different_facts_differ(a: list[object], b: list[object]) -> None:
    # Distinct joined texts are distinct ids (the hash only replaces texts over 128 chars).
    if ":".join(map(str, a)) != ":".join(map(str, b)):
        assert event_id("zendesk", *a) != event_id("zendesk", *b)


@given(st.integers(min_value=1, max_value=10**15), st.integers(min_value=1, max_value=10**15),
       st.integers(min_value=1, max_value=10**12))
def test_chatwoot_message_ids_stable_for_any_ids(account: int, message: int, conv: int) -> None:
    data = payload("chatwoot", "message_created_outgoing_agent")
    data["account"]["id"] = account
    data["id"] = message
    data["conversation"]["id"] = conv
    first = chatwoot.translate(dump(data), {}, Connectors())
    assert isinstance(first, list)
    assert first[0]["event_id"] == f"chatwoot:{account}:message:{message}"
    assert first[0]["ticket_id"] == f"chatwoot:{account}:{conv}"
    assert len(first[0]["event_id"]) <= 128


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1627063308, "2021-07-23T18:01:48Z"),
        (1627063308.739512, "2021-07-23T18:01:48.739512Z"),
        ("2021-07-23T18:02:48.000Z", "2021-07-23T18:02:48Z"),
        ("2025-01-08T10:12:07.672717030Z", "2025-01-08T10:12:07.672717Z"),
        ("2020-03-03 13:05:57 UTC", "2020-03-03T13:05:57Z"),
        ("2026-12-03T11:00:00+01:00", "2026-12-03T10:00:00Z"),
    ],
)
def test_timestamps(value: object, expected: str) -> None:
    assert timestamp(value, "t") == expected
    assert parse_timestamp(expected) is not None


@pytest.mark.parametrize("value", [None, True, "", "yesterday", "2026-12-03T10:00:00", 10**20])
def test_bad_timestamps(value: object) -> None:
    with pytest.raises(Reject) as caught:
        timestamp(value, "t")
    assert caught.value.rejection.reason == "bad_timestamp"


@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1),
                    timezones=st.just(UTC)))
def test_timestamp_round_trip(moment: datetime) -> None:
    text = timestamp(moment.isoformat(), "t")
    assert text.endswith("Z")
    assert parse_timestamp(text) == moment


def test_rejection_reasons_are_bounded() -> None:
    with pytest.raises(ValueError):
        Rejection("something the sender typed")
