"""How one changelog table of the worker is built from settings: its changelog topic, the consumer
settings its recovery reads with, and its local snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stream.kafka_io import changelog_topics
from stream.settings import Settings
from stream.snapshots import Snapshots
from stream.table_store import Identity, SnapshotStore, schema_digest
from stream.tables import ChangelogTable
from stream.worker.faust_config import consumer_config


def changelog_table(
    settings: Settings, stream: str, kind: Any, retention: timedelta, source_topic: str | None,
    policy_text: str | None,
) -> ChangelogTable[Any]:
    topic = f"{settings.app_id}-{stream}-changelog"
    assert topic in changelog_topics(settings)  # created before the worker starts
    return ChangelogTable(
        kind, topic, retention, consumer_config(settings), source_topic=source_topic,
        snapshots=snapshots(settings, stream, topic, kind, retention, policy_text),
    )


def snapshots(
    settings: Settings, stream: str, topic: str, kind: Any, retention: timedelta,
    policy_text: str | None,
) -> Snapshots[Any] | None:
    """The table's local snapshots, if on. A snapshot is used only by the same app, changelog
    and partition count, and only if nothing that shapes a stored value or what it contributes
    changed (value type, retention, SLA policy, queue and currency labels, attribution)."""
    if not settings.table_snapshots:
        return None
    schema = schema_digest(
        kind.value_type, retention.total_seconds(), policy_text, settings.queues,
        settings.currencies, settings.attribution_window_seconds,
    )
    store = SnapshotStore(settings.data_dir / "snapshots" / settings.app_id, stream)
    return Snapshots(store, Identity(settings.app_id, topic, 0, settings.partitions, schema))
