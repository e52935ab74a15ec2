"""ChangelogTable recovery without a broker: the changelog reader is replaced by a list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec

from stream.domain.commerce import Commerce, CustomerState
from stream.domain.partition import META_KEY, WINDOW_PREFIX, PartitionMeta
from stream.tables import ChangelogTable
from tests.component.fake_changelog import FakeChangelog

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
encode = msgspec.msgpack.Encoder().encode


def customer(offset: int) -> bytes:
    return encode(CustomerState(offset=offset, updated_at=AT, recent=[]))


async def recover(records: list[tuple[int, str, bytes | None]]) -> ChangelogTable[CustomerState]:
    changelog = FakeChangelog(2)
    for p, key, value in records:
        changelog.logs[p].append((key, value))
    table: ChangelogTable[CustomerState] = ChangelogTable(
        Commerce(timedelta(days=5), lambda c: c or "other"), "x-commerce-changelog",
        timedelta(days=5), {}, reader=changelog.reader,
    )
    table.assign([0, 1])
    # A recovery that fails is retried for ever: a guard, not a timing assertion.
    async with asyncio.timeout(20):
        for p in (0, 1):
            await table.partition(p)  # waits for the recovery
    return table


async def test_recovery_keeps_the_last_record_of_each_key() -> None:
    table = await recover([
        (0, "cust-a", customer(1)),
        (0, "cust-b", customer(2)),
        (1, "cust-a", customer(3)),  # another partition: another state
        (0, "cust-a", customer(4)),
        (0, "cust-b", None),  # deleted
        (0, f"{WINDOW_PREFIX}100", encode({"x|y": 1.0})),
        (0, f"{WINDOW_PREFIX}100", encode({"x|y": 2.0})),
        (0, META_KEY, encode(PartitionMeta(4, AT))),
        (0, "cust-c", customer(5)),
        (0, "cust-c", None),
        (0, "cust-c", customer(6)),  # re-created after its tombstone
    ])
    zero, one = table.partitions[0], table.partitions[1]
    assert {k: v.offset for k, v in zero.values.items()} == {"cust-a": 4, "cust-c": 6}
    assert {k: v.offset for k, v in one.values.items()} == {"cust-a": 3}
    assert zero.minutes == {100: {"x|y": 2.0}}
    assert zero.meta == PartitionMeta(4, AT)
    assert table.is_ready()


async def test_recovery_decodes_only_the_last_record_of_a_key() -> None:
    # Superseded records are never decoded (a customer's contacts write ≈ 10 per key): an
    # undecodable one before the last does not matter.
    table = await recover([
        (0, "cust-a", b"\xc1 not msgpack"),
        (0, "cust-a", customer(7)),
    ])
    assert table.partitions[0].values["cust-a"].offset == 7


async def test_a_partition_recovered_while_a_flush_sends_does_not_break_the_flush() -> None:
    """Recovery (and revocation) change the table's partitions while a flush awaits its sends;
    the bulk path's first benchmark run crashed a starting worker with "dictionary changed size
    during iteration" here."""
    from stream.domain.events import Rejection, decode

    table: ChangelogTable[CustomerState] = ChangelogTable(
        Commerce(timedelta(days=5), lambda c: c or "other"), "x-commerce-changelog",
        timedelta(days=5), {},
    )
    (zero,) = table.own_empty([0])
    order = decode(b'{"type": "order.placed", "event_id": "e1", "occurred_at": '
                   b'"2026-11-27T11:00:00Z", "order_id": "o1", "customer_id": "c1", '
                   b'"amount": "10.00", "currency": "EUR"}', lambda: AT)
    assert not isinstance(order, Rejection)
    zero.apply("c1", 0, order)
    sent: list[tuple[bytes, int]] = []

    async def send(topic: str, key: bytes, value: bytes | None, partition: int) -> None:
        sent.append((key, partition))
        if len(sent) == 1:
            table.own_empty([1])  # a recovery finishing meanwhile
        await asyncio.sleep(0)

    await table.flush(send)
    assert {p for _, p in sent} == {0}
