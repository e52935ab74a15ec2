"""The faust application: settings → `faust.App`, agents, rebalance hooks, HTTP views.

Agents are thin (invariant 1): decode → partition state (pure domain) → changelog/metrics. Each
agent takes events in batches so every changed key is written to the changelog once per batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import faust.web.base
import msgspec
import redis.asyncio
from faust.types import EventT
from prometheus_client import CollectorRegistry, generate_latest

from stream import kafka_consumer, shipped
from stream.domain import effects as fx
from stream.domain.clock import Clock, EventClock
from stream.domain.commerce import Commerce, ContactRecord, CustomerState
from stream.domain.conversations import Chats, Tickets
from stream.domain.effects import AgentStat, Count, Effect, Notice
from stream.domain.events import Rejection, conversation_key, decode
from stream.domain.partition import GaugeKey, PartitionState, sum_gauges
from stream.domain.presence import Presence
from stream.domain.signals import StaffingTargets
from stream.domain.sla import SlaRules
from stream.domain.sla_policy import parse_policy_text
from stream.kafka_io import changelog_topics
from stream.metrics import Metrics
from stream.read_model import BackgroundWriter, ReadModel, Scorecards
from stream.rollups import SignalOwner, build_partials, load_forecast
from stream.security import (
    bearer_matches,
    faust_credentials,
    kafka_client_config,
    redis_kwargs,
)
from stream.settings import Settings
from stream.tables import ChangelogTable

SLA_STREAMS = ("tickets", "chats")
CONTACT_COUNTS = frozenset({fx.TICKETS_CREATED, fx.CHATS_REQUESTED})
SWEEP_INTERVAL_SECONDS = 1.0

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


# faust always mounts a production index page at "/" that no setting turns off and that our
# bearer token would not cover (CONTRACT §5: only /healthz is open). Serve no such page.
faust.web.base.Web.production_blueprints = []


def faust_settings(settings: Settings) -> dict[str, Any]:
    """The one mapping from our settings to faust's (invariant 9)."""
    return {
        "broker": settings.broker_url,
        "broker_credentials": faust_credentials(settings),
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
    return kafka_client_config(settings)


class Pipeline:
    """Owns the faust app, the tables and the metrics of one worker process."""

    def __init__(self, settings: Settings, clock: Clock, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.metrics = Metrics(registry, settings.queues, settings.currencies)
        self.app = faust.App(settings.app_id, **faust_settings(settings))
        # Before anything creates the default transport: faust has no setting for this.
        kafka_consumer.install(self.app, settings.fetch_max_wait_ms)
        retention = timedelta(seconds=settings.state_retention_seconds)
        cfg = consumer_config(settings)
        self.policy = shipped.source(settings.sla_policy_file, shipped.POLICY)
        self.rules = SlaRules(parse_policy_text(self.policy.text, self.policy.name)) if (
            self.policy) else None
        self.forecast = shipped.source(settings.forecast_file, shipped.FORECAST)
        attribution = timedelta(seconds=settings.attribution_window_seconds)
        self.commerce = Commerce(attribution, settings.currency_label)
        self.tz = ZoneInfo(settings.timezone)
        self.tables: dict[str, ChangelogTable[Any]] = {
            "tickets": ChangelogTable(
                Tickets(self.rules, settings.queue_label), self._changelog_name("tickets"),
                retention, cfg,
                source_topic=settings.topic_tickets,
            ),
            "chats": ChangelogTable(
                Chats(settings.queue_label, self.rules), self._changelog_name("chats"),
                retention, cfg, source_topic=settings.topic_chats,
            ),
            "agents": ChangelogTable(
                Presence(settings.queue_label), self._changelog_name("agents"), retention, cfg
            ),
            "commerce": ChangelogTable(
                self.commerce, self._changelog_name("commerce"), attribution, cfg,
                source_topic=settings.topic_commerce,
            ),
        }
        self.assigned_once = False
        self.redis = redis.asyncio.Redis.from_url(
            settings.redis_url.get_secret_value(), **redis_kwargs(settings)
        )
        self._redis_up: bool | None = None  # None until the first health check
        self._redis_run_id: str | None = None
        self.read_model = ReadModel(self.redis, settings.app_id, self.rules)
        for stream in SLA_STREAMS:
            self.tables[stream].on_ready = self._rebuild_callback(stream)
        self._json = msgspec.json.Encoder()
        self.scorecards = Scorecards(self.redis, settings.app_id, self.tz)
        self.writer = BackgroundWriter()
        targets = StaffingTargets(
            settings.staffing_target_ratio, settings.staffing_within_seconds,
            settings.chat_aht_seconds, settings.ticket_aht_seconds, settings.ticket_occupancy,
        )
        self.signals = SignalOwner(
            settings.queues,
            targets,
            {
                queue: dataclasses.replace(
                    targets,
                    chat_target_seconds=chat_target(self.rules, queue),
                    **settings.staffing_queue_targets.get(queue, {}),
                )
                for queue in [*settings.queues, "other"]
            },
            load_forecast(self.forecast, settings.forecast_multiplier),
            settings.timezone,
            clock.now,
            stale_after=3 * settings.rollup_interval_seconds,
        )
        registry.register(self.signals)
        self._topics = settings.input_topics
        self._declare_topics()
        self._wire_live_metrics()
        self._register_views()

    def _changelog_name(self, stream: str) -> str:
        name = f"{self.settings.app_id}-{stream}-changelog"
        assert name in changelog_topics(self.settings)  # created before the worker starts
        return name

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
        self.sla_out = raw_topic(s.topic_sla)
        self.staffing_out = raw_topic(s.topic_staffing)
        self.changelogs = [raw_topic(t.topic, internal=True) for t in self.tables.values()]
        # Invariant 3: the sweep timer cannot write tables; it sends the keys that are due to
        # this topic, partitioned like the source, and an agent applies the evaluation.
        self.sla_due = app.topic(
            f"{s.app_id}-sla-due", partitions=s.partitions, key_serializer="raw",
            value_serializer="raw", internal=True,
        )
        self.changelogs.append(self.sla_due)
        # Contacts re-keyed by customer id meet the customer's orders in the same partition.
        self.contacts = app.topic(
            f"{s.app_id}-contacts", partitions=s.partitions, key_serializer="raw",
            value_serializer="raw", internal=True,
        )
        self.changelogs.append(self.contacts)
        app.agent(self.contacts, name=f"{s.app_id}.contacts")(self._contacts_agent)
        self.rollups = app.topic(
            f"{s.app_id}-rollups", partitions=s.partitions, key_serializer="raw",
            value_serializer="raw", internal=True,
        )
        self.changelogs.append(self.rollups)
        app.agent(self.rollups, name=f"{s.app_id}.rollups")(self._rollups_agent)
        app.timer(s.rollup_interval_seconds, name=f"{s.app_id}.rollup")(self.send_rollups)
        app.timer(30.0, name=f"{s.app_id}.staffing")(self.publish_staffing)
        app.agent(self.sla_due, name=f"{s.app_id}.sla-due")(self._sla_due_agent)
        app.timer(SWEEP_INTERVAL_SECONDS, name=f"{s.app_id}.sla-sweep")(self.sweep)
        for stream, topic_name in self._topics.items():
            app.agent(raw_topic(topic_name), name=f"{s.app_id}.{stream}")(self._agent_for(stream))

        async def on_assigned(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
            assigned = args[0] if args else kwargs.get("assigned", set())
            self.assigned_once = True
            rollups = self.rollups.get_topic_name()
            self.signals.assign(tp.partition for tp in assigned if tp.topic == rollups)
            for stream, table in self.tables.items():
                topic = self._topics[stream]
                table.assign(tp.partition for tp in assigned if tp.topic == topic)

        async def declare_internal_topics() -> None:
            # Named at every start (invariant 11): nothing in force is a silent default.
            log.info("SLA policy in force: %s", self.policy.name if self.policy
                     else "none (SUPPORTPULSE_SLA_POLICY_FILE=none: SLA tracking is off)")
            log.info("forecast baseline: %s", self.forecast.name if self.forecast
                     else "none (the same hour of recent weeks of traffic)")
            for topic in (self.dlq, self.sla_out, self.staffing_out, *self.changelogs):
                await topic.maybe_declare()

        app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]  # faust stub too narrow
        app.task(declare_internal_topics)
        app.timer(2.0, name=f"{s.app_id}.redis_health")(self._check_redis)

    async def _check_redis(self) -> None:
        """Redis is a read model (invariant 7): down means degraded extras, never a stop."""
        was_up = self._redis_up
        restarted = False
        try:
            async with asyncio.timeout(2.0):
                # The server's run_id changes with every start (and on a failover): a restart
                # between two checks loses the lists without ever looking down to a ping.
                run_id = (await self.redis.info("server")).get("run_id")
            restarted = self._redis_run_id is not None and run_id not in (None, self._redis_run_id)
            self._redis_run_id = run_id or self._redis_run_id
            self._redis_up = True
        except Exception:  # any failure is "down"; the reason is not worth a log line per tick
            self._redis_up = False
        if self._redis_up and (was_up is False or restarted) and self.assigned_once:
            # Back after an outage (or a restart that lost everything): rebuild every list.
            for stream in SLA_STREAMS:
                for ready in self.tables[stream].ready_partitions():
                    self.read_model.needs_rebuild.add((stream, ready.partition))
        if self._redis_up:
            for stream, p in sorted(self.read_model.needs_rebuild):
                owned = self.tables[stream].partitions.get(p)
                if owned is None:
                    self.read_model.needs_rebuild.discard((stream, p))
                elif not await self.read_model.rebuild(stream, p, owned):
                    break

    def _rebuild_callback(
        self, stream: str
    ) -> Callable[[int, PartitionState[Any]], Awaitable[None]]:
        async def rebuild(partition: int, state: PartitionState[Any]) -> None:
            # After recovery the Redis list of this partition is replaced from the table.
            if not await self.read_model.rebuild(stream, partition, state):
                self._redis_up = False

        return rebuild

    # --- SLA sweep ---------------------------------------------------------------------------
    async def sweep(self) -> None:
        """Send the keys whose next SLA instant has passed (O(due) per tick, invariant 8)."""
        if self.rules is None:
            return
        now = self.clock.now()
        per_partition = isinstance(self.clock, EventClock)
        for stream in SLA_STREAMS:
            for part in self.tables[stream].ready_partitions():
                if not part.caught_up:
                    continue
                due_at = now
                if per_partition and part.meta.watermark is not None:
                    # In event time a partition is only as far as its own events: another
                    # partition's later events must not breach targets answered here.
                    due_at = min(now, part.meta.watermark)
                for key in part.pop_due(due_at):
                    await self.app.producer.send(
                        self.sla_due.get_topic_name(), key.encode(), stream.encode(),
                        part.partition, None, None,
                    )

    async def _contacts_agent(self, stream: Any) -> None:
        s = self.settings
        decoder = msgspec.json.Decoder(ContactRecord)
        table = self.tables["commerce"]
        async for batch in stream.take_events(s.batch_max, within=s.batch_within_seconds):
            for event in batch:
                message = event.message
                try:
                    record = decoder.decode(message.value)
                except msgspec.DecodeError:
                    continue  # internal topic: only we write it
                part = await table.partition(message.partition)
                if part is None:
                    continue
                try:
                    effects = part.update(record.customer_id, partial(self._contact, record))
                except Exception as exc:  # a bad contact must not stop the join
                    log.error("contact in partition %d failed: %s", message.partition,
                              type(exc).__name__)
                    continue
                self.metrics.apply(effects)
            await self._flush("commerce")

    # --- stage two ------------------------------------------------------------------------------
    async def send_rollups(self) -> None:
        owned: dict[int, list[PartitionState[Any]]] = {}
        for name in ("tickets", "chats", "agents"):
            for part in self.tables[name].ready_partitions():
                owned.setdefault(part.partition, []).append(part)
        topic = self.rollups.get_topic_name()
        for key, rollup in build_partials(owned, self.signals.queues, self.clock.now()):
            await self.app.producer.send(
                topic, key.encode(), self._json.encode(rollup), None, None, None
            )

    async def _rollups_agent(self, stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            key = message.key.decode()
            try:
                self.signals.receive(key, message.partition, message.value)
            except msgspec.DecodeError:
                continue
            if key == "global":
                await self._update_contact_rate()

    async def _update_contact_rate(self) -> None:
        day = self.clock.now().astimezone(self.tz).date().isoformat()
        app_id = self.settings.app_id
        try:
            seen = await self.redis.pfcount(f"{app_id}:customers-seen:{day}")
            contacted = await self.redis.pfcount(f"{app_id}:customers-contacted:{day}")
        except (redis.RedisError, OSError):
            return
        # HyperLogLogs are estimates: the ratio is capped at 1.
        self.signals.contact_rate = min(1.0, contacted / seen) if seen else None

    async def publish_staffing(self) -> None:
        now = self.clock.now()
        for queue in self.signals.queues:
            signals = self.signals.queue(queue)
            if signals is None:
                continue
            await self.app.producer.send(
                self.settings.topic_staffing, queue.encode(),
                self._json.encode(signals.to_event(queue, now)), None, None, None,
            )

    def _contact(
        self, record: ContactRecord, old: CustomerState | None
    ) -> tuple[CustomerState | None, list[Effect]]:
        return self.commerce.contact(old, record)

    async def _sla_due_agent(self, stream: Any) -> None:
        s = self.settings
        async for batch in stream.take_events(s.batch_max, within=s.batch_within_seconds):
            touched: set[str] = set()
            notices: list[Effect] = []
            now = self.clock.now()
            for event in batch:
                message = event.message
                name = message.value.decode() if message.value else ""
                table = self.tables.get(name)
                if table is None or name not in SLA_STREAMS:
                    continue
                part = await table.partition(message.partition)
                if part is None:
                    continue
                at = now
                if isinstance(self.clock, EventClock) and part.meta.watermark is not None:
                    at = min(now, part.meta.watermark)  # see sweep()
                try:
                    effects = part.evaluate(message.key.decode(), at)
                except Exception as exc:  # never stop the SLA agent on one conversation
                    log.error("SLA evaluation failed in partition %d: %s", message.partition,
                              type(exc).__name__)
                    continue
                self.metrics.apply(effects)
                notices += effects
                touched.add(name)
            # Time-driven notices may come from replayed sweep commands: always check.
            await self.publish_notices(notices, now, check=True)  # before the changelog
            for name in touched:
                await self._flush(name)

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
        notices: list[Effect] = []
        contacts: list[ContactRecord] = []
        seen_customers: list[tuple[str, datetime]] = []
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
                try:
                    effects = part.apply(key, message.offset, decoded)
                except Exception as exc:  # a domain bug must not stop the partition for good
                    # The offset is marked applied, so a replay skips it too; the raw message
                    # waits in the DLQ. No event content in the log (privacy).
                    log.error("%s event at %s[%d]@%d failed: %s", decoded.event.__class__.__name__,
                              message.topic, message.partition, message.offset,
                              type(exc).__name__)
                    await self.dead_letter(
                        stream, message, Rejection("processing_error", type(exc).__name__)
                    )
                    continue
                if effects is None:
                    continue  # applied before a crash: replay is a no-op
                metrics.apply(effects)
                notices += effects
                customer = getattr(decoded.event, "customer_id", None)
                if customer:
                    seen_customers.append((customer, decoded.occurred_at))
                    if any(isinstance(e, Count) and e.metric in CONTACT_COUNTS for e in effects):
                        contacts.append(ContactRecord(customer, key, decoded.occurred_at))
            metrics.event(stream, decoded.event.__struct_config__.tag)  # type: ignore[arg-type]
            clock.observe(decoded.occurred_at)
            last = metrics.live.last_event_at.get(stream)
            if last is None or decoded.occurred_at > last:
                metrics.live.last_event_at[stream] = decoded.occurred_at
        # Notices go out before the changelog records that say they were sent: a crash in
        # between replays the batch, and the Redis marker suppresses the second send.
        await self.publish_notices(notices, clock.now())
        if table is not None:
            await self._flush(stream)
        for contact in contacts:
            await self.app.producer.send(
                self.contacts.get_topic_name(), contact.customer_id.encode(),
                self._json.encode(contact), None, None, None,
            )
        if seen_customers:
            self.writer.submit(partial(self.record_customers, seen_customers, contacts))
        stats = [e for e in notices if isinstance(e, AgentStat)]
        if stats:
            self.writer.submit(partial(self._record_stats, stats))

    async def _record_stats(self, stats: list[AgentStat]) -> None:
        try:
            await self.scorecards.record(stats)
        except (redis.RedisError, OSError):
            self._redis_up = False  # the scorecard misses these; the pipeline goes on

    async def record_customers(
        self, seen: list[tuple[str, datetime]], contacts: list[ContactRecord]
    ) -> None:
        """Distinct customers per local day in Redis HyperLogLogs (for the contact rate).

        PFADD is idempotent, so replays after a crash cannot inflate the counts.
        """
        # One PFADD per day and kind for the whole batch, not two commands per customer.
        app_id = self.settings.app_id
        days: dict[str, set[str]] = {}
        for customer, at in seen:
            day = at.astimezone(self.tz).date().isoformat()
            days.setdefault(f"{app_id}:customers-seen:{day}", set()).add(customer)
        for contact in contacts:
            day = contact.at.astimezone(self.tz).date().isoformat()
            days.setdefault(f"{app_id}:customers-contacted:{day}", set()).add(
                contact.customer_id
            )
        pipe = self.redis.pipeline(transaction=False)
        for key, customers in days.items():
            pipe.pfadd(key, *sorted(customers))
            pipe.expire(key, 3 * 86400)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            self._redis_up = False

    async def _flush(self, stream: str) -> None:
        changes = await self.tables[stream].flush(self._send)
        if stream in SLA_STREAMS and self.rules is not None:
            for partition, changed in changes.items():
                self.writer.submit(
                    partial(self._update_read_model, stream, partition, changed),
                    on_drop=partial(self.read_model.needs_rebuild.add, (stream, partition)),
                )

    async def _update_read_model(self, stream: str, partition: int, changed: Any) -> None:
        if not await self.read_model.update(stream, partition, changed):
            self._redis_up = False

    async def publish_notices(
        self, effects: Sequence[Effect], now: datetime, *, check: bool | None = None
    ) -> None:
        """Send `support.sla` events, skipping those an earlier incarnation already sent, and
        return only once the broker has them.

        The changelog records that say a notice was sent are written after this returns. The
        producer does not deliver in send order across partitions (a partition with a request in
        flight waits while others go out), so without the wait a SIGKILL could land after the
        changelog records and before the notice: the replay would skip the input as applied and
        the notice would be lost. A failed delivery is retried, never dropped.

        Only input that may have been processed before a crash can repeat a notice: input up
        to the end offset a partition had when it was assigned. Redis is asked only while a
        partition is still catching up (or when `check` says so); fresh input skips the trip.
        """
        notices = [e for e in effects if isinstance(e, Notice)]
        if not notices:
            return
        ids = [(n.conversation, n.target, n.kind) for n in notices]
        if check is None:
            check = any(
                not part.caught_up
                for stream in SLA_STREAMS
                for part in self.tables[stream].ready_partitions()
            )
        sent = await self.read_model.already_sent(ids) if check else [False] * len(ids)
        pending = [
            (ident, self._notice_payload(notice, ident, now))
            for notice, ident, done in zip(notices, ids, sent, strict=True)
            if not done
        ]
        delivered: list[tuple[str, str, str]] = []
        for attempt in itertools.count():
            futures = [
                await self.app.producer.send(
                    self.settings.topic_sla, ident[0].encode(), payload, None, None, None
                )
                for ident, payload in pending
            ]
            results = await asyncio.gather(*futures, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            delivered += [i for (i, _), r in zip(pending, results, strict=True)
                          if not isinstance(r, BaseException)]
            if not errors:
                break
            pending = [p for p, r in zip(pending, results, strict=True)
                       if isinstance(r, BaseException)]
            log.warning("%d SLA events not delivered (%s); sending them again",
                        len(pending), type(errors[0]).__name__)
            await asyncio.sleep(min(5.0, 0.1 * 2**attempt))
        if delivered:
            # Markers only spare a replay the re-send; the broker already has the events.
            self.writer.submit(partial(self.read_model.mark_sent, delivered))

    def _notice_payload(self, notice: Notice, ident: tuple[str, str, str], now: datetime) -> bytes:
        id_field = "chat_id" if notice.channel == "chat" else "ticket_id"
        return self._json.encode({
            "type": notice.kind,
            "event_id": ":".join(ident),
            "occurred_at": _rfc3339(now),
            id_field: notice.conversation,
            "target": notice.target,
            "deadline": _rfc3339(notice.deadline) if notice.deadline else None,
            "policy": notice.policy,
            "channel": notice.channel,
            "priority": notice.priority,
            "queue": notice.queue,
        })

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
        # Input topics are co-partitioned: a worker owns partition p of every input topic, so
        # the count of partition numbers sums to the topic partition count across workers.
        live.partitions_owned = lambda: len({p for t in self.tables.values() for p in t.owned()})
        live.redis_up = lambda: bool(self._redis_up)
        live.table_keys = lambda: {
            name: sum(len(part.values) for part in table.ready_partitions())
            for name, table in self.tables.items()
        }

    def live_gauges(self) -> Counter[GaugeKey]:
        # One sum over every table: tickets of channel chat and live chats share label sets.
        # Per-minute deadline counts are not in here (PartitionState.rollup_counts): merging
        # them on every scrape dominated the scrape time.
        return sum_gauges(
            part for table in self.tables.values() for part in table.ready_partitions()
        )

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
            return bearer_matches(request.headers.get("Authorization"), token.get_secret_value())

        @app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            if not authorized(request):
                return web.json({"error": "unauthorized"}, status=401)
            # aiohttp refuses a charset inside content_type; the exposition format is ASCII.
            return web.bytes(generate_latest(self.registry), content_type=METRICS_CONTENT_TYPE)

        @app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "alive"})

        @app.page("/sla/at-risk")
        async def at_risk(web: Any, request: Any) -> Any:
            if not authorized(request):
                return web.json({"error": "unauthorized"}, status=401)
            try:
                limit = int(request.query.get("limit", "50"))
            except ValueError:
                return web.json({"error": "limit must be an integer"}, status=400)
            if not 1 <= limit <= 10000:
                return web.json({"error": "limit must be between 1 and 10000"}, status=400)
            try:
                items = await self.read_model.at_risk(
                    SLA_STREAMS, self.settings.partitions, limit
                )
            except Exception as exc:  # Redis down: the list is a degraded extra
                return web.json({"error": f"read model unavailable: {exc}"}, status=503)
            now = self.clock.now()
            for item in items:
                deadline = datetime.fromisoformat(item["deadline"])
                item["seconds_left"] = round((deadline - now).total_seconds(), 3)
            return web.json(items)

        @app.page("/agents")
        async def agents(web: Any, request: Any) -> Any:
            if not authorized(request):
                return web.json({"error": "unauthorized"}, status=401)
            try:
                return web.json(await self.scorecards.today(self.clock.now()))
            except Exception as exc:  # Redis down: a degraded extra
                return web.json({"error": f"read model unavailable: {exc}"}, status=503)

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


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chat_target(rules: SlaRules | None, queue: str) -> float:
    """The chat first-response target of a queue's policy (what a projected breach misses)."""
    policy = rules.book.find("chat", "normal", queue, None, "chat") if rules else None
    return policy.targets.get("first_response", 120.0) if policy else 120.0
