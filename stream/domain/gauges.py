"""The live gauges' vocabulary (CONTRACT §4): one name, label set and help text per gauge.

The domain counts partition gauges under `Gauge.key` (a `GaugeKey` is `(key, label values)` in
the order of `Gauge.labels`), the live collector exposes them as `Gauge.metric`, and the read
model tells breached from at-risk entries by the same key. Before this table each layer typed the
names again, and a name that drifted in one of them silently exported zeros.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

# Where a value comes from: summed over owned partitions' state, about the worker itself, or
# the stage-two signals computed from the cluster's rollups (`stream.rollups.SignalOwner`).
Source = Literal["partition", "worker", "signal"]


class Gauge(NamedTuple):
    key: str
    labels: tuple[str, ...]
    help: str
    source: Source = "partition"
    # The domain counts in integer units of 1/scale (revenue: ten-thousandths, exact sums);
    # the collector divides once, at exposition.
    scale: int = 1

    @property
    def metric(self) -> str:
        return f"support_{self.key}"


_CPQ = ("channel", "priority", "queue")
_SLA = ("channel", "priority", "target", "queue")

TICKETS_OPEN = Gauge("tickets_open", _CPQ, "Tickets not solved or closed (backlog).")
TICKETS_AWAITING_FIRST_RESPONSE = Gauge(
    "tickets_awaiting_first_response", _CPQ, "Open tickets without a public agent reply."
)
CHAT_QUEUE_WAITING = Gauge("chat_queue_waiting", ("queue",), "Chats requested, not yet answered.")
CHATS_ACTIVE = Gauge("chats_active", ("queue",), "Accepted chats not yet ended.")
SLA_AT_RISK = Gauge("sla_at_risk", _SLA, "Open targets at risk, not yet breached.")
SLA_BREACHED_OPEN = Gauge(
    "sla_breached_open", _SLA, "Open conversations whose target is breached."
)
AGENTS = Gauge("agents", ("queue", "status"), "Agents by presence, in every queue they serve.")
AGENT_CHAT_CAPACITY = Gauge(
    "agent_chat_capacity", ("queue",), "Sum of max_chats of online agents."
)

CHAT_QUEUE_OLDEST_WAIT = Gauge(
    "chat_queue_oldest_wait_seconds", ("queue",),
    "Age of the longest-waiting chat (0 when none).", "worker",
)
EVENT_LAG = Gauge(
    "event_lag_seconds", ("stream",), "Now minus occurred_at of the last event processed.",
    "worker",
)
TABLE_KEYS = Gauge(
    "table_keys", ("table",), "Keys held in this worker's tables (state size).", "worker"
)
PARTITIONS_OWNED = Gauge("partitions_owned", (), "Input partitions this worker owns.", "worker")
REDIS_UP = Gauge("redis_up", (), "1 when the Redis read model is reachable.", "worker")

# Engagement over event-time windows (second-round contract; stream/domain/engagement.py):
# `window` 30d/365d, `segment` all/contacted/not_contacted (a support contact in the window).
_WS = ("window", "segment")
WINDOW_ORDERS = Gauge(
    "window_orders", (*_WS, "guest", "currency"), "Orders placed in the window (event time)."
)
WINDOW_REVENUE = Gauge(
    "window_revenue", (*_WS, "currency"),
    "Revenue of the orders placed in the window, summed exactly (not converted).",
    scale=10_000,
)
WINDOW_CUSTOMERS = Gauge(
    "window_customers", _WS, "Distinct customers with at least one order in the window."
)
WINDOW_REPEAT_CUSTOMERS = Gauge(
    "window_repeat_customers", _WS, "Distinct customers with two or more orders in the window."
)

# Everything the live collector exposes, in exposition order.
LIVE: tuple[Gauge, ...] = (
    SLA_AT_RISK, SLA_BREACHED_OPEN, TICKETS_OPEN, TICKETS_AWAITING_FIRST_RESPONSE,
    CHAT_QUEUE_WAITING, CHATS_ACTIVE, AGENTS, AGENT_CHAT_CAPACITY, CHAT_QUEUE_OLDEST_WAIT,
    EVENT_LAG, TABLE_KEYS, PARTITIONS_OWNED, REDIS_UP,
    WINDOW_ORDERS, WINDOW_REVENUE, WINDOW_CUSTOMERS, WINDOW_REPEAT_CUSTOMERS,
)

_STAFFING = "Agents needed now to meet the queue's service-level target."
ARRIVAL_RATE = Gauge(
    "arrival_rate", ("queue", "window"), "New conversations per second, event time.", "signal"
)
STAFFING_REQUIRED = Gauge("staffing_required_agents", ("queue",), _STAFFING, "signal")
STAFFING_AVAILABLE = Gauge(
    "staffing_available_agents", ("queue",), "Online agents serving the queue.", "signal"
)
STAFFING_GAP = Gauge(
    "staffing_gap_agents", ("queue",), "Required minus available (negative = spare).", "signal"
)
STAFFING_WAIT = Gauge(
    "staffing_predicted_wait_seconds", ("queue",),
    "Predicted average wait with the agents available.", "signal",
)
STAFFING_SERVICE_LEVEL = Gauge(
    "staffing_predicted_service_level_ratio", ("queue",),
    "Predicted share answered within target.", "signal",
)
SLA_BREACHES_PROJECTED = Gauge(
    "sla_breaches_projected", ("queue", "horizon"),
    "Breaches expected soon if nothing changes.", "signal",
)
VOLUME_FORECAST = Gauge(
    "volume_forecast", ("channel",), "Expected arrivals in the current hour.", "signal"
)
VOLUME_ACTUAL = Gauge(
    "volume_actual", ("channel",), "Arrivals so far in the current hour (event time).", "signal"
)
VOLUME_PROJECTED = Gauge(
    "volume_projected", ("channel",), "Run-rate projection for the current hour.", "signal"
)
CONTACT_RATE = Gauge(
    "contact_rate_ratio", (),
    "Distinct customers who contacted support today / distinct customers seen today.", "signal",
)

# What SignalOwner exposes, in exposition order.
SIGNALS: tuple[Gauge, ...] = (
    ARRIVAL_RATE, STAFFING_REQUIRED, STAFFING_AVAILABLE, STAFFING_GAP, STAFFING_WAIT,
    STAFFING_SERVICE_LEVEL, SLA_BREACHES_PROJECTED, VOLUME_FORECAST, VOLUME_ACTUAL,
    VOLUME_PROJECTED, CONTACT_RATE,
)
