"""faust's aiokafka transport with a configurable consumer fetch wait and a bulk ingest path.

faust-streaming 0.15 hard-codes `fetch_max_wait_ms=1500` for its group consumer
(`AIOKafkaConsumerThread._create_worker_consumer`) and has no setting for it. A fetch returns
when `fetch_min_bytes` (1 byte) are there or the wait runs out; the tansu broker used on bare
machines does not answer a waiting fetch when records arrive, so there the whole wait shows up
as latency (benchmarks: p99 1.75 s at 1,000 events/s with 1,500 ms, 0.47 s with 100 ms). On
Apache Kafka the long poll returns early anyway and a short wait only costs idle fetches.

`Pipeline` installs `Transport` as the app's consumer transport (`install`), so faust keeps doing
group membership, rebalancing, commits, timers and web.

Bulk ingest (`Consumer._drain_messages`): faust hands every fetched record to the conductor, a
topic channel and a stream iterator, one `asyncio.wait` per message; that delivery was about 60 %
of the worker's CPU. For the topics in `Transport.bulk` the fetched records of one partition go
to the handler as one list instead. The rebalance contract is kept the way faust keeps it for
streams: the batch's messages are tracked as unacknowledged before the handler runs and
acknowledged after it returns (by then its changelog records are sent), so a revocation, which
waits for every tracked message, cannot drop a partition's state while its batch still writes,
and faust's commit (which flushes the producer first) never runs ahead of state. A batch is not
started once the flow stops or the generation changes; faust then seeks back to the committed
offsets, as its own loop does. These are private faust APIs: `check_internals` fails loudly
when a faust upgrade changes them (faust-streaming is pinned to the tested minor range).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiokafka
import faust
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

log = logging.getLogger(__name__)

# A bulk handler gets one partition's fetched messages, in offset order.
BulkHandler = Callable[[Sequence[Message]], Awaitable[None]]

# What the bulk path uses of faust's consumer (faust-streaming 0.15).
INTERNALS = (
    "_wait_next_records", "_to_message", "_read_offset", "_add_gap", "_unacked_messages",
    "_n_acked", "_commit_every", "_buffered_partitions", "flow_active", "perform_seek",
    "track_message", "ack", "commit", "highwater", "consumer_stopped_errors",
)


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


def check_internals() -> None:
    """Raise if faust's consumer lacks what the bulk path relies on (a faust upgrade)."""
    probe = FaustConsumer.__dict__.keys() | faust_aiokafka.Consumer.__dict__.keys()
    annotations = {
        name for cls in FaustConsumer.__mro__ for name in getattr(cls, "__annotations__", {})
    }
    missing = [n for n in INTERNALS if n not in probe and n not in annotations
               and not hasattr(FaustConsumer, n)]
    if missing:
        raise RuntimeError(f"faust's Consumer changed; the bulk ingest path needs {missing}")


@dataclass(frozen=True)
class Faults:
    """Test-only fault injection for the bulk path (tests/integration/test_hardening_bulk.py),
    from `SUPPORTPULSE_TEST_FAULTS`, e.g. `hold=0.2` (hold every batch that long after it is
    tracked, so a rebalance lands while it is in flight) or `kill_after_batch=40` (SIGKILL the
    process once that batch's changelog records are on the broker, before its ack and commit,
    so the restart re-reads input the changelog already covers). Not a
    setting: nothing in production sets it, and the worker logs a warning when it fires."""

    hold_seconds: float = 0.0
    kill_after_batch: int | None = None

    @classmethod
    def parse(cls, text: str) -> Faults:
        fields = dict(part.split("=", 1) for part in text.split(",") if part)
        return cls(float(fields.get("hold", 0.0)),
                   int(fields["kill_after_batch"]) if "kill_after_batch" in fields else None)


FAULTS = Faults.parse(os.environ.get("SUPPORTPULSE_TEST_FAULTS", ""))


class Consumer(faust_aiokafka.Consumer):
    _handled = 0  # bulk batches handled by this process (the kill fault counts them)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:
        bulk = cast(Transport, self.transport).bulk
        if not bulk:
            return await super()._drain_messages(fetcher)
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (self._stopped.is_set() or fetcher_stopped()):
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)  # getmany may return at once in a loop: let others run
                if records is None or self.should_stop:
                    continue
                if not self.flow_active:
                    await self._seek_back()
                    continue
                await self._deliver(records, active, bulk)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _seek_back(self) -> None:
        """A rebalance paused the flow: go back to what was committed, as faust's `getmany`
        does, and like it survive a failed seek. A partition revoked between the pause and the
        seek makes aiokafka raise IllegalStateError ("No current assignment"); raising it here
        crashed the whole worker mid-rebalance. The next assignment seeks again."""
        try:
            await self.perform_seek()
        except Exception as exc:  # as faust: any seek failure waits for the next assignment
            log.warning("seek to the committed offsets failed while the flow is paused: %r", exc)

    async def _deliver(
        self, records: Mapping[TP, Sequence[Any]], active: set[TP] | None,
        bulk: Mapping[str, BulkHandler],
    ) -> None:
        generation = self.app.consumer_generation_id
        for tp, batch in list(records.items()):
            if not self.flow_active or self.app.consumer_generation_id != generation:
                return  # the rest is fetched again from the committed offsets
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            messages = await self._fresh(tp, batch)
            if not messages:
                continue
            handler = bulk.get(tp.topic)
            if handler is None:  # not a bulk topic: faust's own delivery, message by message
                for message in messages:
                    await self.wait_first(self.callback(message), self.suspend_flow.wait())
                    self._read_offset[tp] = message.offset
                continue
            size = cast(Transport, self.transport).batch_max
            for start in range(0, len(messages), size):
                if not self.flow_active or self.app.consumer_generation_id != generation:
                    return
                await self._handle(tp, messages[start:start + size], handler)

    async def _handle(self, tp: TP, batch: Sequence[Message], handler: BulkHandler) -> None:
        for message in batch:
            self.track_message(message)  # a revocation now waits for this batch
        if FAULTS.hold_seconds:
            await asyncio.sleep(FAULTS.hold_seconds)
            if not self.flow_active:
                log.warning("test fault: a revocation began while a bulk batch was held")
        await handler(batch)
        self._handled += 1
        if FAULTS.kill_after_batch == self._handled:
            await self.app.producer.flush()  # the changelog records are on the broker
            log.warning("test fault: SIGKILL after batch %d, before its ack", self._handled)
            os.kill(os.getpid(), signal.SIGKILL)
        for message in batch:
            self.ack(message)
        self._read_offset[tp] = batch[-1].offset
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()

    async def _fresh(self, tp: TP, records: Sequence[Any]) -> list[Message]:
        """The records not read yet, as faust messages; offset gaps recorded as faust does."""
        read = self._read_offset[tp]
        acks = self.app.topics.acks_enabled_for(tp.topic)
        out: list[Message] = []
        for record in records:
            offset = record.offset
            if read is not None and offset < read:
                continue  # already delivered
            if read and offset - read > 1 and acks:
                await self._add_gap(tp, read + 1, offset)
            read = offset
            out.append(self._to_message(tp, record))
        return out



class Transport(faust_aiokafka.Transport):
    """The aiokafka transport whose group consumer waits at most `fetch_max_wait_ms`."""

    Consumer = Consumer
    fetch_max_wait_ms: int = 100
    # Topic name → bulk handler (empty: faust's per-message delivery for every topic).
    bulk: dict[str, BulkHandler]
    batch_max: int = 2000  # records per handler call

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bulk = {}


def install(app: faust.App, fetch_max_wait_ms: int) -> Transport:
    """Make `app` consume through `Transport`; call before anything touches `app.transport`."""
    check_internals()
    transport = Transport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    app.transport = transport
    return transport

