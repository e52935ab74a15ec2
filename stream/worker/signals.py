"""The stage-two signal owner as the settings and the SLA policy configure it."""

from __future__ import annotations

import dataclasses

from stream.domain.clock import Clock
from stream.domain.signals import StaffingTargets
from stream.domain.sla import SlaRules
from stream.rollups import SignalOwner, load_forecast
from stream.settings import Settings
from stream.shipped import ConfigSource


def signal_owner(
    s: Settings, rules: SlaRules | None, forecast: ConfigSource | None, clock: Clock
) -> SignalOwner:
    targets = StaffingTargets(
        s.staffing_target_ratio, s.staffing_within_seconds,
        s.chat_aht_seconds, s.ticket_aht_seconds, s.ticket_occupancy,
    )
    per_queue = {
        queue: dataclasses.replace(
            targets, chat_target_seconds=chat_target(rules, queue),
            **s.staffing_queue_targets.get(queue, {}),
        )
        for queue in [*s.queues, "other"]
    }
    return SignalOwner(s.queues, targets, per_queue, load_forecast(forecast, s.forecast_multiplier),
                       s.timezone, clock.now, stale_after=3 * s.rollup_interval_seconds)


def chat_target(rules: SlaRules | None, queue: str) -> float:
    """The chat first-response target of a queue's policy (what a projected breach misses)."""
    policy = rules.book.find("chat", "normal", queue, None, "chat") if rules else None
    return policy.targets.get("first_response", 120.0) if policy else 120.0
