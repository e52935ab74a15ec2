"""Customer engagement over event-time windows (CONTRACT §4, second round: engagement).

Each customer (the commerce table, keyed and co-partitioned by customer id) keeps the orders of
the longest window and the instant of their latest support contact, together with `as_of`: the
instant its windows end at. A window is (as_of − N × 86,400 s, as_of]. The customer's gauge
contributions are then exact for every "now" in [as_of, next_due): nothing enters a window
without an event, and `next_due` is the first instant an order or the contact leaves one. The
partition's due heap wakes the customer at that instant, and the sweep's command moves as_of
there (applied by the sla-due agent: timers never write tables, invariant 3). `as_of` is the
later of the last evaluation and the customer's latest event, so the gauges depend only on the
events and the clock — a replay, a shifted replay or a recovery gives the same numbers — and a
recovered value that is behind is simply due again (invariants 2, 4, 6).

Amounts are ints in ten-thousandths of the currency unit (ISO 4217's finest minor unit has four
decimal places), so revenue sums are exact; an amount with finer fractions is rounded half-even.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Final

import msgspec

from stream.domain import gauges as g

GaugeKey = tuple[str, tuple[str, ...]]

_US: Final = timedelta(microseconds=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US: Final = 86_400 * 1_000_000

# (label, length in µs); the longest decides how long a customer's orders are kept.
WINDOWS: Final = (("30d", 30 * DAY_US), ("365d", 365 * DAY_US))
LONGEST_US: Final = max(span for _, span in WINDOWS)
LONGEST: Final = timedelta(microseconds=LONGEST_US)
ALL, CONTACTED, NOT_CONTACTED = "all", "contacted", "not_contacted"
SEGMENTS: Final = (ALL, CONTACTED, NOT_CONTACTED)
GUEST_LABELS: Final = ("yes", "no")

AMOUNT_SCALE: Final = g.WINDOW_REVENUE.scale  # 10,000
_PLAIN = re.compile(r"(\d{1,13})(?:\.(\d{1,4}))?")
_EXACT = Context(prec=100, rounding=ROUND_HALF_EVEN, Emin=-10**9, Emax=10**9)


def micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def scaled_amount(amount: str | float) -> int:
    """A §1 amount (decimal string or JSON number) in ten-thousandths, exactly."""
    text = amount if isinstance(amount, str) else repr(amount)
    plain = _PLAIN.fullmatch(text)
    if plain is not None:  # the usual "49.90": integer arithmetic only
        whole, fraction = plain.groups()
        return int(whole) * AMOUNT_SCALE + int((fraction or "").ljust(4, "0"))
    value = Decimal(text).scaleb(4, _EXACT)
    return int(value.to_integral_value(ROUND_HALF_EVEN, _EXACT))


class Purchase(msgspec.Struct, array_like=True, gc=False):
    """One order inside the longest window. Never mutated: old and new states share them."""

    at: int  # occurred_at, µs since the epoch
    amount: int  # ten-thousandths of the currency unit
    currency: str  # ISO 4217 code as received (the label is chosen at scrape time)
    guest: bool = False
    assisted: bool = False

    def __post_init__(self) -> None:
        # One string object per code for the whole table, also for values read back from the
        # changelog (≈ 52 B per order otherwise).
        self.currency = sys.intern(self.currency)


def _at(purchase: Purchase) -> int:
    return purchase.at


def _inside(purchases: tuple[Purchase, ...], start: int) -> tuple[Purchase, ...]:
    """The purchases after `start` (purchases are kept in event-time order: a suffix)."""
    return purchases[bisect_right(purchases, start, key=_at):]


def added(purchases: tuple[Purchase, ...], purchase: Purchase) -> tuple[Purchase, ...]:
    """`purchases` with one more, in event-time order (a late order goes before later ones)."""
    if not purchases or purchases[-1].at <= purchase.at:
        return (*purchases, purchase)
    i = bisect_right(purchases, purchase.at, key=_at)
    return (*purchases[:i], purchase, *purchases[i:])


def prune(purchases: tuple[Purchase, ...], as_of: int) -> tuple[Purchase, ...]:
    """The purchases still inside the longest window ending at `as_of`."""
    if not purchases or purchases[0].at > as_of - LONGEST_US:
        return purchases
    return _inside(purchases, as_of - LONGEST_US)


_CUSTOMERS, _REPEAT = g.WINDOW_CUSTOMERS.key, g.WINDOW_REPEAT_CUSTOMERS.key
_ORDERS, _REVENUE = g.WINDOW_ORDERS.key, g.WINDOW_REVENUE.key


def _contacted(last_contact: int | None, start: int) -> bool:
    return last_contact is not None and last_contact > start


def contributions(
    purchases: tuple[Purchase, ...], last_contact: int | None, as_of: int,
    currency_of: Callable[[str | None], str],
) -> dict[GaugeKey, int]:
    """The window gauges this customer counts in, as of `as_of` (weights: orders, revenue).

    The partition swaps a value's contributions on every change (the old value's, then the
    new one's), so this runs twice per order event: sums per window first, then the segments.
    """
    out: dict[GaugeKey, int] = {}
    if not purchases:
        return out
    for window, span in WINDOWS:
        start = as_of - span
        inside = _inside(purchases, start)
        if not inside:
            continue
        segments = (ALL, CONTACTED if _contacted(last_contact, start) else NOT_CONTACTED)
        n = len(inside)
        code = inside[0].currency
        if all(p.currency is code for p in inside):  # one currency (interned codes)
            currency = currency_of(code)
            guests = sum(1 for p in inside if p.guest)
            total = sum(p.amount for p in inside)
            for seg in segments:
                out[(_CUSTOMERS, (window, seg))] = 1
                if n > 1:
                    out[(_REPEAT, (window, seg))] = 1
                if guests:
                    out[(_ORDERS, (window, seg, "yes", currency))] = guests
                if n > guests:
                    out[(_ORDERS, (window, seg, "no", currency))] = n - guests
                out[(_REVENUE, (window, seg, currency))] = total
            continue
        # Several currencies: sums per (guest, currency label), then per segment.
        orders: dict[tuple[str, str], int] = {}
        revenue: dict[str, int] = {}
        for p in inside:
            currency = currency_of(p.currency)
            kind = ("yes" if p.guest else "no", currency)
            orders[kind] = orders.get(kind, 0) + 1
            revenue[currency] = revenue.get(currency, 0) + p.amount
        for seg in segments:
            out[(_CUSTOMERS, (window, seg))] = 1
            out[(_REPEAT, (window, seg))] = 1
            for (guest, currency), count in orders.items():
                out[(_ORDERS, (window, seg, guest, currency))] = count
            for currency, amount in revenue.items():
                out[(_REVENUE, (window, seg, currency))] = amount
    return out


def next_change(
    purchases: tuple[Purchase, ...], last_contact: int | None, as_of: int
) -> int | None:
    """The first instant after `as_of` at which an order or the contact leaves a window that
    holds an order (nothing else changes a contribution without an event); None if none."""
    due: int | None = None
    for _, span in WINDOWS:
        start = as_of - span
        inside = _inside(purchases, start)
        if not inside:
            continue
        leaves = inside[0].at + span
        if last_contact is not None and start < last_contact:
            leaves = min(leaves, last_contact + span)  # the segment flips to not_contacted
        if due is None or leaves < due:
            due = leaves
    return due
