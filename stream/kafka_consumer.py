"""faust's aiokafka transport with a configurable consumer fetch wait.

faust-streaming 0.15 hard-codes `fetch_max_wait_ms=1500` for its group consumer
(`AIOKafkaConsumerThread._create_worker_consumer`) and has no setting for it. A fetch returns
when `fetch_min_bytes` (1 byte) are there or the wait runs out; the tansu broker used on bare
machines does not answer a waiting fetch when records arrive, so there the whole wait shows up
as latency (benchmarks: p99 1.75 s at 1,000 events/s with 1,500 ms, 0.47 s with 100 ms). On
Apache Kafka the long poll returns early anyway and a short wait only costs idle fetches.

`Pipeline` installs `Transport` as the app's consumer transport (`install`), so faust keeps doing
group membership, rebalancing and commits; only the consumer's construction changes.
"""

from __future__ import annotations

from typing import cast

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread, creating its aiokafka consumer with our fetch wait."""

    def _create_worker_consumer(
        self, transport: faust_aiokafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = cast(Transport, transport).fetch_max_wait_ms
        # aiokafka keeps the constructor argument here and hands it to its Fetcher in
        # start(), which faust calls right after this method. Fail loudly if an aiokafka
        # upgrade renames it rather than silently going back to 1,500 ms.
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError("aiokafka.AIOKafkaConsumer has no _fetch_max_wait_ms any more")
        consumer._fetch_max_wait_ms = wait_ms
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport whose group consumer waits at most `fetch_max_wait_ms`."""

    Consumer = Consumer
    fetch_max_wait_ms: int = 100


def install(app: faust.App, fetch_max_wait_ms: int) -> Transport:
    """Make `app` consume through `Transport`; call before anything touches `app.transport`."""
    transport = Transport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    app.transport = transport
    return transport

