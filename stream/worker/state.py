"""The worker's partition tables: one changelog-backed table per stream, built from settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stream.domain.commerce import Commerce
from stream.domain.conversations import Chats, Tickets
from stream.domain.presence import Presence
from stream.domain.sla import SlaRules
from stream.settings import Settings
from stream.tables import ChangelogTable
from stream.worker.table_setup import changelog_table

# The tables whose values carry SLA targets (the sweep, notices and the Redis read model).
SLA_STREAMS = ("tickets", "chats")
# The tables whose values change as time passes (the sweep): SLA targets, engagement windows.
DUE_STREAMS = (*SLA_STREAMS, "commerce")

Tables = dict[str, ChangelogTable[Any]]


def build_tables(
    settings: Settings, rules: SlaRules | None, commerce: Commerce, policy_text: str | None = None,
) -> Tables:
    s = settings
    retention = timedelta(seconds=s.state_retention_seconds)

    def table(stream: str, kind: Any, retention: timedelta, source: str | None) -> Any:
        return changelog_table(s, stream, kind, retention, source, policy_text)

    return {
        "tickets": table("tickets", Tickets(rules, s.queue_label), retention, s.topic_tickets),
        "chats": table("chats", Chats(s.queue_label, rules), retention, s.topic_chats),
        "agents": table("agents", Presence(s.queue_label), retention, None),
        # The commerce table keeps a customer for the longest engagement window (or the
        # attribution window if longer) after their last event, not the retention.
        "commerce": table("commerce", commerce, commerce.retention, s.topic_commerce),
    }
