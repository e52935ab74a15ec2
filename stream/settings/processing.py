"""How the worker consumes: partitions, retention, batches, commits, group timing and stopping."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProcessingSettings(BaseModel):
    partitions: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Partitions of the input topics; internal topics are created to match.",
    )
    # How long closed/ended conversations stay in the tables so late ratings still find their
    # channel/queue; measured in event time so replays expire the same keys (invariant 6).
    state_retention_seconds: float = Field(
        default=3 * 86400.0,
        gt=0,
        description="How long ended conversations stay in the tables, in event time.",
    )
    batch_max: int = Field(default=2000, ge=1, description="Agent batch size.")
    # Bulk hands each partition's fetched records to the worker as one batch (see
    # stream/kafka_consumer.py); faust's per-message delivery is kept only so the benchmark can
    # measure the two side by side.
    ingest_path: Literal["bulk", "faust"] = Field(
        default="bulk",
        description=(
            "How fetched records reach the worker: `bulk` (one batch per partition and fetch) or"
            " `faust` (faust's per-message streams; a benchmark comparison, not for production)."
        ),
    )
    batch_within_seconds: float = Field(default=0.05, gt=0, description="Agent batch wait.")
    commit_interval_seconds: float = Field(
        default=1.0, gt=0, description="Source offset commit interval."
    )
    # How long a fetch may wait for records on the broker (faust hard-codes 1,500 ms; see
    # stream/kafka_consumer.py). It bounds the latency on brokers that do not answer a waiting
    # fetch as soon as records arrive (tansu); shorter means more idle fetches.
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        le=60_000,
        description=(
            "How long a consumer fetch waits on the broker for new records (faust's fixed 1,500 ms "
            "replaced; bounds latency on tansu)."
        ),
    )
    # Local snapshots of the tables on the data dir (stream/table_store.py): a restart reads
    # only the changelog written after the last one.
    # Off by default until the crash loop passes with them on every time (docs/DEVELOPMENT.md:
    # one CI run repeated 54 SLA events with snapshots on).
    table_snapshots: bool = Field(
        default=False,
        description=(
            "Keep local snapshots of the tables under the data dir, so a restarted worker reads"
            " only the changelog tail after them (false: every recovery reads whole changelogs;"
            " experimental, off by default)."
        ),
    )
    table_snapshot_interval_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often each owned table partition's snapshot is brought up to date (and on a"
            " clean stop); a restart reads the changelog written since."
        ),
    )
    session_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Consumer group session timeout."
    )
    heartbeat_interval_seconds: float = Field(
        default=1.0, gt=0, description="Consumer group heartbeat interval."
    )
    shutdown_timeout_seconds: float = Field(
        default=8.0,
        gt=0,
        description=(
            "After SIGTERM/SIGINT the worker exits within this long even if a clean stop hangs"
            " (e.g. the broker is gone); what it had not flushed is replayed from the log on"
            " restart. A second signal exits at once. Keep it below the orchestrator's grace"
            " period (k8s base: 60 s, compose: 30 s)."
        ),
    )
