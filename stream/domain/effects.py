"""What applying an event did, beyond the new state: counter increments and observations.

Domain code returns these; the metrics adapter turns them into Prometheus calls. They are only
produced on state transitions, so an event skipped as already-applied produces none.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Count(NamedTuple):
    metric: str
    labels: tuple[str, ...]
    amount: float = 1.0


class Observe(NamedTuple):
    metric: str
    labels: tuple[str, ...]
    value: float


class Notice(NamedTuple):
    """An outgoing `support.sla` event; the partition fills in the conversation id."""

    kind: str
    target: str
    deadline: datetime | None
    policy: str
    channel: str
    priority: str
    queue: str
    conversation: str = ""


class Tally(NamedTuple):
    """Add to an event-time window of the partition (per-minute buckets, replay-safe)."""

    metric: str
    label: str
    at: datetime
    amount: float = 1.0


class AgentStat(NamedTuple):
    """Today's scorecard of one agent (kept in Redis, never a metric label)."""

    agent: str
    stat: str  # replies | solved | first_response | csat
    value: float
    at: datetime


Effect = Count | Observe | Notice | Tally | AgentStat

# Window metrics (per minute bucket; `arrivals_channel` is also kept per hour for forecasts).
ARRIVALS_QUEUE = "arrivals_queue"
ARRIVALS_CHANNEL = "arrivals_channel"
CHAT_ARRIVALS = "chat_arrivals"
TICKET_ARRIVALS = "ticket_arrivals"
HANDLE_SUM = "handle_sum"
HANDLE_N = "handle_n"
WAIT_SUM = "wait_sum"
ABANDONED = "abandoned"

# Counter names (without the `support_` prefix and `_total` suffix, see stream/metrics.py).
TICKETS_CREATED = "tickets_created"
TICKETS_SOLVED = "tickets_solved"
TICKETS_SOLVED_ONE_TOUCH = "tickets_solved_one_touch"
CHATS_REQUESTED = "chats_requested"
CHATS_MISSED = "chats_missed"
REPLIES = "replies"
RESOLUTIONS = "resolutions"
CSAT = "csat_responses"
CES = "ces_responses"
CAMPAIGN_CHATS = "campaign_chats"
EVENTS_LATE = "events_late"
SLA_BREACHES = "sla_breaches"
SLA_MET = "sla_met"  # met before the deadline (second-round contract addition)
CHAT_CONVERSIONS = "chat_conversions"

# Histograms.
FIRST_RESPONSE_SECONDS = "first_response_seconds"
RESPONSE_SECONDS = "response_seconds"
RESOLUTION_SECONDS = "resolution_seconds"
CHAT_WAIT_SECONDS = "chat_wait_seconds"
