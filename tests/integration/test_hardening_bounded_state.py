"""Bounded state through a live worker: closed conversations end as tombstones in the changelog.

With SUPPORTPULSE_STATE_RETENTION_SECONDS=60, 20k conversations are opened and closed (10k
tickets created → solved 30 s later, 10k chats requested → ended), one per event-time second per
kind, then one open ticket per partition an hour later moves each partition's watermark past
every retention. Reading the worker's changelogs to their end (what a recovering worker would
load): the last record of every closed conversation's key is a tombstone, and the only live
conversation keys are the open tickets. (The full 100k is measured in the pure core,
tests/unit/test_fuzz_state_retention.py; here 20k keep the run short.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.hardening import changelog_topic, read_changelog

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
PER_KIND = 10_000
TICKS = 32  # open tickets at the end; with 4 partitions every partition gets some


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def conversations() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(PER_KIND):
        at = T0 + timedelta(seconds=i)
        done = stamp(at + timedelta(seconds=30))
        events += [
            {"type": "ticket.created", "event_id": f"a{i}", "occurred_at": stamp(at),
             "ticket_id": f"T{i}", "channel": "email", "priority": "normal", "queue": "orders"},
            {"type": "ticket.status_changed", "event_id": f"b{i}", "occurred_at": done,
             "ticket_id": f"T{i}", "status": "solved"},
            {"type": "chat.requested", "event_id": f"c{i}", "occurred_at": stamp(at),
             "chat_id": f"C{i}", "queue": "returns"},
            {"type": "chat.ended", "event_id": f"d{i}", "occurred_at": done, "chat_id": f"C{i}"},
        ]
    late = T0 + timedelta(seconds=PER_KIND + 3600)
    for n in range(TICKS):
        events.append({"type": "ticket.created", "event_id": f"tick{n}", "ticket_id": f"tick{n}",
                       "occurred_at": stamp(late), "channel": "phone", "priority": "low",
                       "queue": "orders"})
        events.append({"type": "chat.requested", "event_id": f"ctick{n}", "chat_id": f"tick{n}",
                       "occurred_at": stamp(late), "queue": "orders"})
    return events


def test_closed_conversations_are_tombstoned_in_the_changelog(deployment_factory: Any) -> None:
    deployment: Deployment = deployment_factory(SUPPORTPULSE_STATE_RETENTION_SECONDS="60")
    events = conversations()
    deployment.produce(events)
    end = T0 + timedelta(seconds=PER_KIND + 3600)
    worker = deployment.worker(clock=f"fixed:{stamp(end)}").start()
    wait_until(lambda: total(worker.samples(), "support_events_total") == len(events), 120,
               lambda: f"{total(worker.samples(), 'support_events_total')} of {len(events)}")
    wait_until(lambda: total(worker.samples(), "support_tickets_open") == TICKS, 30, "backlog")
    report = {}
    for stream, prefix in (("tickets", "T"), ("chats", "C")):
        def conversation_keys(log: Any) -> tuple[set[bytes], set[bytes]]:
            live = {k for (_, k) in log.live() if not k.startswith(b"\x00")}
            dead = {k for (_, k) in log.tombstoned() if not k.startswith(b"\x00")}
            return live, dead

        # The worker flushes per batch: wait until the last batch's records are there.
        def settled(s: str = stream) -> bool:
            log = read_changelog(deployment.bootstrap, changelog_topic(deployment, s),
                                 deployment.partitions)
            return len(conversation_keys(log)[0]) == TICKS

        wait_until(settled, 30, f"{stream} changelog still has live closed conversations")
        log = read_changelog(deployment.bootstrap, changelog_topic(deployment, stream),
                             deployment.partitions)
        live, dead = conversation_keys(log)
        closed = {f"{prefix}{i}".encode() for i in range(PER_KIND)}
        assert live == {f"tick{n}".encode() for n in range(TICKS)}
        assert closed <= dead  # the last record of every closed conversation is a tombstone
        windows = sum(1 for (_, k) in log.live() if k.startswith((b"\x00w:", b"\x00h:")))
        report[stream] = (f"{log.records} records, {len(live)} live conversation keys, "
                          f"{len(dead)} tombstoned, {windows} live window buckets")
    print(f"\nretention 60 s, {PER_KIND} tickets + {PER_KIND} chats closed: {report}")
