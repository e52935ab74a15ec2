"""A fresh app with the default 8 partitions must become ready on a broker that auto-creates topics.

Found while building the rebalance test; fixed in commit 36c8663 (the worker creates its internal
topics before it starts), kept as the regression test. `ChangelogTable._recover`
(stream/tables.py) starts on the first partition assignment and asked the broker for the
changelog's offsets before the pipeline's `declare_internal_topics` task had created
`<app>-<stream>-changelog` (that ran after faust reported the worker ready). The metadata request
auto-created the changelog with the broker's default partition count — tansu: 4, Apache Kafka:
`num.partitions`, 1 by default — and the later declare found it existing. Recovery of partitions
4..7 then waited for partitions that never appear: /readyz 503 for ever, silently. The older
integration tests use 4 partitions, tansu's default, and never saw it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from tests.integration.fixtures import Deployment
from tests.integration.hardening import internal_topics

pytestmark = pytest.mark.integration


class NeverReady(AssertionError):
    pass


async def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()
        return {t: len(consumer.partitions_for_topic(t) or ()) for t in topics}
    finally:
        await consumer.stop()


def test_fresh_eight_partition_app_becomes_ready(deployment_factory: Any) -> None:
    deployment: Deployment = deployment_factory(partitions=8)
    worker = deployment.worker(clock="fixed:2026-11-27T12:00:00Z").start(wait_ready=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert worker.alive(), worker.log_tail()
        if worker.http("/readyz")[0] == 200:
            counts = asyncio.run(partition_counts(deployment.bootstrap,
                                                  internal_topics(deployment)))
            assert set(counts.values()) == {8}, counts
            return
        time.sleep(0.5)
    counts = asyncio.run(partition_counts(deployment.bootstrap, internal_topics(deployment)))
    raise NeverReady(
        f"not ready after 30 s: /readyz {worker.http('/readyz')}; partitions of the internal "
        f"topics: {counts}"
    )
