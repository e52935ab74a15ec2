"""The faust application: settings → `faust.App`, agents, rebalance hooks, HTTP views.

Agents are thin (invariant 1): decode → partition state (pure domain) → changelog/metrics. Each
agent takes events in batches so every changed key is written to the changelog once per batch.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import redis.asyncio
from faust.types import EventT
from prometheus_client import CollectorRegistry, generate_latest

from stream.domain.clock import Clock
from stream.domain.conversations import Chats, Tickets
from stream.domain.events import Rejection, conversation_key, decode
from stream.domain.partition import GaugeKey, PartitionState, sum_gauges
from stream.domain.presence import Presence
from stream.metrics import Metrics
from stream.settings import Settings
from stream.tables import ChangelogTable

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def faust_settings(settings: Settings) -> dict[str, Any]:
    """The one mapping from our settings to faust's (invariant 9)."""
    return {
        "broker": settings.broker_url,
        "store": "memory://",
        "datadir": str(settings.data_dir),
        "web_enabled": True,
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        # CONTRACT §5: faust's own /table and /router pages are off, and so are its debug pages.
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": settings.commit_interval_seconds,
        "broker_session_timeout": settings.session_timeout_seconds,
        "broker_heartbeat_interval": settings.heartbeat_interval_seconds,
        "broker_rebalance_timeout": max(30.0, settings.session_timeout_seconds * 3),
        "table_standby_replicas": settings.table_standby_replicas,
        "producer_linger": 0.005,
        "stream_buffer_maxsize": max(4096, settings.batch_max * 2),
    }


def consumer_config(settings: Settings) -> dict[str, Any]:
    """aiokafka client settings for our own consumers (changelog recovery, tools)."""
    return {"bootstrap_servers": ",".join(settings.kafka_bootstrap)}


class Pipeline:
    """Owns the faust app, the tables and the metrics of one worker process."""

    def __init__(self, settings: Settings, clock: Clock, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.metrics = Metrics(registry, settings.queues)
        self.app = faust.App(settings.app_id, **faust_settings(settings))
        retention = timedelta(seconds=settings.state_retention_seconds)
        cfg = consumer_config(settings)
        self.tables: dict[str, ChangelogTable[Any]] = {
            "tickets": ChangelogTable(
                Tickets(), self._changelog_name("tickets"), retention, cfg
            ),
            "chats": ChangelogTable(
                Chats(settings.queue_label), self._changelog_name("chats"), retention, cfg
            ),
            "agents": ChangelogTable(
                Presence(settings.queue_label), self._changelog_name("agents"), retention, cfg
            ),
        }
        self.assigned_once = False
        self.redis = redis.asyncio.Redis.from_url(
            settings.redis_url.get_secret_value(), socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._redis_up = False
        self._topics = settings.input_topics
        self._declare_topics()
        self._wire_live_metrics()
        self._register_views()

    def _changelog_name(self, stream: str) -> str:
        return f"{self.settings.app_id}-{stream}-changelog"

    # --- topics and agents ---------------------------------------------------------------------
    def _declare_topics(self) -> None:
        app, s = self.app, self.settings

        def raw_topic(name: str, internal: bool = False) -> Any:
            return app.topic(
                name,
                partitions=s.partitions,
                key_serializer="raw",
                value_serializer="raw",
                internal=internal,
                compacting=internal,
            )

        self.dlq = raw_topic(s.topic_dlq)
        self.changelogs = [raw_topic(t.topic, internal=True) for t in self.tables.values()]
        for stream, topic_name in self._topics.items():
            app.agent(raw_topic(topic_name), name=f"{s.app_id}.{stream}")(self._agent_for(stream))

        async def on_assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
            assigned = args[0] if args else kwargs.get("assigned", set())
            self.assigned_once = True
            for stream, table in self.tables.items():
                topic = self._topics[stream]
                table.assign(tp.partition for tp in assigned if tp.topic == topic)

        async def declare_internal_topics() -> None:
            for topic in (self.dlq, *self.changelogs):
                await topic.maybe_declare()

        app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]  # faust stub too narrow
        app.task(declare_internal_topics)
        app.timer(5.0, name=f"{s.app_id}.redis_health")(self._check_redis)

    async def _check_redis(self) -> None:
        """Redis is a read model (invariant 7): down means degraded extras, never a stop."""
        try:
            async with asyncio.timeout(2.0):
                self._redis_up = bool(await self.redis.ping())
        except Exception:  # any failure is "down"; the reason is not worth a log line per tick
            self._redis_up = False

    def _agent_for(self, stream: str) -> Callable[[Any], Awaitable[None]]:
        s = self.settings

        async def agent(events: Any) -> None:
            async for batch in events.take_events(s.batch_max, within=s.batch_within_seconds):
                await self.process(stream, batch)

        agent.__name__ = f"{stream}_agent"
        return agent

    async def process(self, stream: str, batch: Sequence[EventT[Any]]) -> None:
        table = self.tables.get(stream)
        metrics, clock, s = self.metrics, self.clock, self.settings
        wall = _utcnow if repr(clock) == "event" else clock.now
        for event in batch:
            message = event.message
            decoded = decode(
                message.value, wall, stream=stream,
                max_bytes=s.max_event_bytes, max_future_seconds=s.max_future_seconds,
            )
            part: PartitionState[Any] | None = None
            if table is not None:
                part = await table.partition(message.partition)
                if part is None:
                    continue  # revoked during the batch: the new owner processes it
            if not isinstance(decoded, Rejection):
                key = conversation_key(decoded.event)
                if message.key is not None and message.key != key.encode():
                    decoded = Rejection("key_mismatch", f"message key is not the {stream} id")
            if isinstance(decoded, Rejection):
                if part is None or part.skip(message.offset):
                    await self.dead_letter(stream, message, decoded)
                continue
            if part is not None:
                effects = part.apply(key, message.offset, decoded)
                if effects is None:
                    continue  # applied before a crash: replay is a no-op
                metrics.apply(effects)
            metrics.event(stream, decoded.event.__struct_config__.tag)  # type: ignore[arg-type]
            clock.observe(decoded.occurred_at)
            last = metrics.live.last_event_at.get(stream)
            if last is None or decoded.occurred_at > last:
                metrics.live.last_event_at[stream] = decoded.occurred_at
        if table is not None:
            await table.flush(self._send)

    async def _send(self, topic: str, key: bytes, value: bytes | None, partition: int) -> Any:
        return await self.app.producer.send(topic, key, value, partition, None, None)

    async def dead_letter(self, stream: str, message: Any, rejection: Rejection) -> None:
        headers = [
            ("reason", rejection.reason.encode()),
            ("detail", rejection.detail.encode("utf-8", "replace")[:500]),
            ("source_topic", str(message.topic).encode()),
            ("source_partition", str(message.partition).encode()),
            ("source_offset", str(message.offset).encode()),
        ]
        await self.app.producer.send(
            self.settings.topic_dlq, message.key, message.value, None, None, headers
        )
        self.metrics.reject(rejection.reason)

    # --- live metrics and readiness ------------------------------------------------------------
    def _wire_live_metrics(self) -> None:
        live = self.metrics.live
        live.gauges = self.live_gauges
        live.oldest_waiting = self.oldest_waiting
        live.now = self.clock.now
        live.partitions_owned = lambda: sum(len(t.owned()) for t in self.tables.values())
        live.redis_up = lambda: self._redis_up

    def live_gauges(self) -> dict[GaugeKey, int]:
        total: dict[GaugeKey, int] = {}
        for table in self.tables.values():
            total.update(sum_gauges(table.ready_partitions()))
        return total

    def oldest_waiting(self) -> dict[str, datetime]:
        oldest: dict[str, datetime] = {}
        for part in self.tables["chats"].ready_partitions():
            for queue, since in part.oldest_waiting().items():
                if queue not in oldest or since < oldest[queue]:
                    oldest[queue] = since
        return oldest

    def is_ready(self) -> bool:
        return self.assigned_once and all(t.is_ready() for t in self.tables.values())

    # --- HTTP ----------------------------------------------------------------------------------
    def _register_views(self) -> None:
        app = self.app
        token = self.settings.api_token

        def authorized(request: Any) -> bool:
            if token is None:
                return True
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {token.get_secret_value()}"
            return hmac.compare_digest(given.encode(), expected.encode())

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            if not authorized(request):
                return web.json({"error": "unauthorized"}, status=401)
            # aiohttp refuses a charset inside content_type; the exposition format is ASCII.
            return web.bytes(generate_latest(self.registry), content_type=METRICS_CONTENT_TYPE)

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "alive"})

        @app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            if not authorized(request):
                return web.json({"error": "unauthorized"}, status=401)
            ready = self.is_ready()
            body = {
                "ready": ready,
                "partitions": {name: t.owned() for name, t in self.tables.items()},
            }
            return web.json(body, status=200 if ready else 503)


def _utcnow() -> datetime:
    return datetime.now(UTC)
