"""Engagement windows in the pure core (issue 15): the commerce table's customers against an
independent model of CONTRACT §4's engagement gauges.

The model below knows nothing of the production code: it keeps every order and contact it was
given and, for an instant `now`, counts by definition — a window is (now − N days, now], a
customer is `contacted` when one of their contacts lies in the window, revenue is a `Decimal`
sum. The core must equal it after any order of events (late ones, duplicates, contacts before
or after orders), after evaluations at any earlier instants, after a crash and a recovery from
the changelog, and at every instant as time passes — in particular at the exact microsecond an
order leaves the 30-day window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.domain.changelog import ChangelogCodec
from stream.domain.clock import EventClock
from stream.domain.commerce import Commerce, ContactRecord, CustomerState, Order
from stream.domain.engagement import LONGEST, micros, scaled_amount
from stream.domain.events import Decoded, OrderPlaced
from stream.domain.partition import PartitionState

T0 = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
CURRENCIES = ("EUR", "USD")
WINDOW_NAMES = ("window_orders", "window_revenue", "window_customers", "window_repeat_customers")


def currency_of(code: str | None) -> str:
    return code if code in CURRENCIES else "other"


# --- the independent model -----------------------------------------------------------------------
@dataclass(frozen=True)
class Buy:
    event_id: str
    customer: str
    at: datetime
    amount: str | float
    currency: str
    guest: bool = False


@dataclass(frozen=True)
class Touch:
    conversation: str
    customer: str
    at: datetime


def model(buys: Iterable[Buy], touches: Iterable[Touch], now: datetime) -> dict[Any, int]:
    """The engagement gauges at `now` by CONTRACT §4's definitions (revenue in ten-thousandths,
    the unit the core counts in, computed here from a Decimal sum)."""
    orders = list({b.event_id: b for b in buys}.values())  # an event id counts once
    contacts = list({t.conversation: t for t in touches}.values())
    out: Counter[Any] = Counter()
    revenue: dict[Any, Decimal] = {}
    for window, days in (("30d", 30), ("365d", 365)):
        start = now - timedelta(days=days)
        for customer in sorted({b.customer for b in orders}):
            mine = [b for b in orders if b.customer == customer and start < b.at <= now]
            if not mine:
                continue
            contacted = any(t.customer == customer and start < t.at <= now for t in contacts)
            for segment in ("all", "contacted" if contacted else "not_contacted"):
                out["window_customers", (window, segment)] += 1
                if len(mine) >= 2:
                    out["window_repeat_customers", (window, segment)] += 1
                for b in mine:
                    currency = currency_of(b.currency)
                    guest = "yes" if b.guest else "no"
                    out["window_orders", (window, segment, guest, currency)] += 1
                    key = ("window_revenue", (window, segment, currency))
                    revenue[key] = revenue.get(key, Decimal(0)) + Decimal(str(b.amount))
    for key, total in revenue.items():
        out[key] = int(total * 10_000)  # amounts here have at most four decimals
    return {k: v for k, v in out.items() if v}


# --- driving the core ----------------------------------------------------------------------------
Step = Buy | Touch


class Customers:
    """One commerce partition, fed like the worker feeds it: orders from the commerce topic at
    increasing offsets, contacts from the contacts topic, the sweep's commands at `sweep`."""

    def __init__(self, attribution: timedelta = timedelta(days=5)) -> None:
        self.commerce = Commerce(attribution, currency_of)
        self.part: PartitionState[CustomerState] = PartitionState(
            0, self.commerce, self.commerce.retention
        )
        self.offset = 0

    def feed(self, steps: Iterable[Step]) -> None:
        for step in steps:
            if isinstance(step, Buy):
                event = OrderPlaced(
                    event_id=step.event_id, occurred_at=step.at.isoformat(), order_id="o",
                    customer_id=step.customer, amount=step.amount, currency=step.currency,
                    guest=step.guest,
                )
                self.part.apply(step.customer, self.offset, Decoded(event, step.at))
                self.offset += 1
            else:
                record = ContactRecord(step.customer, step.conversation, step.at)
                self.part.update(step.customer, lambda old, r=record: self.commerce.contact(old, r))

    def sweep(self, now: datetime) -> int:
        """What Sweep.tick sends and the sla-due agent applies; returns the keys evaluated."""
        keys = self.part.pop_due(now)
        for key in keys:
            self.part.evaluate(key, now)
        return len(keys)

    def gauges(self) -> dict[Any, int]:
        counts = self.part.gauges
        assert all(v >= 0 for v in counts.values()), counts
        return {k: v for k, v in counts.items() if v and k[0] in WINDOW_NAMES}


def recovered(part: PartitionState[CustomerState]) -> PartitionState[CustomerState]:
    """A new owner of the partition: every value through the changelog codec, then rebuild."""
    codec: ChangelogCodec[CustomerState] = ChangelogCodec(part.kind)
    records, _ = codec.records(part)  # nothing was flushed before: every key and the meta
    fresh: PartitionState[CustomerState] = PartitionState(
        part.partition, part.kind, part.retention
    )
    for key, value in records:
        codec.load(fresh, key, value)
    fresh.rebuild()
    return fresh


# --- worked examples -----------------------------------------------------------------------------
def test_a_repeat_customer_stops_counting_for_30d_at_the_exact_instant_an_order_leaves() -> None:
    """Event clock: the second-to-last order of a repeat buyer is 30 days old at t1 + 30 d."""
    clock = EventClock()
    core = Customers()
    t1, t2 = T0, T0 + 10 * DAY
    other = Buy("x1", "carl", t1 + 30 * DAY, "1.00", "EUR")
    for step in (Buy("b1", "ann", t1, "40.00", "EUR"), Buy("b2", "ann", t2, "60.00", "EUR")):
        core.feed([step])
        clock.observe(step.at)
    core.sweep(clock.now())
    assert core.gauges()[("window_repeat_customers", ("30d", "all"))] == 1

    # One microsecond before: nothing is due yet, ann is still a repeat buyer for 30d.
    almost = Buy("x0", "bea", t1 + 30 * DAY - US, "1.00", "EUR")
    core.feed([almost])
    clock.observe(almost.at)
    assert core.sweep(clock.now()) == 0
    assert core.gauges()[("window_repeat_customers", ("30d", "all"))] == 1

    # The event clock reaches t1 + 30 d: (now − 30 d, now] no longer holds t1.
    core.feed([other])
    clock.observe(other.at)
    assert core.sweep(clock.now()) == 1
    gauges = core.gauges()
    assert ("window_repeat_customers", ("30d", "all")) not in gauges
    assert gauges[("window_repeat_customers", ("365d", "all"))] == 1
    assert gauges[("window_customers", ("30d", "all"))] == 3  # ann (t2), bea, carl
    assert gauges[("window_orders", ("30d", "all", "no", "EUR"))] == 3  # b2, x0, x1
    assert gauges == model([*[Buy("b1", "ann", t1, "40.00", "EUR"),
                              Buy("b2", "ann", t2, "60.00", "EUR")], almost, other], [],
                           clock.now())


def test_contacted_segment_follows_the_contact_out_of_the_window() -> None:
    core = Customers()
    ticket = Touch("T1", "bob", T0)
    buy = Buy("b1", "bob", T0 + 200 * DAY, "10.00", "USD", guest=True)
    core.feed([ticket, buy])  # the contact first: 200 days before the order
    now = T0 + 200 * DAY
    core.sweep(now)
    assert core.gauges() == model([buy], [ticket], now)
    assert core.gauges()[("window_customers", ("365d", "contacted"))] == 1
    assert core.gauges()[("window_customers", ("30d", "not_contacted"))] == 1
    assert core.gauges()[("window_orders", ("365d", "contacted", "yes", "USD"))] == 1
    # 365 days after the contact bob is no longer contacted over 365d; still counted.
    later = T0 + 365 * DAY
    core.sweep(later - US)
    assert core.gauges()[("window_customers", ("365d", "contacted"))] == 1
    core.sweep(later)
    assert core.gauges() == model([buy], [ticket], later)
    assert core.gauges()[("window_customers", ("365d", "not_contacted"))] == 1
    # And once the order is a year old, bob is gone from every gauge.
    core.sweep(buy.at + LONGEST)
    assert core.gauges() == {}


def test_revenue_is_exact_where_binary_floats_are_not() -> None:
    core = Customers()
    buys = [Buy(f"b{i}", "cy", T0 + i * US, amount, "EUR")
            for i, amount in enumerate([0.1, 0.2, "0.1", 0.2, "0.0001", "19.99"] * 50)]
    core.feed(buys)
    revenue = core.gauges()[("window_revenue", ("30d", "all", "EUR"))]
    assert revenue == int(Decimal("20.5901") * 50 * 10_000)  # 1029.505 exactly
    assert sum([0.1, 0.2, 0.1, 0.2, 0.0001, 19.99] * 50) != 1029.505


@pytest.mark.parametrize(("amount", "units"), [
    ("49.90", 499_000), ("0", 0), (20.0, 200_000), (12, 120_000), ("1e2", 1_000_000),
    ("0.00005", 0), ("0.00015", 2), ("0.123456", 1235), (1e-05, 0), ("999999999999.9999",
    9_999_999_999_999_999),
])
def test_amounts_in_ten_thousandths(amount: str | float, units: int) -> None:
    assert scaled_amount(amount) == units


def test_counters_count_every_order_once_with_guest_and_exact_revenue() -> None:
    core = Customers()
    first = Buy("b1", "dee", T0, "10.05", "EUR", guest=True)
    effects = core.part.apply("dee", 0, Decoded(OrderPlaced(
        event_id="b1", occurred_at="", order_id="o1", customer_id="dee", amount="10.05",
        currency="CHF", guest=True), first.at))
    assert effects is not None
    counts = {(e.metric, e.labels): e.amount for e in effects if hasattr(e, "metric")}
    assert counts == {("orders", ("other", "yes")): 1.0, ("revenue", ("other",)): 100_500}
    # The same event id again (a producer retry at a new offset) counts nothing.
    again = core.part.apply("dee", 1, Decoded(OrderPlaced(
        event_id="b1", occurred_at="", order_id="o1", customer_id="dee", amount="10.05",
        currency="CHF", guest=True), first.at))
    assert again == []


def test_values_written_before_the_engagement_history_are_read_and_counted() -> None:
    """A changelog value from before issue 15 (orders in the attribution list, no history)."""

    class Legacy(msgspec.Struct, array_like=True):
        offset: int
        updated_at: datetime
        recent: bytes
        contacts: list[Any]
        orders: list[Order]

    at = T0 + 3 * DAY
    old = Legacy(7, at, b"", [], [Order("o1", at, "25.50", "EUR", True)])
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(old), type=CustomerState)
    assert state.orders is None and state.as_of == micros(at)
    part: PartitionState[CustomerState] = PartitionState(
        0, Commerce(timedelta(days=5), currency_of), LONGEST)
    part.load("eve", state)
    part.rebuild()
    assert {k: v for k, v in part.gauges.items() if v} == model(
        [Buy("o1", "eve", at, "25.50", "EUR")], [], at)
    assert state.purchases[0].assisted  # the join's flag survives


def test_the_join_still_attributes_orders_after_contacts() -> None:
    core = Customers()
    core.feed([Buy("b1", "fay", T0, "30.00", "EUR")])
    effects = core.part.update("fay", lambda old: core.commerce.contact(
        old, ContactRecord("fay", "T1", T0 - DAY)))
    assert [(e.metric, e.labels) for e in effects if hasattr(e, "metric")] == [
        ("assisted_orders", ("EUR",)), ("assisted_revenue", ("EUR",))]
    assert core.part.values["fay"].purchases[0].assisted


# --- properties ----------------------------------------------------------------------------------
CUSTOMERS = ("c0", "c1", "c2", "c3")
AMOUNTS = ("0", "19.99", "0.1", 0.2, "5", 12.5, "0.0001", "100.50")


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Step], datetime]:
    """Orders and contacts of a few customers over ~400 days, in a processing order that is
    not their event-time order, with duplicate deliveries; and the instant the test ends at."""
    steps: list[Step] = []
    for n in range(draw(st.integers(1, 25))):
        customer = draw(st.sampled_from(CUSTOMERS))
        at = T0 + draw(st.integers(0, 400 * 24)) * timedelta(hours=1) + draw(
            st.integers(0, 3)) * US
        if draw(st.integers(0, 3)) == 0:
            steps.append(Touch(f"K{n}", customer, at))
        else:
            steps.append(Buy(f"b{n}", customer, at, draw(st.sampled_from(AMOUNTS)),
                             draw(st.sampled_from(("EUR", "USD", "CZK"))), draw(st.booleans())))
    steps = draw(st.permutations(steps))
    steps += draw(st.lists(st.sampled_from(steps), max_size=4))  # redelivered
    end = max(s.at for s in steps) + draw(st.integers(0, 400)) * DAY
    return steps, end


def _first_contacts(steps: Sequence[Step]) -> list[Touch]:
    return [s for s in steps if isinstance(s, Touch)]


def _buys(steps: Sequence[Step]) -> list[Buy]:
    return [s for s in steps if isinstance(s, Buy)]


HYPO = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(history=histories(), data=st.data())
def test_gauges_after_any_event_order_and_sweeps_equal_the_model(
    history: tuple[list[Step], datetime], data: st.DataObject
) -> None:
    steps, end = history
    core = Customers()
    # Sweeps at increasing instants while the events arrive (the clock never goes back).
    sweeps = sorted(data.draw(st.lists(st.integers(0, 800), max_size=len(steps))))
    instants = iter(min(end, T0 + d * DAY) for d in sweeps)
    for step in steps:
        core.feed([step])
        if (at := next(instants, None)) is not None:
            core.sweep(at)
    core.sweep(end)
    assert core.gauges() == model(_buys(steps), _first_contacts(steps), end)


@HYPO
@given(history=histories(), data=st.data())
def test_gauges_follow_time_exactly(
    history: tuple[list[Step], datetime], data: st.DataObject
) -> None:
    """After all events, sweeping at any increasing instants — exits ± 1 µs among them —
    gives the model's gauges at each instant."""
    steps, _ = history
    core = Customers()
    core.feed(steps)
    last = max(s.at for s in steps)
    exits = sorted({s.at + d * DAY + e * US for s in steps for d in (30, 365) for e in (-1, 0)
                    if s.at + d * DAY + e * US >= last})
    chosen = sorted(set(data.draw(st.lists(st.sampled_from([last, *exits]), max_size=12))))
    for now in chosen:
        core.sweep(now)
        assert core.gauges() == model(_buys(steps), _first_contacts(steps), now), now


@HYPO
@given(history=histories(), cut=st.integers(0, 30))
def test_crash_recovery_and_replay_give_the_same_numbers(
    history: tuple[list[Step], datetime], cut: int
) -> None:
    """A new owner recovers the values written so far, the sweep re-evaluates what is due, the
    replayed input is skipped by offset, and the rest is applied: the model's numbers."""
    steps, end = history
    cut = min(cut, len(steps))
    core = Customers()
    core.feed(steps[:cut])
    core.sweep(min(end, T0 + 100 * DAY))
    core.part = recovered(core.part)
    assert core.gauges() == {
        k: v for k, v in core.part.gauges.items() if v and k[0] in WINDOW_NAMES}
    core.offset = 0  # the replay starts from the last committed offset, here the beginning
    core.feed(steps)
    core.sweep(end)
    assert core.gauges() == model(_buys(steps), _first_contacts(steps), end)
    # And once more, from scratch, the whole log shifted by one year gives the same numbers.
    shift = timedelta(days=365)
    shifted = Customers()
    shifted.feed([_shifted(s, shift) for s in steps])
    shifted.sweep(end + shift)
    assert shifted.gauges() == core.gauges()


def _shifted(step: Step, by: timedelta) -> Step:
    if isinstance(step, Buy):
        return Buy(step.event_id, step.customer, step.at + by, step.amount, step.currency,
                   step.guest)
    return Touch(step.conversation, step.customer, step.at + by)


@HYPO
@given(history=histories())
def test_state_is_bounded_by_the_longest_window(history: tuple[list[Step], datetime]) -> None:
    steps, end = history
    core = Customers()
    core.feed(steps)
    core.sweep(end)
    oldest = micros(end - LONGEST)
    for state in core.part.values.values():
        assert all(p.at > oldest for p in state.purchases)
