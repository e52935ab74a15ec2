"""The group consumer's fetch wait reaches aiokafka's fetcher on a real broker.

faust hard-codes a 1,500 ms fetch wait; `SUPPORTPULSE_FETCH_MAX_WAIT_MS` replaces it
(stream/kafka_consumer.py). aiokafka hands the value to its Fetcher only in `start()`, so this
starts the consumer faust's consumer thread would create and looks at what the fetcher got.
"""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from stream.domain.clock import WallClock
from stream.worker import Pipeline
from tests.integration.fixtures import Deployment

pytestmark = pytest.mark.integration


async def test_started_group_consumer_fetches_with_the_configured_wait(
    deployment: Deployment,
) -> None:
    settings = deployment.settings().model_copy(update={"fetch_max_wait_ms": 70})
    pipeline = Pipeline(settings, WallClock(), CollectorRegistry())
    consumer = pipeline.app.consumer._thread._create_worker_consumer(pipeline.app.transport)
    await consumer.start()
    try:
        assert consumer._fetcher._fetch_max_wait_ms == 70
    finally:
        await consumer.stop()
        await pipeline.redis.aclose()
