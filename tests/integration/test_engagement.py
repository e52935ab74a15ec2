"""Customer engagement through the real broker (issue 15, "must show" 1).

Twenty customers' orders and support contacts over 400 days (guests, three currencies, orders
exactly on a window's edge, a duplicate delivery, contacts before and after orders and outside
the windows), produced in a shuffled order. A worker with `--clock fixed:NOW` must expose the
window gauges that an independent model of CONTRACT §4 computes from the same script, and so
the four engagement metrics per window and segment (average order value, purchase frequency,
repeat purchase rate, guest checkout rate): exactly, also when the worker is SIGKILLed while it
applies the second half of the log and a new one takes over, and when the whole scenario is
replayed one year (365 days) earlier with the clock one year earlier (no 29 February in either
span, so it is also the calendar year).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.fixtures import Deployment, Samples, total, wait_until

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
SECOND, MICRO = timedelta(seconds=1), timedelta(microseconds=1)
CURRENCIES = ("EUR", "USD")  # SUPPORTPULSE_CURRENCIES; CZK is `other`
WINDOWS = {"30d": timedelta(days=30), "365d": timedelta(days=365)}
SEGMENTS = ("all", "contacted", "not_contacted")


def days(n: float) -> timedelta:
    return timedelta(days=n)


# (customer, what, how long before NOW, amount, currency, guest). What: order, ticket, chat.
SCRIPT: list[tuple[str, str, timedelta, str, str, bool]] = [
    # A contacted repeat buyer inside 30 days.
    ("c01", "ticket", days(10), "", "", False),
    ("c01", "order", days(25), "30.00", "EUR", False),
    ("c01", "order", days(12), "45.50", "EUR", False),
    ("c01", "order", days(2), "12.25", "EUR", False),
    # A guest, once, never in touch.
    ("c02", "order", days(20), "80.00", "EUR", True),
    # Contacted in the year, not in the month; a repeat buyer over 365d only.
    ("c03", "chat", days(50), "", "", False),
    ("c03", "order", days(100), "60.00", "EUR", False),
    ("c03", "order", days(10), "15.00", "EUR", False),
    # Everything older than a year: in no window at all, still in the counters.
    ("c04", "ticket", days(370), "", "", False),
    ("c04", "order", days(380), "99.00", "EUR", False),
    # One order just outside the year, one inside.
    ("c05", "order", days(366), "20.00", "EUR", True),
    ("c05", "order", days(364), "22.00", "EUR", False),
    # A contact and no order: in no gauge.
    ("c06", "ticket", days(5), "", "", False),
    # Exactly 30 days old is outside (now − 30 d, now]; a second later is inside.
    ("c07", "order", days(30), "10.00", "EUR", False),
    ("c07", "order", days(30) - SECOND, "11.00", "EUR", False),
    # Exactly 365 days old is outside; a microsecond later is inside.
    ("c08", "order", days(365), "5.00", "EUR", False),
    ("c08", "order", days(365) - MICRO, "6.00", "EUR", False),
    # US dollars, both orders as a guest.
    ("c09", "order", days(200), "19.99", "USD", True),
    ("c09", "order", days(40), "0.01", "USD", True),
    # Czech crowns are `other` here; a chat after the order still makes a contacted customer.
    ("c10", "order", days(3), "500", "CZK", False),
    ("c10", "chat", days(1), "", "", False),
    # The contact 31 days ago: not contacted over 30d, contacted over 365d.
    ("c11", "ticket", days(31), "", "", False),
    ("c11", "order", days(5), "70.00", "EUR", False),
    ("c12", "chat", days(2), "", "", False),
    ("c12", "order", days(1), "33.33", "EUR", True),
    # Three orders in the year, none in the month; the ticket is older than the year.
    ("c13", "ticket", days(390), "", "", False),
    ("c13", "order", days(300), "120.00", "EUR", False),
    ("c13", "order", days(200), "80.00", "EUR", False),
    ("c13", "order", days(100), "40.00", "EUR", False),
    # A contact at the far end of the year counts; one just beyond it does not.
    ("c14", "ticket", days(364), "", "", False),
    ("c14", "order", days(363), "10.10", "EUR", False),
    ("c15", "ticket", days(366), "", "", False),
    ("c15", "order", days(360), "9.90", "EUR", False),
    ("c16", "ticket", days(20), "", "", False),
    ("c16", "order", days(15), "25.00", "EUR", False),
    ("c16", "order", days(14), "25.00", "EUR", True),
    ("c17", "chat", days(28), "", "", False),
    ("c17", "order", days(29), "1000.00", "USD", False),
    ("c18", "order", days(45), "12.00", "EUR", False),
    ("c18", "order", days(35), "13.00", "EUR", False),
    ("c19", "order", days(7), "14.00", "EUR", False),
    ("c19", "order", days(6), "16.00", "EUR", True),
    # At NOW itself: inside (now − N, now].
    ("c20", "ticket", days(0), "", "", False),
    ("c20", "order", days(0), "50.00", "EUR", False),
]
DUPLICATED = 40  # c19's first order is delivered twice (a producer retry: same event id)


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def script(now: datetime) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n, (customer, what, before, amount, currency, guest) in enumerate(SCRIPT):
        at = stamp(now - before)
        base = {"event_id": f"eng-{n}", "occurred_at": at}
        if what == "order":
            event = {**base, "type": "order.placed", "order_id": f"o-{n}",
                     "customer_id": customer, "amount": amount, "currency": currency}
            if guest or n % 3 == 0:  # `guest` is optional: false when left out
                event["guest"] = guest
        elif what == "ticket":
            event = {**base, "type": "ticket.created", "ticket_id": f"T-{n}",
                     "channel": "email", "priority": "normal", "queue": "orders",
                     "customer_id": customer}
        else:
            event = {**base, "type": "chat.requested", "chat_id": f"C-{n}", "queue": "orders",
                     "customer_id": customer}
        events.append(event)
    events.append(dict(events[DUPLICATED]))
    random.Random(15).shuffle(events)  # processing order is not event-time order
    return events


# --- the independent model ---------------------------------------------------------------------
def model(now: datetime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The window gauges at NOW by definition, from SCRIPT alone (revenue as a Decimal sum)."""
    orders = [(c, now - b, Decimal(a), cur, g) for c, w, b, a, cur, g in SCRIPT if w == "order"]
    contacts = [(c, now - b) for c, w, b, *_ in SCRIPT if w != "order"]
    out: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    revenue: dict[tuple[str, tuple[tuple[str, str], ...]], Decimal] = {}
    for window, span in WINDOWS.items():
        start = now - span
        for customer in sorted({o[0] for o in orders}):
            mine = [o for o in orders if o[0] == customer and start < o[1] <= now]
            if not mine:
                continue
            contacted = any(c == customer and start < at <= now for c, at in contacts)
            for segment in ("all", "contacted" if contacted else "not_contacted"):
                ws = (("segment", segment), ("window", window))
                out[("support_window_customers", ws)] += 1
                out[("support_window_repeat_customers", ws)] += len(mine) >= 2
                for _, _, amount, code, guest in mine:
                    currency = code if code in CURRENCIES else "other"
                    key = ("support_window_orders", (("currency", currency),
                           ("guest", "yes" if guest else "no"), *ws))
                    out[key] += 1
                    rkey = ("support_window_revenue", (("currency", currency), *ws))
                    revenue[rkey] = revenue.get(rkey, Decimal(0)) + amount
    gauges = {k: float(v) for k, v in out.items() if v}
    gauges.update({k: float(v) for k, v in revenue.items() if v})
    return gauges


def counters() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """support_orders_total and support_revenue_total: every order once, whatever its age."""
    out: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    revenue: dict[tuple[str, tuple[tuple[str, str], ...]], Decimal] = {}
    for _, what, _, amount, code, guest in SCRIPT:
        if what != "order":
            continue
        currency = code if code in CURRENCIES else "other"
        out[("support_orders_total", (("currency", currency),
                                      ("guest", "yes" if guest else "no")))] += 1
        key = ("support_revenue_total", (("currency", currency),))
        revenue[key] = revenue.get(key, Decimal(0)) + Decimal(amount)
    return {**{k: float(v) for k, v in out.items()}, **{k: float(v) for k, v in revenue.items()}}


GAUGES = ("support_window_orders", "support_window_revenue", "support_window_customers",
          "support_window_repeat_customers")


def window_gauges(samples: Samples) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {k: v for k, v in samples.items() if k[0] in GAUGES and v}


def metrics(gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[Any, float]:
    """The four engagement metrics per window and segment (order value per currency), the way
    the README's PromQL computes them."""
    def summed(name: str, **labels: str) -> float:
        return sum(v for (metric, items), v in gauges.items()
                   if metric == name and labels.items() <= dict(items).items())

    out: dict[Any, float] = {}
    for window in WINDOWS:
        for segment in SEGMENTS:
            ws = {"window": window, "segment": segment}
            customers = summed("support_window_customers", **ws)
            orders = summed("support_window_orders", **ws)
            if customers:
                out[(window, segment, "frequency")] = orders / customers
                out[(window, segment, "repeat")] = (
                    summed("support_window_repeat_customers", **ws) / customers)
                out[(window, segment, "guest")] = (
                    summed("support_window_orders", guest="yes", **ws) / orders)
            for currency in (*CURRENCIES, "other"):
                n = summed("support_window_orders", currency=currency, **ws)
                if n:
                    out[(window, segment, f"value {currency}")] = summed(
                        "support_window_revenue", currency=currency, **ws) / n
    return out


def test_the_model_is_the_hand_worked_scenario() -> None:
    """The model against numbers worked out by hand from SCRIPT's comments."""
    got = metrics(model(NOW))
    # 30d: c01 c02 c03 c07 c10 c11 c12 c16 c17 c19 c20 ordered (c01 3 orders, c16 and c19 2,
    # c19's duplicate counted once); contacted: c01 c10 c12 c16 c17 c20.
    assert got[("30d", "all", "frequency")] == 15 / 11
    assert got[("30d", "contacted", "repeat")] == 2 / 6  # c01, c16
    assert got[("30d", "not_contacted", "repeat")] == 1 / 5  # c19 (c07's first is outside)
    assert got[("30d", "all", "guest")] == 4 / 15  # c02, c12, c16, c19
    assert got[("30d", "not_contacted", "value EUR")] == (80 + 15 + 11 + 70 + 14 + 16) / 6
    assert got[("30d", "contacted", "value USD")] == 1000.0  # c17
    # 365d adds c03 c05 c08 c09 c13 c14 c15 c18; contacted adds c03, c11, c14.
    assert got[("365d", "all", "frequency")] == 28 / 18
    assert got[("365d", "contacted", "repeat")] == 3 / 9  # c01 c03 c16
    assert got[("365d", "not_contacted", "repeat")] == 5 / 9  # c07 c09 c13 c18 c19
    assert got[("365d", "not_contacted", "value USD")] == 10.0  # (19.99 + 0.01) ÷ 2


def with_filler(events: list[dict[str, Any]], n: int = 8000) -> list[dict[str, Any]]:
    """`events` among `n` campaign.shown prompts (commerce topic, no customer state)."""
    filler = [{"type": "campaign.shown", "event_id": f"fill-{i}", "campaign_id": f"cmp-{i}",
               "occurred_at": stamp(NOW - days(i % 400))} for i in range(n)]
    mixed = filler + events
    random.Random(16).shuffle(mixed)
    return mixed


def deploy(factory: Any) -> Deployment:
    deployment: Deployment = factory(SUPPORTPULSE_CURRENCIES=",".join(CURRENCIES))
    return deployment


def settled(worker: Any, expected: dict[Any, float], what: str) -> None:
    wait_until(lambda: window_gauges(worker.samples()) == expected, 60,
               lambda: f"{what}: {sorted(window_gauges(worker.samples()).items())}")


def test_engagement_matches_the_model_after_sigkill_and_a_year_later(
    deployment_factory: Any,
) -> None:
    expected = model(NOW)
    events = script(NOW)
    half = len(events) // 2
    deployment = deploy(deployment_factory)
    deployment.produce(events[:half])
    first = deployment.worker(clock=f"fixed:{stamp(NOW)}").start()
    wait_until(lambda: total(first.samples(), "support_events_total") == half, 60,
               "the first half was not applied")
    # The second half arrives among campaign prompts on the same partitions (a few seconds of
    # work); the worker dies while it applies them (SIGKILL, no clean-up).
    deployment.produce(with_filler(events[half:]))
    wait_until(lambda: total(first.samples(), "support_events_total") > half + 100, 30,
               "the second half did not start")
    first.kill()
    worker = deployment.worker(clock=f"fixed:{stamp(NOW)}").start()
    settled(worker, expected, "after the SIGKILL")
    assert metrics(window_gauges(worker.samples())) == metrics(expected)

    # The same script one year earlier on fresh topics, the clock one year earlier: the same
    # gauges, and the counters of one clean pass.
    earlier = NOW - YEAR
    assert earlier.year == 2025 and (NOW - days(400)).year == 2025  # no 29 February between
    shifted = deploy(deployment_factory)
    shifted.produce(script(earlier))
    replay = shifted.worker(clock=f"fixed:{stamp(earlier)}").start()
    settled(replay, expected, "shifted replay")
    samples = replay.samples()
    assert metrics(window_gauges(samples)) == metrics(expected)
    assert {k: v for k, v in samples.items()
            if k[0] in ("support_orders_total", "support_revenue_total") and v} == counters()
