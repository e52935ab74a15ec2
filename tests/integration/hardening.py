"""Helpers for the hardening tests (tests/integration/test_hardening_*.py).

- reading a changelog topic to its true end and keeping the last record per key (what a
  recovering worker would load), so two passes can be compared table for table;
- the `support.sla` events of a deployment as (conversation, target, type) tuples;
- every live gauge of a scrape (the LiveCollector families), for pass-to-pass comparison;
- a paced feeder that stamps events with the wall clock;
- a loopback TCP proxy that can cut a Kafka client off the broker on demand, and a tansu broker
  that advertises the proxy's port (clients follow the advertised address in metadata, so a proxy
  in front of a broker only sees the traffic if the broker names the proxy as itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.changelog_io import true_end_offsets
from stream.embedded import StackError, free_port, tansu_binary, wait_for_port
from stream.kafka_io import route
from stream.settings import Settings
from stream.stopping import stop_process
from tests.integration.fixtures import Deployment, Samples, by_labels

# The gauges the LiveCollector derives from table state (CONTRACT §4 "live state"). Pipeline
# health gauges (lag, partitions owned, redis up) are checked separately.
LIVE_GAUGES = (
    "support_tickets_open",
    "support_tickets_awaiting_first_response",
    "support_chat_queue_waiting",
    "support_chat_queue_oldest_wait_seconds",
    "support_chats_active",
    "support_sla_at_risk",
    "support_sla_breached_open",
    "support_agents",
    "support_agent_chat_capacity",
)

Gauges = dict[str, dict[tuple[tuple[str, str], ...], float]]


def live_gauges(samples: Samples, names: Iterable[str] = LIVE_GAUGES) -> Gauges:
    """{metric: {labels: value}} for the live gauges, zero entries left out."""
    return {
        name: {labels: value for labels, value in by_labels(samples, name).items() if value}
        for name in names
    }


def sum_gauges(scrapes: Sequence[Samples], names: Iterable[str] = LIVE_GAUGES) -> Gauges:
    """Sum of the live gauges over several workers (each reports the partitions it owns)."""
    total: Gauges = {}
    for name in names:
        acc: Counter[tuple[tuple[str, str], ...]] = Counter()
        for samples in scrapes:
            for labels, value in by_labels(samples, name).items():
                acc[labels] += value
        total[name] = {labels: value for labels, value in acc.items() if value}
    return total


# --- changelogs -------------------------------------------------------------------------------
@dataclass
class Changelog:
    """The records of one changelog topic: per (partition, key) the last value (None =
    tombstone), and how many records there were."""

    last: dict[tuple[int, bytes], bytes | None] = field(default_factory=dict)
    records: int = 0

    def live(self) -> dict[tuple[int, bytes], bytes]:
        return {k: v for k, v in self.last.items() if v is not None}

    def tombstoned(self) -> set[tuple[int, bytes]]:
        return {k for k, v in self.last.items() if v is None}


async def _read_changelog(bootstrap: str, topic: str, partitions: int) -> Changelog:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    result = Changelog()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await true_end_offsets(consumer, tps)
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        for tp in remaining:
            consumer.seek(tp, begin[tp])
        deadline = time.monotonic() + 120
        while remaining and time.monotonic() < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=20000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= end[tp]:
                        break
                    result.last[(tp.partition, message.key)] = message.value
                    result.records += 1
                if messages and messages[-1].offset >= end[tp] - 1:
                    remaining.discard(tp)
        if remaining:
            left = sorted(map(str, remaining))
            raise AssertionError(f"could not read {topic} to its end: {left}")
    finally:
        await consumer.stop()
    return result


def read_changelog(bootstrap: str, topic: str, partitions: int) -> Changelog:
    return asyncio.run(_read_changelog(bootstrap, topic, partitions))


def changelog_topic(deployment: Deployment, stream: str) -> str:
    return f"{deployment.app_id}-{stream}-changelog"


# --- SLA events -------------------------------------------------------------------------------
def sla_events(deployment: Deployment) -> Counter[tuple[str, str, str]]:
    """(conversation, target, type) → how many times it is on the deployment's SLA topic."""
    found: Counter[tuple[str, str, str]] = Counter()
    for record in deployment.consume(deployment.settings().topic_sla, idle_ms=1500):
        event = json.loads(record.value)
        conversation = event.get("ticket_id") or event.get("chat_id")
        found[(conversation, event["target"], event["type"])] += 1
    return found


# --- producing --------------------------------------------------------------------------------
FEEDER_CLIENT_ID = "hardening-feeder"


class Stamper:
    """Re-stamps scenario events with the wall clock, strictly increasing, so lag is real and
    the causal order of the scenario is kept. A re-sent duplicate keeps its first stamp."""

    def __init__(self) -> None:
        self.last = datetime.now(UTC) - timedelta(seconds=1)
        self.stamps: dict[str, str] = {}

    def __call__(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for event in events:
            stamp = self.stamps.get(event["event_id"])
            if stamp is None:
                self.last = max(self.last + timedelta(microseconds=1), datetime.now(UTC))
                stamp = self.stamps[event["event_id"]] = self.last.isoformat()
            out.append({**event, "occurred_at": stamp})
        return out


async def _produce(
    settings: Settings, bootstrap: str, events: list[dict[str, Any]], client_id: str
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, client_id=client_id, linger_ms=5, acks="all",
        request_timeout_ms=15000,
    )
    await producer.start()
    try:
        for event in events:
            topic, key = route(settings, event)
            await producer.send(topic, json.dumps(event).encode(), key=key)
        await producer.flush()
    finally:
        await producer.stop()


def produce(
    deployment: Deployment, events: list[dict[str, Any]], client_id: str = FEEDER_CLIENT_ID
) -> None:
    """Like Deployment.produce, with a client id the proxy can recognise."""
    asyncio.run(_produce(deployment.settings(), deployment.bootstrap, events, client_id))


class Feeder(threading.Thread):
    """Produces chunks of events with a pause in between, in a background thread."""

    def __init__(
        self,
        deployment: Deployment,
        events: list[dict[str, Any]],
        chunk: int,
        pause: float,
        stamper: Stamper | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.chunks = [events[i : i + chunk] for i in range(0, len(events), chunk)]
        self.pause = pause
        self.stamper = stamper
        self.sent: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            for chunk in self.chunks:
                if self.stop_event.is_set():
                    return
                batch = self.stamper(chunk) if self.stamper else chunk
                produce(self.deployment, batch)
                self.sent.extend(batch)
                time.sleep(self.pause)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self, timeout: float) -> list[dict[str, Any]]:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError("the feeder did not finish")
        if self.error is not None:
            raise AssertionError(f"the feeder failed: {self.error!r}")
        return self.sent


# --- a loopback TCP proxy in front of the broker -----------------------------------------------
def kafka_client_id(request: bytes) -> str | None:
    """The client id in a Kafka request header (v1+): size, api key, version, correlation id,
    then an int16-length string."""
    if len(request) < 14:
        return None
    (length,) = struct.unpack(">h", request[12:14])
    if length < 0 or len(request) < 14 + length:
        return None
    return request[14 : 14 + length].decode("utf-8", "replace")


class TcpProxy:
    """127.0.0.1:port → 127.0.0.1:upstream, run on its own event loop thread.

    `cut()` drops every connection and refuses (accepts, then closes) new ones, except those of
    clients whose Kafka client id is in `allow`: the test's own producer keeps feeding the
    broker while the worker is cut off. `restore()` lets everything through again.
    """

    def __init__(self, upstream: int, port: int = 0, allow: Iterable[str] = ()) -> None:
        self.upstream = upstream
        self.port = port or free_port()
        self.allow = frozenset(allow)
        self.is_cut = False
        self.only: frozenset[str] | None = None
        self.refused = 0
        self.dropped = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._connections: dict[asyncio.StreamWriter, tuple[str | None, asyncio.StreamWriter]] = {}

    def start(self) -> TcpProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    def _call(self, fn: Any) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def cut(self, only: Iterable[str] | None = None) -> None:
        """Cut every client but the allowed ones, or `only` the clients with these ids."""
        def do() -> None:
            self.is_cut = True
            self.only = frozenset(only) if only is not None else None
            for client, (client_id, upstream) in list(self._connections.items()):
                if self._blocked(client_id):
                    self.dropped += 1
                    client.transport.abort()
                    upstream.transport.abort()

        self._call(do)

    def _blocked(self, client_id: str | None) -> bool:
        if self.only is not None:
            return client_id in self.only
        return client_id not in self.allow

    def restore(self) -> None:
        def do() -> None:
            self.is_cut = False

        self._call(do)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for client, (_, upstream) in list(self._connections.items()):
                client.transport.abort()
                upstream.transport.abort()

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readexactly(4), 30)
            (size,) = struct.unpack(">i", head)
            body = await asyncio.wait_for(reader.readexactly(max(0, min(size, 1 << 20))), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, struct.error):
            writer.transport.abort()
            return
        client_id = kafka_client_id(head + body)
        if self.is_cut and self._blocked(client_id):
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._connections[writer] = (client_id, up_writer)
        up_writer.write(head + body)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._connections.pop(writer, None)


@dataclass
class ProxiedBroker:
    """A tansu that listens on `port` but advertises `advertised_port` (the proxy's)."""

    port: int
    advertised_port: int
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> ProxiedBroker:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                tansu_binary(), "broker",
                "--listener-url", f"tcp://127.0.0.1:{self.port}",
                "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
                "--storage-engine", "memory://tansu/",
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_for_port(self.port, self.proc, timeout, "tansu")
        except StackError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop_process(self.proc)


@contextlib.contextmanager
def proxied_broker(
    log_path: Path, allow: Iterable[str] = ()
) -> Iterator[tuple[ProxiedBroker, TcpProxy]]:
    """A tansu behind a loopback proxy that can cut clients off (`TcpProxy.cut`)."""
    from tests.integration.conftest import missing

    proxy = TcpProxy(upstream=free_port(), allow=allow)
    broker = ProxiedBroker(proxy.upstream, proxy.port, log_path=log_path)
    try:
        proxy.start()
        try:
            broker.start()
        except (StackError, OSError) as exc:
            missing(f"tansu broker ({exc})")
        yield broker, proxy
    finally:
        proxy.stop()
        broker.stop()


# --- internal topics ----------------------------------------------------------------------------
def internal_topics(deployment: Deployment) -> list[str]:
    """The worker's own topics (changelogs and internal repartition topics)."""
    app = deployment.app_id
    streams = ("tickets", "chats", "agents", "commerce")
    return [*(f"{app}-{s}-changelog" for s in streams),
            f"{app}-sla-due", f"{app}-contacts", f"{app}-rollups"]
