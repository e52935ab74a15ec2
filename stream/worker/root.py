"""The composition root: settings → the worker's parts, wired into one `faust.App`.

One event's path: an input topic's agent (topology) hands a batch to `Ingest.apply`, which
decodes each message and applies it to its partition's state (the pure domain); the `Outcome`
goes to `Outputs.write` (dead letters, notices, changelog, contacts); the partition's gauge
counters are what `stream.live.LiveCollector` sums at the next scrape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import faust
import redis.asyncio
from prometheus_client import CollectorRegistry

from stream import kafka_consumer, shipped
from stream.domain.clock import Clock
from stream.domain.commerce import Commerce
from stream.domain.sla import SlaRules
from stream.domain.sla_policy import parse_policy_text
from stream.kafka_io import WorkerTopics
from stream.live import LiveCollector
from stream.metrics import Metrics, recovery_observer
from stream.read_model import ReadModel
from stream.scorecards import Scorecards
from stream.security import redis_kwargs
from stream.settings import Settings
from stream.worker import sweep, topology
from stream.worker.customers import CustomerDays
from stream.worker.faust_config import faust_settings
from stream.worker.health import Health
from stream.worker.ingest import Ingest
from stream.worker.outputs import Outputs
from stream.worker.owned import OwnedState
from stream.worker.signals import signal_owner
from stream.worker.stage_two import StageTwo
from stream.worker.state import SLA_STREAMS, build_tables
from stream.worker.web import register_views


class Pipeline:
    """Owns the faust app, the tables and the metrics of one worker process."""

    def __init__(self, settings: Settings, clock: Clock, registry: CollectorRegistry) -> None:
        s = self.settings = settings
        self.clock = clock
        self.metrics = Metrics(registry, s.queues, s.currencies)
        self.app = faust.App(s.app_id, **faust_settings(s))
        # Before anything creates the default transport: faust has no setting for this.
        kafka_consumer.install(self.app, s.fetch_max_wait_ms)
        self.policy = shipped.source(s.sla_policy_file, shipped.POLICY)
        self.rules = SlaRules(parse_policy_text(self.policy.text, self.policy.name)) if (
            self.policy) else None
        self.forecast = shipped.source(s.forecast_file, shipped.FORECAST)
        commerce = Commerce(timedelta(seconds=s.attribution_window_seconds), s.currency_label)
        self.tables = build_tables(s, self.rules, commerce,
                                   self.policy.text if self.policy else None)
        tz = ZoneInfo(s.timezone)
        self.redis = redis.asyncio.Redis.from_url(
            s.redis_url.get_secret_value(), **redis_kwargs(s)
        )
        self.read_model = ReadModel(self.redis, s.app_id, self.rules)
        self.health = Health(self.redis, self.read_model, self.tables)
        for stream in SLA_STREAMS:
            self.tables[stream].on_ready = self.health.rebuild_on_ready(stream)
        for stream, table in self.tables.items():
            table.on_recovered = recovery_observer(self.metrics, stream)
        scorecards = Scorecards(self.redis, s.app_id, tz)
        customers = CustomerDays(self.redis, s.app_id, tz)
        self.outputs = Outputs(lambda: self.app.producer, WorkerTopics.of(s), self.tables,
                               self.read_model, scorecards, customers, self.health.redis_down)
        self.writer = self.outputs.writer
        self.ingest = Ingest(clock, self.tables, self.metrics, commerce,
                             max_event_bytes=s.max_event_bytes,
                             max_future_seconds=s.max_future_seconds)
        self.sweep = sweep.Sweep(clock, self.tables, self.metrics, self.outputs,
                                 enabled=self.rules is not None)
        self.signals = signal_owner(s, self.rules, self.forecast, clock)
        self.stage_two = StageTwo(clock, self.tables, self.signals, customers, self.outputs)
        registry.register(self.signals)
        registry.register(LiveCollector(
            self.metrics.queue_labels, OwnedState(self.tables, lambda: self.health.redis_up),
            self.metrics.last_event_at, clock.now, self.metrics.currency_labels,
        ))
        topology.wire(self.app, s, self.tables, topology.Handlers(
            ingest=self.process,
            contacts=self.contacts,
            rollups=self.stage_two.receive,
            sla_due=self.sweep.evaluate,
            timers={
                "rollup": (s.rollup_interval_seconds, self.stage_two.send_rollups),
                "staffing": (30.0, self.stage_two.publish_staffing),
                "sla-sweep": (sweep.INTERVAL_SECONDS, self.sweep.tick),
                "redis_health": (2.0, self.health.check_redis),
                "snapshots": (s.table_snapshot_interval_seconds, self.snapshot),
            },
            on_assigned=self.on_assigned,
            started=[
                "SLA policy in force: " + (self.policy.name if self.policy else
                "none (SUPPORTPULSE_SLA_POLICY_FILE=none: SLA tracking is off)"),
                "forecast baseline: " + (self.forecast.name if self.forecast else
                "none (the same hour of recent weeks of traffic)"),
            ],
        ))
        register_views(self.app, s, registry, self.tables, self.read_model, scorecards,
                       clock.now, self.is_ready)
        self.app.on_before_shutdown.connect(self.snapshot_on_stop)  # type: ignore[arg-type]

    async def process(self, stream: str, batch: Sequence[Any]) -> None:
        """One batch of an input topic: apply, then write the outcome in exactly-once order."""
        outcome = await self.ingest.apply(stream, batch)
        await self.outputs.write(outcome, self.clock.now())

    async def contacts(self, batch: Sequence[Any]) -> None:
        await self.ingest.apply_contacts(batch)
        await self.outputs.flush("commerce")

    async def snapshot(self) -> None:
        for table in self.tables.values():
            table.snapshot_due()

    async def snapshot_on_stop(self, sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        """A clean stop: the consumer is stopped; write what the tables hold now."""
        await self.snapshot()
        for table in self.tables.values():
            await table.settle_snapshots()

    def on_assigned(self, assigned: Iterable[Any]) -> None:
        assigned = list(assigned)
        self.health.assigned_once = True
        rollups = WorkerTopics.of(self.settings).rollups
        self.signals.assign(tp.partition for tp in assigned if tp.topic == rollups)
        for stream, table in self.tables.items():
            topic = self.settings.input_topics[stream]
            table.assign(tp.partition for tp in assigned if tp.topic == topic)

    def is_ready(self) -> bool:
        return self.health.is_ready()

