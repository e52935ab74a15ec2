"""The worker's partition tables: one changelog-backed table per stream, built from settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stream.domain.commerce import Commerce
from stream.domain.conversations import Chats, Tickets
from stream.domain.presence import Presence
from stream.domain.sla import SlaRules
from stream.kafka_io import changelog_topics
from stream.settings import Settings
from stream.tables import ChangelogTable
from stream.worker.faust_config import consumer_config

# The tables whose values carry SLA targets (the sweep, notices and the Redis read model).
SLA_STREAMS = ("tickets", "chats")
# The tables whose values change as time passes (the sweep): SLA targets, engagement windows.
DUE_STREAMS = (*SLA_STREAMS, "commerce")

Tables = dict[str, ChangelogTable[Any]]


def build_tables(settings: Settings, rules: SlaRules | None, commerce: Commerce) -> Tables:
    retention = timedelta(seconds=settings.state_retention_seconds)
    cfg = consumer_config(settings)
    topics = changelog_topics(settings)  # created before the worker starts

    def changelog(stream: str) -> str:
        name = f"{settings.app_id}-{stream}-changelog"
        assert name in topics
        return name

    return {
        "tickets": ChangelogTable(
            Tickets(rules, settings.queue_label), changelog("tickets"), retention, cfg,
            source_topic=settings.topic_tickets,
        ),
        "chats": ChangelogTable(
            Chats(settings.queue_label, rules), changelog("chats"), retention, cfg,
            source_topic=settings.topic_chats,
        ),
        "agents": ChangelogTable(
            Presence(settings.queue_label), changelog("agents"), retention, cfg
        ),
        # The commerce table keeps a customer for the longest engagement window (or the
        # attribution window if longer) after their last event, not the retention.
        "commerce": ChangelogTable(
            commerce, changelog("commerce"), commerce.retention, cfg,
            source_topic=settings.topic_commerce,
        ),
    }
