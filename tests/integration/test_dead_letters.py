"""Every class of bad input (CONTRACT §1) goes to the DLQ with its reason and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.test_pipeline import live_gauges

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def ticket(event_id: str, **fields: object) -> dict[str, object]:
    return {
        "type": "ticket.status_changed",
        "event_id": event_id,
        "occurred_at": NOW.isoformat(),
        "ticket_id": "T-1",
        "status": "solved",
        **fields,
    }


def raw(value: object) -> bytes:
    return json.dumps(value).encode()


# (reason, key, value) — each message targets the open ticket T-1, so applying it would solve it.
BAD_INPUT = [
    ("invalid_json", b"T-1", b'{"type": "ticket.status_changed", "event_id": '),
    ("invalid_json", b"T-1", b"\xff\xfe not utf-8"),
    ("not_object", b"T-1", b'["ticket.status_changed", "T-1"]'),
    ("not_object", b"T-1", b"42"),
    ("missing_field", b"T-1", raw({k: v for k, v in ticket("b1").items() if k != "status"})),
    ("missing_field", b"T-1", raw({k: v for k, v in ticket("b2").items() if k != "event_id"})),
    ("invalid_field", b"T-1", raw(ticket("b3", status="done"))),
    ("invalid_field", b"T-1", raw(ticket("b4", ticket_id=17))),
    ("invalid_field", b"T-1", raw({**ticket("b5"), "event_id": "x" * 129})),
    ("unknown_type", b"T-1", raw(ticket("b6", type="ticket.deleted"))),
    ("oversized", b"T-1", raw(ticket("b7", note="x" * (65 * 1024)))),
    ("bad_timestamp", b"T-1", raw(ticket("b8", occurred_at="yesterday"))),
    ("bad_timestamp", b"T-1", raw(ticket("b9", occurred_at="2026-11-27T10:00:00"))),  # no offset
    ("future_timestamp", b"T-1",
     raw(ticket("b10", occurred_at=(NOW + timedelta(days=8)).isoformat()))),
    ("wrong_stream", b"T-1", raw({**ticket("b11"), "type": "chat.abandoned", "chat_id": "T-1"})),
    ("key_mismatch", b"T-2", raw(ticket("b12"))),
]


def test_every_bad_input_class_is_dead_lettered(deployment: Deployment) -> None:
    worker = deployment.worker().start()
    deployment.produce([
        {"type": "ticket.created", "event_id": "ok1", "occurred_at": NOW.isoformat(),
         "ticket_id": "T-1", "channel": "email", "priority": "high", "queue": "orders"},
    ])
    wait_until(lambda: total(worker.samples(), "support_tickets_open") == 1, 60, "no ticket")
    before = live_gauges(worker.samples())

    topic = deployment.settings().topic_tickets
    deployment.produce_raw(topic, [(key, value) for _, key, value in BAD_INPUT])
    expected = {}
    for reason, _, _ in BAD_INPUT:
        expected[reason] = expected.get(reason, 0) + 1

    def rejected() -> dict[str, float]:
        samples = worker.samples()
        return {r: total(samples, "support_events_rejected_total", reason=r) for r in expected}

    wait_until(lambda: rejected() == expected, 60, lambda: f"rejected {rejected()} != {expected}")
    assert worker.alive()
    assert worker.http("/healthz")[0] == 200
    # State unchanged: T-1 is still open, nothing else moved.
    assert live_gauges(worker.samples()) == before
    assert total(worker.samples(), "support_tickets_solved_total") == 0

    dlq = deployment.consume(deployment.settings().topic_dlq)
    assert len(dlq) == len(BAD_INPUT)
    by_value = {record.value: dict(record.headers) for record in dlq}
    for reason, _key, value in BAD_INPUT:
        headers = by_value[value]  # the raw bytes, unchanged
        assert headers["reason"].decode() == reason
        assert headers["source_topic"].decode() == topic
        assert int(headers["source_offset"].decode()) >= 0
        assert 0 <= int(headers["source_partition"].decode()) < deployment.partitions
        assert headers["detail"]

    # The worker still processes good input afterwards.
    deployment.produce([ticket("ok2")])
    wait_until(lambda: total(worker.samples(), "support_tickets_open") == 0, 60, "not solved")
