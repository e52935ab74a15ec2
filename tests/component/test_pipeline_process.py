"""Pipeline.process without a broker: decode → partition state → metrics, changelog, DLQ."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from stream.domain.partition import HOUR_PREFIX, META_KEY, WINDOW_PREFIX, PartitionMeta
from stream.settings import Settings
from stream.worker import Pipeline
from tests.component.conftest import (
    NOW,
    Message,
    RecordingProducer,
    make_ready,
    message,
)

TICKETS = "support.tickets"
CHATS = "support.chats"
CHANGELOG = "pulse-component-tickets-changelog"
CHAT_CHANGELOG = "pulse-component-chats-changelog"

# Distinctive ids: none of them may ever appear as a label value.
T1, T2, T3 = "tkt-7f31a", "tkt-7f31b", "tkt-7f31c"
C1, C2, C3 = "cht-55e0a", "cht-55e0b", "cht-55e0c"
CUSTOMER, AGENT, CAMPAIGN = "cust-90311", "agent-4417", "cmp-2210"
IDS = {T1, T2, T3, C1, C2, C3, CUSTOMER, AGENT, CAMPAIGN}


def ts(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def ticket(type_name: str, ticket_id: str, event_id: str, minutes_ago: float,
           **fields: Any) -> dict[str, Any]:
    return {"type": type_name, "event_id": event_id, "occurred_at": ts(minutes_ago),
            "ticket_id": ticket_id, **fields}


def chat(type_name: str, chat_id: str, event_id: str, minutes_ago: float,
         **fields: Any) -> dict[str, Any]:
    return {"type": type_name, "event_id": event_id, "occurred_at": ts(minutes_ago),
            "chat_id": chat_id, **fields}


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sum over the samples of `name` with these labels (others, e.g. queue, summed)."""
    found = [s.value for family in registry.collect() for s in family.samples
             if s.name == name and labels.items() <= s.labels.items()]
    assert found, f"no sample {name}{labels}"
    return sum(found)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in registry.collect():
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def ticket_batch() -> list[Message]:
    created = {"channel": "email", "priority": "high", "queue": "orders"}
    return [
        message(TICKETS, 0, 0, ticket("ticket.created", T1, "ev-1", 60, **created,
                                      customer_id=CUSTOMER)),
        message(TICKETS, 0, 1, ticket("ticket.created", T2, "ev-2", 59, channel="phone",
                                      priority="low", queue="returns")),
        message(TICKETS, 1, 0, ticket("ticket.created", T3, "ev-3", 58, **created)),
        message(TICKETS, 0, 2, ticket("ticket.replied", T1, "ev-4", 50, author="agent",
                                      agent_id=AGENT)),
        message(TICKETS, 0, 3, ticket("ticket.status_changed", T2, "ev-5", 30, status="solved",
                                      agent_id=AGENT)),
    ]


def changelog(producer: RecordingProducer, topic: str = CHANGELOG) -> list[tuple[int, str]]:
    """(partition, key) of the conversation and meta records (window buckets left out)."""
    return [(p, k) for p, k in all_records(producer, topic) if not is_window(k)]


def all_records(producer: RecordingProducer, topic: str = CHANGELOG) -> list[tuple[int, str]]:
    return [(s.partition or 0, (s.key or b"").decode()) for s in producer.to(topic)]


def is_window(key: str) -> bool:
    return key.startswith((WINDOW_PREFIX, HOUR_PREFIX))


def flush_layout(producer: RecordingProducer, topic: str, partition: int) -> list[str]:
    """The kinds of one partition's records in the order sent, runs collapsed:
    tables.ChangelogTable.flush sends values, then window buckets, then the meta record, then
    deletions (tombstones)."""
    kinds: list[str] = []
    for sent in producer.to(topic):
        if (sent.partition or 0) != partition:
            continue
        key = (sent.key or b"").decode()
        if key == META_KEY:
            kind = "meta"
        elif is_window(key):
            kind = "window"
        else:
            kind = "value" if sent.value is not None else "tombstone"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


# --- construction --------------------------------------------------------------------------------
def test_pipeline_constructs_without_a_broker(settings: Settings) -> None:
    registry = CollectorRegistry()
    from stream.domain.clock import FixedClock

    pipeline = Pipeline(settings, FixedClock(NOW), registry)
    assert not pipeline.is_ready()  # never assigned: /readyz says 503
    assert pipeline.tables["tickets"].owned() == []
    assert pipeline.tables["chats"].owned() == []
    text = generate_latest(registry).decode()
    assert "support_partitions_owned 0.0" in text
    assert value(registry, "support_tickets_open", channel="email", priority="high") == 0
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="orders") == 0


# --- tickets -------------------------------------------------------------------------------------
async def test_ticket_batch_updates_metrics(
    pipeline: Pipeline, registry: CollectorRegistry
) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    await pipeline.process("tickets", ticket_batch())

    eh = {"channel": "email", "priority": "high"}
    pl = {"channel": "phone", "priority": "low"}
    assert value(registry, "support_tickets_open", **eh) == 2
    assert value(registry, "support_tickets_open", **pl) == 0
    assert value(registry, "support_tickets_awaiting_first_response", **eh) == 1
    assert value(registry, "support_tickets_created_total", **eh) == 2
    assert value(registry, "support_tickets_created_total", **pl) == 1
    assert value(registry, "support_tickets_solved_total", **pl) == 1
    assert value(registry, "support_tickets_solved_total", **eh) == 0
    assert value(registry, "support_events_total", stream="tickets", type="ticket.created") == 3
    assert value(registry, "support_events_total", stream="tickets", type="ticket.replied") == 1
    assert value(registry, "support_first_response_seconds_count", **eh) == 1
    assert value(registry, "support_first_response_seconds_sum", **eh) == 600
    assert value(registry, "support_resolution_seconds_sum", **pl) == 29 * 60
    assert value(registry, "support_partitions_owned") == 2
    # Lag: the fixed "now" minus the newest occurred_at processed (30 minutes ago).
    assert value(registry, "support_event_lag_seconds", stream="tickets") == 30 * 60
    assert value(registry, "support_event_lag_seconds", stream="chats") == 0
    assert sum(v for (n, _), v in samples(registry).items()
               if n == "support_events_rejected_total") == 0


async def test_flush_sends_one_record_per_changed_key_then_meta(
    pipeline: Pipeline, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    await pipeline.process("tickets", ticket_batch())
    records = changelog(producer)
    by_partition = {p: [k for q, k in records if q == p] for p in (0, 1)}
    assert sorted(by_partition[0][:-1]) == sorted([T1, T2])
    assert by_partition[0][-1] == META_KEY
    assert by_partition[1] == [T3, META_KEY]
    assert len(records) == 5
    # Between the values and the meta record: the event-time window buckets the batch touched
    # (each written once), so the meta record still marks the whole batch as written.
    for p in (0, 1):
        assert flush_layout(producer, CHANGELOG, p) == ["window", "value", "meta"]
    windows = [(p, k) for p, k in all_records(producer) if is_window(k)]
    assert windows and len(windows) == len(set(windows))
    metas = {s.partition: msgspec.msgpack.decode(s.value, type=PartitionMeta)
             for s in producer.to(CHANGELOG) if s.key == META_KEY.encode()}
    assert metas[0].applied_offset == 3
    assert metas[1].applied_offset == 0
    assert metas[0].watermark == NOW - timedelta(minutes=30)
    # The stored value is the table's current value.
    kind = pipeline.tables["tickets"].kind
    stored = {s.key: s.value for s in producer.to(CHANGELOG)}
    t2 = msgspec.msgpack.decode(stored[T2.encode()], type=kind.value_type)
    assert (t2.status, t2.offset) == ("solved", 3)
    assert producer.to("support.dlq") == []


async def test_reprocessing_the_same_batch_changes_nothing(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    await pipeline.process("tickets", ticket_batch())
    before = samples(registry)
    producer.sent.clear()
    await pipeline.process("tickets", ticket_batch())  # redelivered after a lost commit
    assert producer.sent == []
    assert samples(registry) == before
    # A later batch that overlaps the first one only applies the new offsets.
    overlap = [*ticket_batch()[-2:],
               message(TICKETS, 0, 4, ticket("ticket.status_changed", T1, "ev-6", 20,
                                             status="solved"))]
    await pipeline.process("tickets", overlap)
    eh = {"channel": "email", "priority": "high"}
    assert value(registry, "support_tickets_solved_total", **eh) == 1
    assert value(registry, "support_tickets_solved_one_touch_total", **eh) == 1
    assert value(registry, "support_tickets_open", **eh) == 1
    assert changelog(producer) == [(0, T1), (0, META_KEY)]


async def test_same_event_at_a_new_offset_is_harmless(
    pipeline: Pipeline, registry: CollectorRegistry
) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    await pipeline.process("tickets", ticket_batch())
    before = samples(registry)
    again = [message(TICKETS, 0, 10 + n, json.loads(e.value or b""))
             for n, e in enumerate(ticket_batch()) if e.partition == 0]
    await pipeline.process("tickets", again)
    after = samples(registry)
    changed = {k[0] for k in after if after[k] != before.get(k)}
    # State, gauges and business counters are untouched. support_events_total counts messages
    # that decoded (a redelivery included), so it is the one series allowed to move.
    assert changed <= {"support_events_total"}


async def test_late_event_is_counted(pipeline: Pipeline, registry: CollectorRegistry) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    await pipeline.process("tickets", ticket_batch())
    late = message(TICKETS, 0, 4, ticket("ticket.rated", T2, "ev-late", 45, score=5))
    await pipeline.process("tickets", [late])
    assert value(registry, "support_events_late_total", stream="tickets") == 1
    assert value(registry, "support_csat_responses_total", channel="phone", score="5") == 1


async def test_unowned_partition_is_left_to_its_owner(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0)
    elsewhere = [message(TICKETS, 3, 0, ticket("ticket.created", T1, "ev-1", 5,
                                               channel="email", priority="high", queue="orders")),
                 message(TICKETS, 3, 1, b"not json")]
    await pipeline.process("tickets", elsewhere)
    assert value(registry, "support_tickets_created_total", channel="email", priority="high") == 0
    assert value(registry, "support_events_rejected_total", reason="invalid_json") == 0
    assert producer.sent == []


# --- bad input -----------------------------------------------------------------------------------
BAD = [
    ("invalid_json", None, b'{"type": "ticket.created", '),
    ("invalid_json", T1.encode(), None),
    ("not_object", T1.encode(), b"[1, 2]"),
    ("unknown_type", T1.encode(), json.dumps(ticket("ticket.deleted", T1, "b1", 1)).encode()),
    ("wrong_stream", C1.encode(), json.dumps(chat("chat.abandoned", C1, "b2", 1)).encode()),
    ("missing_field", T1.encode(),
     json.dumps({"type": "ticket.status_changed", "event_id": "b3", "occurred_at": ts(1),
                 "ticket_id": T1}).encode()),
    ("invalid_field", T1.encode(),
     json.dumps(ticket("ticket.status_changed", T1, "b4", 1, status="done")).encode()),
    ("bad_timestamp", T1.encode(),
     json.dumps(ticket("ticket.status_changed", T1, "b5", 1, status="solved")
                | {"occurred_at": "2026-11-27T11:00:00"}).encode()),
    ("future_timestamp", T1.encode(),
     json.dumps(ticket("ticket.status_changed", T1, "b6", -8 * 24 * 60, status="solved")).encode()),
    ("key_mismatch", T2.encode(),
     json.dumps(ticket("ticket.status_changed", T1, "b7", 1, status="solved")).encode()),
    ("oversized", T1.encode(),
     json.dumps(ticket("ticket.status_changed", T1, "b8", 1, status="solved",
                       note="x" * 65536)).encode()),
]


async def test_bad_input_goes_to_the_dead_letter_topic(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0)
    created = message(TICKETS, 0, 0, ticket("ticket.created", T1, "ev-1", 5, channel="email",
                                            priority="high", queue="orders"))
    await pipeline.process("tickets", [created])
    gauges_before = {k: v for k, v in samples(registry).items() if k[0] == "support_tickets_open"}
    producer.sent.clear()

    batch = [message(TICKETS, 0, 1 + n, raw, key=key) for n, (_, key, raw) in enumerate(BAD)]
    await pipeline.process("tickets", batch)

    dead = producer.to("support.dlq")
    assert len(dead) == len(BAD)
    for sent, (reason, key, raw), original in zip(dead, BAD, batch, strict=True):
        headers = dict(sent.headers)
        assert headers["reason"] == reason.encode()
        assert headers["source_topic"] == TICKETS.encode()
        assert headers["source_partition"] == b"0"
        assert headers["source_offset"] == str(original.offset).encode()
        assert headers["detail"]
        assert (sent.key, sent.value) == (key, raw)  # unchanged bytes
    for reason in {r for r, _, _ in BAD}:
        expected = sum(1 for r, _, _ in BAD if r == reason)
        assert value(registry, "support_events_rejected_total", reason=reason) == expected
    # State did not move; only the partition's applied offset was recorded.
    assert {k: v for k, v in samples(registry).items()
            if k[0] == "support_tickets_open"} == gauges_before
    assert value(registry, "support_tickets_solved_total", channel="email", priority="high") == 0
    assert changelog(producer) == [(0, META_KEY)]

    # Redelivered bad input is not dead-lettered or counted twice.
    producer.sent.clear()
    await pipeline.process("tickets", batch)
    assert producer.sent == []
    assert value(registry, "support_events_rejected_total", reason="invalid_json") == 2


async def test_invalid_utf8_inside_json_is_dead_lettered(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0)
    await pipeline.process("tickets", [message(TICKETS, 0, 0, b'{"ticket_id": "\xff"}',
                                               key=T1)])
    assert value(registry, "support_events_rejected_total", reason="invalid_json") == 1
    assert len(producer.to("support.dlq")) == 1


async def test_an_exception_while_applying_is_dead_lettered_once(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_ready(pipeline, "tickets", 0)
    kind = pipeline.tables["tickets"].kind

    def broken(*args: Any) -> Any:
        raise ZeroDivisionError

    monkeypatch.setattr(kind, "apply", broken)
    bad = message(TICKETS, 0, 0, ticket("ticket.created", T1, "ev-1", 5, channel="email",
                                        priority="high", queue="orders"))
    await pipeline.process("tickets", [bad])
    dead = producer.to("support.dlq")
    assert len(dead) == 1
    assert dict(dead[0].headers)["reason"] == b"processing_error"
    assert dict(dead[0].headers)["detail"] == b"ZeroDivisionError"
    assert value(registry, "support_events_rejected_total", reason="processing_error") == 1
    # The offset counts as applied: a redelivery is not dead-lettered again.
    await pipeline.process("tickets", [bad])
    assert len(producer.to("support.dlq")) == 1
    assert changelog(producer) == [(0, META_KEY)]


# --- chats ---------------------------------------------------------------------------------------
async def test_chat_queue_gauges_use_the_injected_clock(
    pipeline: Pipeline, registry: CollectorRegistry, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "chats", 0, 2)
    await pipeline.process("chats", [
        message(CHATS, 0, 0, chat("chat.requested", C1, "c-1", 1.5, queue="orders",
                                  customer_id=CUSTOMER)),
        message(CHATS, 2, 0, chat("chat.requested", C2, "c-2", 0.5, queue="orders")),
        message(CHATS, 0, 1, chat("chat.requested", C3, "c-3", 4, queue="vip-lounge",
                                  campaign_id=CAMPAIGN)),
    ])
    assert value(registry, "support_chat_queue_waiting", queue="orders") == 2
    assert value(registry, "support_chat_queue_waiting", queue="other") == 1
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="orders") == 90
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="other") == 240
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="returns") == 0
    assert value(registry, "support_chats_requested_total", queue="orders") == 2
    assert value(registry, "support_chats_requested_total", queue="other") == 1
    assert value(registry, "support_campaign_chats_total") == 1
    assert sorted(changelog(producer, CHAT_CHANGELOG)) == sorted(
        [(0, C1), (0, C3), (0, META_KEY), (2, C2), (2, META_KEY)]
    )

    await pipeline.process("chats", [
        message(CHATS, 0, 2, chat("chat.accepted", C1, "c-4", 1, agent_id=AGENT)),
        message(CHATS, 2, 1, chat("chat.abandoned", C2, "c-5", 0.25)),
    ])
    assert value(registry, "support_chat_queue_waiting", queue="orders") == 0
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="orders") == 0
    assert value(registry, "support_chats_active", queue="orders") == 1
    assert value(registry, "support_chats_missed_total", queue="orders") == 1
    assert value(registry, "support_chat_wait_seconds_sum", queue="orders") == 30
    assert value(registry, "support_event_lag_seconds", stream="chats") == 15


async def test_expired_conversation_is_deleted_after_the_meta_record(
    settings: Settings, registry: CollectorRegistry
) -> None:
    """A tombstone carries no offset: it is sent after the meta record that covers the events
    before it, so a crash can lose the deletion (the key expires again at the next event) but
    never leave a deleted key that the replay of those events would re-create."""
    from stream.domain.clock import FixedClock

    short = settings.model_copy(update={"state_retention_seconds": 3600.0})
    pipeline = Pipeline(short, FixedClock(NOW), registry)
    producer = RecordingProducer()
    pipeline.app.producer = producer
    make_ready(pipeline, "chats", 0)
    await pipeline.process("chats", [
        message(CHATS, 0, 0, chat("chat.requested", C1, "c-1", 180, queue="orders")),
        message(CHATS, 0, 1, chat("chat.ended", C1, "c-2", 170)),
    ])
    producer.sent.clear()
    # 110 minutes after C1 ended (retention: 60): the partition's next event expires it.
    await pipeline.process("chats", [
        message(CHATS, 0, 2, chat("chat.requested", C2, "c-3", 60, queue="orders")),
    ])
    assert changelog(producer, CHAT_CHANGELOG) == [(0, C2), (0, META_KEY), (0, C1)]
    assert flush_layout(producer, CHAT_CHANGELOG, 0) == ["window", "value", "meta", "tombstone"]
    sent = {s.key: s.value for s in producer.to(CHAT_CHANGELOG)}
    assert sent[C1.encode()] is None
    meta = msgspec.msgpack.decode(sent[META_KEY.encode()], type=PartitionMeta)
    assert meta.applied_offset == 2
    state = pipeline.tables["chats"].partitions[0]
    assert set(state.values) == {C2}


async def test_oldest_wait_is_the_minimum_across_partitions(
    settings: Settings, registry: CollectorRegistry
) -> None:
    from stream.domain.clock import FixedClock

    later = NOW + timedelta(minutes=10)
    pipeline = Pipeline(settings, FixedClock(later), registry)
    pipeline.app.producer = RecordingProducer()
    make_ready(pipeline, "chats", 0, 1)
    await pipeline.process("chats", [
        message(CHATS, 0, 0, chat("chat.requested", C1, "c-1", 1, queue="returns")),
        message(CHATS, 1, 0, chat("chat.requested", C2, "c-2", 3, queue="returns")),
    ])
    # Ages are measured against the pipeline's clock, ten minutes after NOW.
    assert value(registry, "support_chat_queue_oldest_wait_seconds", queue="returns") == 13 * 60


# --- other streams -------------------------------------------------------------------------------
async def test_commerce_events_are_counted(
    pipeline: Pipeline, registry: CollectorRegistry
) -> None:
    order = {"type": "order.placed", "event_id": "o-1", "occurred_at": ts(2),
             "order_id": "ord-1", "customer_id": CUSTOMER, "amount": "19.90", "currency": "EUR"}
    make_ready(pipeline, "commerce", 0)
    await pipeline.process("commerce", [message("support.commerce", 0, 0, order)])
    assert value(registry, "support_events_total", stream="commerce", type="order.placed") == 1


# --- exposition ----------------------------------------------------------------------------------
FOUNDATION_METRICS = [
    "support_tickets_open",
    "support_tickets_awaiting_first_response",
    "support_chat_queue_waiting",
    "support_chat_queue_oldest_wait_seconds",
    "support_chats_active",
    "support_events_total",
    "support_events_rejected_total",
    "support_events_late_total",
    "support_event_lag_seconds",
    "support_partitions_owned",
    "support_tickets_created_total",
    "support_tickets_solved_total",
    "support_chats_requested_total",
    "support_chats_missed_total",
]


async def test_exposition_has_every_metric_and_no_id_labels(
    pipeline: Pipeline, registry: CollectorRegistry
) -> None:
    make_ready(pipeline, "tickets", 0, 1)
    make_ready(pipeline, "chats", 0)
    await pipeline.process("tickets", ticket_batch())
    await pipeline.process("tickets", [message(TICKETS, 0, 4, b"{")])
    await pipeline.process("chats", [
        message(CHATS, 0, 0, chat("chat.requested", C1, "c-1", 3, queue="orders",
                                  customer_id=CUSTOMER, campaign_id=CAMPAIGN)),
        message(CHATS, 0, 1, chat("chat.accepted", C1, "c-2", 2, agent_id=AGENT)),
        message(CHATS, 0, 2, chat("chat.rated", C1, "c-3", 1, score=5)),
    ])
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    names = {s.name for f in families.values() for s in f.samples}
    for name in FOUNDATION_METRICS:
        assert name in names, f"{name} missing from /metrics"
    label_values = {v for f in families.values() for s in f.samples for v in s.labels.values()}
    leaked = {v for v in label_values if any(i in v for i in IDS)}
    assert leaked == set()
    # Every label value is from a bounded set, e.g. queues come from the configuration.
    queues = {
        s.labels["queue"] for f in families.values() for s in f.samples if "queue" in s.labels
    }
    assert queues <= {"orders", "returns", "payments", "general", "other"}


@pytest.mark.parametrize("stream", ["tickets", "chats"])
async def test_batch_on_an_empty_partition_set_sends_nothing(
    pipeline: Pipeline, producer: RecordingProducer, stream: str
) -> None:
    make_ready(pipeline, stream, 0)
    await pipeline.process(stream, [])
    assert producer.sent == []


# --- consumer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("wait_ms", [100, 250])
async def test_group_consumer_uses_the_fetch_wait_setting(settings: Settings, wait_ms: int) -> None:
    from stream.domain.clock import FixedClock

    settings = settings.model_copy(update={"fetch_max_wait_ms": wait_ms})
    pipeline = Pipeline(settings, FixedClock(NOW), CollectorRegistry())
    # The aiokafka consumer faust's consumer thread starts at worker start-up (not started
    # here); faust itself would pass fetch_max_wait_ms=1500.
    thread = pipeline.app.consumer._thread
    consumer = thread._create_worker_consumer(pipeline.app.transport)
    assert consumer._fetch_max_wait_ms == wait_ms
    assert consumer._group_id == settings.app_id  # still faust's group consumer otherwise


# --- live gauges across tables -------------------------------------------------------------------
async def test_sla_gauges_of_converted_chat_tickets_and_live_chats_add_up(
    pipeline: Pipeline, registry: CollectorRegistry
) -> None:
    """Tickets of channel chat (converted chats) and live chats share the labels (chat, priority,
    target): /metrics reports their sum (CONTRACT §4), not whichever table was merged last."""
    tickets = make_ready(pipeline, "tickets", 0)
    chats = make_ready(pipeline, "chats", 0)
    # NOW is Friday 13:00 in Prague: created at 08:00, the ticket's 4 business hours are over.
    await pipeline.process("tickets", [
        message(TICKETS, 0, 0, ticket("ticket.created", T1, "ev-1", 5 * 60, channel="chat",
                                      priority="normal", queue="orders")),
        # Created at 09:30: 30 minutes of its 4 hours left, at risk (warn 25 % = 1 h).
        message(TICKETS, 0, 1, ticket("ticket.created", T2, "ev-2", 210, channel="chat",
                                      priority="normal", queue="orders")),
    ])
    await pipeline.process("chats", [
        # 5 minutes waiting against a 2-minute target: breached.
        message(CHATS, 0, 0, chat("chat.requested", C1, "c-1", 5, queue="orders")),
        # 100 seconds waiting: 20 s left, at risk (warn 30 s).
        message(CHATS, 0, 1, chat("chat.requested", C2, "c-2", 100 / 60, queue="orders")),
    ])
    for part in [*tickets, *chats]:  # the SLA sweep and its agent, by hand
        for key in part.pop_due(NOW):
            part.evaluate(key, NOW)
    labels = {"channel": "chat", "priority": "normal", "target": "first_response"}
    assert value(registry, "support_sla_breached_open", **labels) == 2
    assert value(registry, "support_sla_at_risk", **labels) == 2


def test_collectors_describe_what_they_collect_and_refuse_a_duplicate(settings: Settings) -> None:
    from prometheus_client import Gauge

    from stream.domain.clock import FixedClock
    from stream.live import LiveCollector
    from stream.rollups import SignalOwner

    registry = CollectorRegistry()
    Pipeline(settings, FixedClock(NOW), registry)
    custom = [c for c in registry._collector_to_names
              if isinstance(c, LiveCollector | SignalOwner)]
    assert len(custom) == 2
    for collector in custom:
        assert {m.name for m in collector.collect()} == set(collector.NAMES)
    # describe() works: a second collector exposing a live gauge's name is refused.
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Gauge("support_tickets_open", "again", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Gauge("support_staffing_gap_agents", "again", registry=registry)


# --- SLA notices and the changelog -----------------------------------------------------------
SLA_TOPIC = "support.sla"


def late_reply() -> list[Message]:
    """A ticket answered an hour after its 4 business hours ran out: breached and met."""
    return [
        message(TICKETS, 0, 0, ticket("ticket.created", T1, "ev-1", 6 * 60, channel="email",
                                      priority="normal", queue="orders")),
        message(TICKETS, 0, 1, ticket("ticket.replied", T1, "ev-2", 1, author="agent",
                                      agent_id=AGENT)),
    ]


async def test_changelog_waits_until_the_broker_has_the_notices(
    pipeline: Pipeline, producer: RecordingProducer
) -> None:
    """The producer does not deliver in send order across partitions: the changelog records
    (which say the notices went out) are sent only once the notices are delivered, so a crash
    in between cannot lose them (the crash-loop test lost 33 of 8,189 this way)."""
    import asyncio

    make_ready(pipeline, "tickets", 0)
    producer.hold.add(SLA_TOPIC)
    task = asyncio.create_task(pipeline.process("tickets", late_reply()))
    for _ in range(20):
        await asyncio.sleep(0)
    kinds = sorted(json.loads(s.value or b"")["type"] for s in producer.to(SLA_TOPIC))
    assert kinds == ["sla.breached", "sla.met"]
    assert changelog(producer) == [] and not task.done()
    for delivery in producer.held:
        delivery.set_result(None)
    await task
    assert changelog(producer) == [(0, T1), (0, META_KEY)]


async def test_an_undelivered_notice_is_sent_again_before_the_changelog(
    pipeline: Pipeline, producer: RecordingProducer
) -> None:
    make_ready(pipeline, "tickets", 0)
    producer.failures[SLA_TOPIC] = 1  # the first of the two notices times out
    await pipeline.process("tickets", late_reply())
    sent = [(s.topic, json.loads(s.value or b"")["type"]) for s in producer.sent
            if s.topic == SLA_TOPIC]
    first = sent[0][1]
    assert sorted(t for _, t in sent) == sorted(["sla.breached", "sla.met", first])
    topics = [s.topic for s in producer.sent]
    assert topics.index(CHANGELOG) > max(i for i, t in enumerate(topics) if t == SLA_TOPIC)


async def test_sent_markers_are_in_redis_before_the_changelog_records(
    pipeline: Pipeline, producer: RecordingProducer
) -> None:
    """A replay of a batch whose changelog records never arrived must find the markers, or it
    sends the notices again (the crash-loop test saw 38–118 repeated events when the markers
    were queued behind the read-model writes)."""
    make_ready(pipeline, "tickets", 0)
    marked: list[tuple[list[tuple[str, str, str]], int]] = []

    async def mark_sent(ids: list[tuple[str, str, str]]) -> None:
        marked.append((list(ids), len(changelog(producer))))

    pipeline.read_model.mark_sent = mark_sent  # type: ignore[method-assign]
    await pipeline.process("tickets", late_reply())
    assert [(sorted(kind for _, _, kind in ids), sent) for ids, sent in marked] == [
        (["sla.breached", "sla.met"], 0)]
    assert changelog(producer) == [(0, T1), (0, META_KEY)]


async def test_notices_of_the_batch_that_catches_a_partition_up_are_checked_for_repeats(
    pipeline: Pipeline, producer: RecordingProducer
) -> None:
    """After a restart the partition replays up to the end it had at assignment. The batch that
    reaches that end leaves the partition caught up, yet its input was processed before the
    crash: its notices must still be checked (the crash-loop test saw one batch, 38–118 SLA
    events, repeated when the check looked at the partition after the batch)."""
    (part,) = make_ready(pipeline, "tickets", 0)
    part.catch_up_to = 1  # the end at assignment: offsets 0 and 1 existed before
    asked: list[list[tuple[str, str, str]]] = []

    async def already_sent(ids: list[tuple[str, str, str]]) -> list[bool]:
        asked.append(list(ids))
        return [True] * len(ids)  # an earlier incarnation published them

    pipeline.read_model.already_sent = already_sent  # type: ignore[method-assign]
    await pipeline.process("tickets", late_reply())
    assert part.caught_up
    assert [sorted(kind for _, _, kind in ids) for ids in asked] == [["sla.breached", "sla.met"]]
    assert producer.to(SLA_TOPIC) == []
    # Fresh input (past the end at assignment) does not ask.
    await pipeline.process("tickets", [
        message(TICKETS, 0, 2, ticket("ticket.created", T2, "ev-3", 6 * 60, channel="email",
                                      priority="normal", queue="orders")),
        message(TICKETS, 0, 3, ticket("ticket.replied", T2, "ev-4", 1, author="agent",
                                      agent_id=AGENT)),
    ])
    assert len(asked) == 1 and len(producer.to(SLA_TOPIC)) == 2
