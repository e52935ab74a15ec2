"""Cluster-wide signals from per-partition partial rollups (DESIGN invariant 5, stage two).

Every worker periodically sends, for each queue and channel, one `Partial` per source partition
it owns. The single owner of a queue/channel key sums the latest partial of every partition and
computes the signal here. Pure: the clock's `now` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import msgspec

from stream.domain import effects as fx
from stream.domain.staffing import (
    WAIT_CAP_SECONDS,
    erlang_a,
    estimate_patience,
    evaluate,
    offered_load,
    required_agents,
    required_agents_workload,
    service_level_erlang_c,
)

RATE_WINDOWS = {"5m": 5, "15m": 15, "60m": 60}
HORIZONS = {"30m": 30, "60m": 60}


class Partial(msgspec.Struct, frozen=True):
    """One source partition's contribution to one queue or channel key."""

    partition: int
    minutes: dict[int, dict[str, float]] = msgspec.field(default_factory=dict)
    hours: dict[int, float] = msgspec.field(default_factory=dict)  # channel history
    online: float = 0.0
    capacity: float = 0.0
    # Deadline minute → open targets: ticket targets, and waiting chats' first response.
    due: dict[int, float] = msgspec.field(default_factory=dict)
    chat_due: dict[int, float] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class StaffingTargets:
    target_ratio: float = 0.8
    within_seconds: float = 60.0
    chat_aht_seconds: float = 480.0  # until handle time has been observed
    ticket_aht_seconds: float = 600.0
    ticket_occupancy: float = 0.85
    chat_target_seconds: float = 120.0  # the chat first-response SLA target of the queue


@dataclass(frozen=True)
class QueueSignals:
    arrival_rate: dict[str, float]  # window → conversations per second
    required_agents: int
    available_agents: int
    gap_agents: int
    predicted_wait_seconds: float
    predicted_service_level_ratio: float
    breaches_projected: dict[str, float]  # horizon → expected breaches
    chat_aht_seconds: float
    patience_seconds: float | None

    def to_event(self, queue: str, at: datetime) -> dict[str, object]:
        """The `support.staffing` event (fields mirror the staffing metrics)."""
        return {
            "type": "staffing.signal",
            "queue": queue,
            "at": at.isoformat(),
            "arrival_rate": self.arrival_rate,
            "required_agents": self.required_agents,
            "available_agents": self.available_agents,
            "gap_agents": self.gap_agents,
            "predicted_wait_seconds": self.predicted_wait_seconds,
            "predicted_service_level_ratio": self.predicted_service_level_ratio,
            "breaches_projected": self.breaches_projected,
            "chat_aht_seconds": self.chat_aht_seconds,
            "patience_seconds": self.patience_seconds,
        }


def _sum_field(partials: Iterable[Partial], field: str, first: int, last: int) -> float:
    """Sum of `field` over minutes [first, last) across partitions."""
    return sum(
        bucket.get(field, 0.0)
        for p in partials
        for minute, bucket in p.minutes.items()
        if first <= minute < last
    )


def queue_signals(
    queue: str, partials: list[Partial], now: datetime, targets: StaffingTargets
) -> QueueSignals:
    minute = int(now.timestamp() // 60)
    end = minute + 1  # the current minute counts with what has arrived so far
    rates = {
        name: _sum_field(partials, f"{fx.ARRIVALS_QUEUE}|{queue}", end - span, end) / (span * 60)
        for name, span in RATE_WINDOWS.items()
    }
    chat_rate = _sum_field(partials, f"{fx.CHAT_ARRIVALS}|{queue}", end - 15, end) / 900
    ticket_per_hour = _sum_field(partials, f"{fx.TICKET_ARRIVALS}|{queue}", end - 60, end)
    handled = _sum_field(partials, f"{fx.HANDLE_N}|{queue}", end - 60, end)
    aht = (
        _sum_field(partials, f"{fx.HANDLE_SUM}|{queue}", end - 60, end) / handled
        if handled
        else targets.chat_aht_seconds
    )
    aht = max(aht, 1.0)
    patience = estimate_patience(
        _sum_field(partials, f"{fx.WAIT_SUM}|{queue}", end - 60, end),
        int(_sum_field(partials, f"{fx.ABANDONED}|{queue}", end - 60, end)),
    )
    online = int(sum(p.online for p in partials))
    capacity = sum(p.capacity for p in partials)
    # Chat slots, not agents, serve chats: an agent with max_chats 3 is three servers whose
    # measured handle time already reflects the shared attention (staffing.py's assumption).
    # Agents differ, so slots convert to agents with the mean max_chats of those online.
    slots_per_agent = capacity / online if online else 1.0
    chat = required_agents(
        chat_rate, aht, targets.target_ratio, targets.within_seconds,
        patience_seconds=patience,
    )
    chat_agents = math.ceil(chat.required_agents / max(slots_per_agent, 1.0))
    tickets = required_agents_workload(
        ticket_per_hour, targets.ticket_aht_seconds, targets.ticket_occupancy
    )
    required = chat_agents + tickets
    # "If nothing changes": the ticket workload takes whole agents, and those are assumed to be
    # the single-slot ones (a ticket desk takes a chat at most), so each costs the chat queue
    # one slot; the rest of the slots serve chats.
    chat_slots = int(capacity - min(online, tickets))
    predicted = evaluate(
        chat_slots, chat_rate, aht, targets.within_seconds, patience_seconds=patience
    )
    # The projection looks 30-60 minutes ahead: the last hour's chat rate (a quarter hour of
    # chats is too few to tell a surge from chance) — measured against the next half hour's
    # breaches in benchmarks/projection_replay.py.
    hourly_chat_rate = _sum_field(partials, f"{fx.CHAT_ARRIVALS}|{queue}", end - 60, end) / 3600
    miss = chat_miss_probability(
        chat_slots, hourly_chat_rate, aht, targets.chat_target_seconds, patience
    )
    # New tickets and chats keep arriving and are served first (calls, chats, social and urgent
    # tickets jump the queue): only the agents beyond what they need — the spare of the gap —
    # work off the ticket targets already open.
    ticket_spare_per_minute = max(0, online - required) * 60.0 / targets.ticket_aht_seconds
    projected: dict[str, float] = {}
    for name, span in HORIZONS.items():
        # New chats still waiting when their first-response target passes; the chats waiting
        # now against the slots that free up; open ticket targets against the spare agents.
        new_chats = hourly_chat_rate * span * 60 * miss
        waiting = _projected_breaches(
            [p.chat_due for p in partials], minute, span, chat_slots * 60.0 / aht
        )
        tickets_due = _projected_breaches(
            [p.due for p in partials], minute, span, ticket_spare_per_minute
        )
        projected[name] = round(new_chats + waiting + tickets_due, 2)
    return QueueSignals(
        arrival_rate=rates,
        required_agents=required,
        available_agents=online,
        gap_agents=required - online,
        predicted_wait_seconds=min(predicted.predicted_wait_seconds, WAIT_CAP_SECONDS),
        predicted_service_level_ratio=predicted.service_level_ratio,
        breaches_projected=projected,
        chat_aht_seconds=aht,
        patience_seconds=patience,
    )


def chat_miss_probability(
    slots: int, rate: float, aht: float, target_seconds: float, patience: float | None
) -> float:
    """Share of new chats still unanswered when their first-response target passes.

    A chat breaches if it is still waiting at the target: its offered wait (what it would wait
    if it never gave up) exceeds the target *and* the customer's patience does too. The two are
    independent in M/M/N+M, so P = P(offered wait > T) · e^(−T/patience). Without observed
    abandonment nobody leaves (Erlang C), and an unstable queue misses everything.
    """
    if rate <= 0.0:
        return 0.0
    load = offered_load(rate, aht)
    if patience is None:
        if slots <= 0 or load >= slots:
            return 1.0
        return 1.0 - service_level_erlang_c(slots, load, aht, target_seconds)
    if slots <= 0:
        return math.exp(-target_seconds / patience) if patience > 0 else 0.0
    metrics = erlang_a(slots, load, aht, patience, target_seconds)
    stays = math.exp(-target_seconds / patience) if patience > 0 else 0.0
    return (1.0 - metrics.offered_wait_within_ratio) * stays


def _projected_breaches(
    due_maps: Iterable[Mapping[int, float]], minute: int, span: int, served_per_minute: float
) -> float:
    """Open targets falling due within the horizon that the servers cannot reach in time.

    The targets are open now, so servers can work ahead: they take the soonest deadline first,
    `served_per_minute` targets a minute until the end of each deadline minute, and pass over a
    target already lost. The number lost is then the largest excess of the targets due by some
    minute over the work possible by its end. Deadlines already past are breaches already and
    not projected.
    """
    due: dict[int, float] = {}
    for mapping in due_maps:
        for m, n in mapping.items():
            if minute <= m < minute + span:
                due[m] = due.get(m, 0.0) + n
    demand = 0.0
    lost = 0.0
    for m in sorted(due):
        demand += due[m]
        lost = max(lost, demand - served_per_minute * (m - minute + 1))
    return lost


@dataclass(frozen=True)
class Forecast:
    """Expected arrivals per channel and hour: a baseline profile, or same-hour history."""

    weekly: Mapping[tuple[int, int, str], float]  # (weekday 0=Mon, hour, channel) → arrivals
    multiplier: float = 1.0

    def expected(
        self, channel: str, local: datetime, history: list[float]
    ) -> float | None:
        base = self.weekly.get((local.weekday(), local.hour, channel))
        if base is None and history:
            base = sum(history) / len(history)
        return None if base is None else base * self.multiplier


@dataclass(frozen=True)
class ChannelSignals:
    actual: float
    forecast: float | None
    projected: float


def channel_signals(
    channel: str,
    partials: list[Partial],
    now: datetime,
    local: datetime,
    forecast: Forecast,
) -> ChannelSignals:
    hour = int(now.timestamp() // 3600)
    first = hour * 60
    actual = _sum_field(partials, f"{fx.ARRIVALS_CHANNEL}|{channel}", first, first + 60)
    # Same hour of the week in earlier weeks (hour indices are UTC hours since the epoch).
    history: list[float] = []
    for weeks in range(1, 6):
        past = hour - weeks * 168
        if any(past in p.hours for p in partials):
            history.append(sum(p.hours.get(past, 0.0) for p in partials))
    expected = forecast.expected(channel, local, history)
    elapsed = (now.timestamp() - hour * 3600) / 3600
    if expected is not None and elapsed < 1 / 6:
        # Too early for a run rate: what came so far plus the forecast for the rest.
        projected = actual + expected * (1 - elapsed)
    else:
        projected = actual / max(elapsed, 1 / 60)
    return ChannelSignals(actual=actual, forecast=expected, projected=math.floor(projected))
