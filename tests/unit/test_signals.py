"""Stage-two signal formulas (stream/domain/signals.py): the breach projection and the split of
the agents online between chats and tickets."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain import effects as fx
from stream.domain.signals import (
    Partial,
    StaffingTargets,
    _projected_breaches,
    chat_miss_probability,
    queue_signals,
)
from stream.domain.staffing import offered_load, service_level_erlang_c

NOW = datetime(2026, 11, 27, 13, 0, 30, tzinfo=UTC)
MINUTE = int(NOW.timestamp() // 60)
TARGETS = StaffingTargets(ticket_aht_seconds=600.0)


def simulated_miss(
    slots: int, rate: float, aht: float, target: float, patience: float, n: int, seed: int
) -> float:
    """FCFS M/M/N+M by simulation: the share of arrivals still waiting at `target` seconds.

    With first-come-first-served and customers who leave without taking a server, an arrival's
    offered wait is the time until the earliest of the servers' free times; it is served if its
    patience outlasts that wait, else it leaves and the servers are untouched.
    """
    rng = random.Random(seed)
    free = [0.0] * slots
    t = 0.0
    missed = 0
    for _ in range(n):
        t += rng.expovariate(rate)
        patience_i = rng.expovariate(1 / patience)
        earliest = min(range(slots), key=free.__getitem__)
        wait = max(0.0, free[earliest] - t)
        if wait > target and patience_i > target:
            missed += 1
        if wait <= patience_i:
            free[earliest] = t + wait + rng.expovariate(1 / aht)
    return missed / n


@pytest.mark.parametrize(
    ("slots", "rate", "aht", "patience"),
    [(6, 1 / 60, 300.0, 150.0), (4, 1 / 80, 300.0, 200.0), (10, 1 / 40, 420.0, 120.0)],
)
def test_chat_miss_probability_matches_a_simulated_queue(
    slots: int, rate: float, aht: float, patience: float
) -> None:
    formula = chat_miss_probability(slots, rate, aht, 120.0, patience)
    simulated = simulated_miss(slots, rate, aht, 120.0, patience, n=60_000, seed=slots)
    assert formula > 0.005  # the cases are loaded enough for misses to exist
    assert formula == pytest.approx(simulated, abs=0.012)


def test_chat_miss_probability_without_abandonment_is_erlang_c() -> None:
    load = offered_load(1 / 60, 300.0)
    assert chat_miss_probability(6, 1 / 60, 300.0, 120.0, None) == pytest.approx(
        1 - service_level_erlang_c(6, load, 300.0, 120.0)
    )
    assert chat_miss_probability(5, 1 / 60, 300.0, 120.0, None) == 1.0  # unstable: A = N
    assert chat_miss_probability(0, 1 / 60, 300.0, 120.0, 100.0) == pytest.approx(
        math.exp(-1.2)
    )
    assert chat_miss_probability(3, 0.0, 300.0, 120.0, 100.0) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    slots=st.integers(1, 40),
    rate=st.floats(0.0005, 0.2),
    aht=st.floats(60.0, 900.0),
    patience=st.one_of(st.none(), st.floats(10.0, 600.0)),
)
def test_more_slots_never_miss_more_and_more_chats_never_miss_less(
    slots: int, rate: float, aht: float, patience: float | None
) -> None:
    miss = chat_miss_probability(slots, rate, aht, 120.0, patience)
    assert 0.0 <= miss <= 1.0
    assert chat_miss_probability(slots + 1, rate, aht, 120.0, patience) <= miss + 1e-9
    assert chat_miss_probability(slots, rate * 1.5, aht, 120.0, patience) >= miss - 1e-9


def test_projected_breaches_soonest_deadline_first() -> None:
    # One target served per minute, through the end of each deadline minute: of the three due
    # now one is reached (two lost); by +6 seven minutes of work, of which one went to the
    # targets due now, meet eight more targets: two more lost.
    due = [{MINUTE: 2.0, MINUTE + 5: 2.0}, {MINUTE: 1.0, MINUTE + 6: 6.0}]
    assert _projected_breaches(due, MINUTE, 30, 1.0) == 4
    # Plenty of time to work ahead: a lost target does not delay later ones.
    assert _projected_breaches([{MINUTE: 3.0, MINUTE + 20: 10.0}], MINUTE, 30, 1.0) == 2
    # Outside the horizon, or already past: not projected.
    assert _projected_breaches([{MINUTE - 1: 9.0, MINUTE + 30: 9.0}], MINUTE, 30, 0.0) == 0
    assert _projected_breaches([{MINUTE + 10: 4.0}], MINUTE, 30, 0.0) == 4


def partial(
    partition: int,
    *,
    chats_per_hour: float = 0,
    tickets_per_hour: float = 0,
    online: float = 0.0,
    capacity: float = 0.0,
    due: dict[int, float] | None = None,
    chat_due: dict[int, float] | None = None,
) -> Partial:
    """Arrivals spread evenly over the last hour (every window sees the same rate); handle
    time observed: 300 s."""
    minutes = {
        m: {
            f"{fx.ARRIVALS_QUEUE}|orders": (chats_per_hour + tickets_per_hour) / 60,
            f"{fx.CHAT_ARRIVALS}|orders": chats_per_hour / 60,
            f"{fx.TICKET_ARRIVALS}|orders": tickets_per_hour / 60,
        }
        for m in range(MINUTE - 59, MINUTE + 1)
    }
    minutes[MINUTE] |= {f"{fx.HANDLE_SUM}|orders": 3000.0, f"{fx.HANDLE_N}|orders": 10.0}
    return Partial(partition=partition, minutes=minutes, online=online, capacity=capacity,
                   due=due or {}, chat_due=chat_due or {})


def test_signals_sum_the_partitions() -> None:
    split = [
        partial(0, chats_per_hour=60, tickets_per_hour=10, online=4, capacity=8,
                due={MINUTE + 3: 5.0}),
        partial(1, chats_per_hour=60, tickets_per_hour=8, online=2, capacity=4,
                chat_due={MINUTE + 1: 2.0}),
    ]
    whole = partial(0, chats_per_hour=120, tickets_per_hour=18, online=6, capacity=12,
                    due={MINUTE + 3: 5.0}, chat_due={MINUTE + 1: 2.0})
    whole.minutes[MINUTE][f"{fx.HANDLE_SUM}|orders"] = 6000.0
    whole.minutes[MINUTE][f"{fx.HANDLE_N}|orders"] = 20.0
    got = dataclasses.asdict(queue_signals("orders", split, NOW, TARGETS))
    want = dataclasses.asdict(queue_signals("orders", [whole], NOW, TARGETS))
    assert got.keys() == want.keys()
    for name, value in want.items():
        assert got[name] == (value if value is None else pytest.approx(value)), name
    assert 0 < want["breaches_projected"]["30m"] < want["breaches_projected"]["60m"]


def test_projection_grows_with_the_surge_before_anything_is_due() -> None:
    """Nothing is waiting or due yet: the projection comes from the arrival rate alone, and
    rises as arrivals outgrow the agents online, before any target is breached."""
    quiet, busy, surge = (
        queue_signals("orders", [partial(0, chats_per_hour=n, online=6, capacity=12)], NOW,
                      TARGETS)
        for n in (40, 90, 140)
    )
    assert quiet.breaches_projected["30m"] < busy.breaches_projected["30m"]
    assert busy.breaches_projected["30m"] < surge.breaches_projected["30m"]
    assert surge.gap_agents > 0 >= quiet.gap_agents
    for signals in (quiet, busy, surge):
        assert signals.breaches_projected["60m"] == pytest.approx(
            2 * signals.breaches_projected["30m"], abs=0.02
        )


def test_ticket_deadlines_beyond_the_spare_agents_are_projected() -> None:
    # 12 tickets an hour at 600 s need 12·600/3600/0.85 → 3 agents; no chats. Of the five
    # online, three keep up with new tickets, two work off the open targets: 2 × 60/600 = 0.2
    # a minute. 30 targets due at +10: 11 minutes of work reach 2.2 of them, 27.8 are lost.
    # 6 more due at +40 are reached: 41 minutes reach 8.2 of all 36, still 27.8 lost.
    signals = queue_signals(
        "orders",
        [partial(0, tickets_per_hour=12, online=5, capacity=5,
                 due={MINUTE + 10: 30.0, MINUTE + 40: 6.0})],
        NOW, TARGETS,
    )
    assert (signals.required_agents, signals.gap_agents) == (3, -2)
    assert signals.breaches_projected["30m"] == pytest.approx(27.8)
    assert signals.breaches_projected["60m"] == pytest.approx(27.8)
    # No spare agent: every open target due within the horizon is lost.
    busy = queue_signals(
        "orders",
        [partial(0, tickets_per_hour=12, online=3, capacity=3, due={MINUTE + 10: 30.0})],
        NOW, TARGETS,
    )
    assert busy.breaches_projected["30m"] == pytest.approx(30.0)


def test_ticket_workers_cost_the_chat_queue_one_slot_each() -> None:
    # Chats alone: every slot serves chats (the two-worker integration test relies on it).
    alone = queue_signals("orders", [partial(0, chats_per_hour=48, online=3, capacity=6)], NOW,
                          TARGETS)
    with_tickets = queue_signals(
        "orders", [partial(0, chats_per_hour=48, tickets_per_hour=12, online=3, capacity=6)], NOW,
        TARGETS,
    )
    # The ticket workload needs 3 agents (see above): three of the six slots are left for chats.
    assert with_tickets.required_agents > alone.required_agents
    assert with_tickets.predicted_service_level_ratio < alone.predicted_service_level_ratio
    assert with_tickets.breaches_projected["30m"] > alone.breaches_projected["30m"]
