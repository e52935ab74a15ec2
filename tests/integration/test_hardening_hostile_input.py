"""Hostile input against a live worker: it stays up, dead-letters every bad message, state holds.

A seeded scenario of valid ticket/chat events (with re-sent duplicates), plus late events and
valid-but-extreme ones (±23:59 offsets, nanosecond fractions, lower-case `t`/`z`), is
interleaved with a few hundred hostile messages from tests/hostile.py (random bytes, truncated and
deeply nested JSON, huge strings, wrong types, bad timestamps, NaN/Infinity, duplicate keys,
surrogates, nulls, oversized) and messages whose key is not their conversation id. The test
decodes every message itself first (same fixed clock), so it knows which must be rejected.

Then: the worker is alive; the DLQ holds exactly the rejected messages, bytes unchanged, each
with a `reason` header from the bounded set; the DLQ count equals the sum of
`support_events_rejected_total` and matches per reason; the gauges equal the truth model over the
valid events only; late events are counted as late.

`test_poison_pills_do_not_stop_the_pipeline`: messages that used to kill an agent for good (an
OverflowError on year-1 timestamps; found by this file, fixed in commit 7ae6c00).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stream.domain.events import REJECT_REASONS, STREAM_OF_TYPE, Rejection, decode
from stream.kafka_io import route
from tests.hostile import hostile_messages
from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.test_pipeline import expected_gauges, live_gauges
from tests.scenario import scenario, truth

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
FIXED = f"fixed:{NOW.isoformat().replace('+00:00', 'Z')}"
HOSTILE = 400


def extremes() -> list[dict[str, Any]]:
    """Valid events with unusual but legal timestamps (each its own conversation)."""
    # (Year 1 is now rejected: see test_poison_pills_do_not_stop_the_pipeline.)
    stamps = ["2026-11-27T10:00:00+23:59", "2026-11-27T09:00:00-23:59",
              "2026-11-27t09:30:00.123456789z", "2026-11-27T09:45:00.000001+00:00"]
    out: list[dict[str, Any]] = []
    for n, stamp in enumerate(stamps):
        out.append({"type": "ticket.created", "event_id": f"x-t{n}", "occurred_at": stamp,
                    "ticket_id": f"XT{n}", "channel": "social", "priority": "low",
                    "queue": "general"})
        out.append({"type": "chat.requested", "event_id": f"x-c{n}", "occurred_at": stamp,
                    "chat_id": f"XC{n}", "queue": "payments"})
    return out


def plain(stamp: str) -> str:
    """The same instant in a form the truth model's fromisoformat reads (microseconds)."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", stamp.upper())
    return text[:-1] + "+00:00" if text.endswith("Z") else text


def late_events(events: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Events older than their conversation's state, of kinds that move no live gauge."""
    created = [e for e in events if e["type"] == "ticket.created"]
    out = []
    for n, e in enumerate(rng.sample(created, 30)):
        early = datetime.fromisoformat(e["occurred_at"]) - timedelta(minutes=10)
        out.append({"type": rng.choice(["ticket.assigned", "ticket.rated"]),
                    "event_id": f"late-{n}", "occurred_at": early.isoformat(),
                    "ticket_id": e["ticket_id"], "agent_id": "a3", "score": 4})
    return out


def test_hostile_mix_is_dead_lettered_and_changes_nothing(deployment: Deployment) -> None:
    rng = random.Random(4242)
    settings = deployment.settings()
    valid = scenario(seed=3, tickets=300, chats=300, start=START, duplicates=40)
    valid = extremes() + valid + late_events(valid, rng)

    records: list[tuple[str, bytes | None, bytes | None]] = []
    for event in valid:
        topic, key = route(settings, event)
        records.append((topic, key, json.dumps(event).encode()))
    expected: Counter[str] = Counter()
    hostile: Counter[bytes | None] = Counter()
    topics = settings.input_topics
    for _, type_name, raw in hostile_messages(rng, HOSTILE):
        stream = STREAM_OF_TYPE[type_name]
        if rng.random() < 0.15:  # on another stream's topic
            stream = rng.choice([s for s in topics if s != stream])
        result = decode(raw, lambda: NOW, stream=stream)
        if not isinstance(result, Rejection):
            continue  # a mutation that happens to be valid: not hostile
        key = rng.choice([b"T1", b"C1", None, bytes(rng.randrange(256) for _ in range(8))])
        if raw is None and key is None:
            key = b"T1"  # Kafka needs a key or a value
        records.insert(rng.randrange(len(records) + 1), (topics[stream], key, raw))
        expected[result.reason] += 1
        hostile[raw] += 1
    # Too far ahead of the (fixed) clock.
    for n, event in enumerate(rng.sample(valid[10:], 5)):
        topic, key = route(settings, event)
        raw = json.dumps({**event, "event_id": f"fut-{n}",
                          "occurred_at": (NOW + timedelta(days=8)).isoformat()}).encode()
        records.insert(rng.randrange(len(records) + 1), (topic, key, raw))
        expected["future_timestamp"] += 1
        hostile[raw] += 1
    # Valid events under another conversation's key.
    for n, event in enumerate(rng.sample(valid[10:], 20)):
        topic, _ = route(settings, event)
        raw = json.dumps({**event, "event_id": f"km-{n}"}).encode()
        records.insert(rng.randrange(len(records) + 1), (topic, b"not-the-id", raw))
        expected["key_mismatch"] += 1
        hostile[raw] += 1
    assert sum(expected.values()) > 300, expected
    assert set(expected) == set(REJECT_REASONS) - {"processing_error"}, expected

    worker = deployment.worker(clock=FIXED).start()
    for topic in topics.values():
        deployment.produce_raw(topic, [(k, v) for t, k, v in records if t == topic])

    def rejected() -> Counter[str]:
        samples = worker.samples()
        found = Counter({r: int(total(samples, "support_events_rejected_total", reason=r))
                         for r in REJECT_REASONS})
        return +found

    want = expected_gauges(truth([{**e, "occurred_at": plain(e["occurred_at"])} for e in valid],
                                 NOW))
    wait_until(lambda: rejected() == expected and live_gauges(worker.samples()) == want, 90,
               lambda: f"rejected {rejected()} != {expected}\n"
               f"gauges {live_gauges(worker.samples())}\n!= {want}\n{worker.log_tail()}")
    assert worker.alive() and worker.http("/healthz")[0] == 200
    samples = worker.samples()
    assert total(samples, "support_events_total") == len(valid)
    assert total(samples, "support_events_late_total", stream="tickets") >= 30

    dlq = deployment.consume(settings.topic_dlq, idle_ms=2000)
    assert len(dlq) == sum(expected.values()) == total(samples, "support_events_rejected_total")
    assert Counter(record.value for record in dlq) == hostile  # the raw bytes, unchanged
    reasons = Counter()
    for record in dlq:
        headers = dict(record.headers)
        assert headers["reason"].decode() in REJECT_REASONS
        assert headers["source_topic"].decode() in topics.values()
        reasons[headers["reason"].decode()] += 1
    assert reasons == expected


def test_poison_pills_do_not_stop_the_pipeline(deployment: Deployment) -> None:
    worker = deployment.worker(clock=FIXED).start()
    at = (NOW - timedelta(hours=1)).isoformat()
    deployment.produce([
        # The poison pills.
        {"type": "ticket.created", "event_id": "p1", "occurred_at": "0001-01-01T00:00:00+14:00",
         "ticket_id": "P1", "channel": "email", "priority": "low", "queue": "orders"},
        {"type": "order.placed", "event_id": "p2", "occurred_at": "0001-01-01T00:00:00Z",
         "order_id": "PO1", "customer_id": "PK1", "amount": "10", "currency": "EUR"},
        {"type": "ticket.created", "event_id": "p3", "occurred_at": "0001-01-01T00:00:00Z",
         "ticket_id": "P3", "channel": "email", "priority": "low", "queue": "orders",
         "customer_id": "PK3"},
        # Valid events after them, on the same topics.
        {"type": "ticket.created", "event_id": "v1", "occurred_at": at, "ticket_id": "V1",
         "channel": "phone", "priority": "urgent", "queue": "orders", "customer_id": "VK1"},
        {"type": "order.placed", "event_id": "v2",
         "occurred_at": (NOW - timedelta(minutes=30)).isoformat(), "order_id": "VO1",
         "customer_id": "VK1", "amount": "25.00", "currency": "EUR"},
    ])

    def processed() -> dict[str, float]:
        s = worker.samples()
        return {
            "tickets agent (V1 created)": total(s, "support_tickets_created_total",
                                                channel="phone", priority="urgent"),
            "commerce agent (VO1 placed)": total(s, "support_orders_total", currency="EUR"),
            "contacts agent (VO1 assisted)": total(s, "support_assisted_orders_total",
                                                   currency="EUR"),
        }

    # Each pill used to kill its agent for good while the process stayed up and ready:
    # tickets ← decode's OverflowError (year 1, positive offset); commerce ← Commerce._prune;
    # contacts ← Commerce.contact; and stream/domain/calendar.py on a year-1 ticket.
    wait_until(lambda: all(v == 1 for v in processed().values()), 30,
               lambda: f"stalled: {processed()}; alive={worker.alive()}, "
               f"readyz={worker.http('/readyz')[0]}\n{worker.log_tail(60)}")
    dlq = deployment.consume(deployment.settings().topic_dlq)
    reasons = {json.loads(r.value)["event_id"]: dict(r.headers)["reason"].decode() for r in dlq}
    assert reasons == {"p1": "bad_timestamp", "p2": "bad_timestamp", "p3": "bad_timestamp"}
    assert worker.alive()
