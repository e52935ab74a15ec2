"""Weighted choices from a profile's mixes, satisfaction scores and reply templates.

Every draw takes the run's one `random.Random` and consumes it exactly as before the simulator
was split: one `random()` per weighted pick, one `randrange` per template.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from itertools import accumulate
from types import MappingProxyType
from typing import Final

GREETING_TEMPLATE: Final = "tpl-chat-greeting"

_TEMPLATES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "order_status": ("tpl-where-is-my-order", "tpl-order-delayed"),
        "shipping": ("tpl-shipping-times", "tpl-last-shipping-day"),
        "returns": ("tpl-return-label", "tpl-refund-timeline"),
        "payment": ("tpl-payment-failed", "tpl-double-charge"),
        "product_question": ("tpl-size-guide", "tpl-stock-check"),
        "account": ("tpl-password-reset",),
    }
)
_GENERIC: Final = ("tpl-generic-answer",)


class Picker:
    """Weighted choice by bisection: cheaper per draw than random.choices."""

    __slots__ = ("_cum", "_total", "_values")

    def __init__(self, pairs: Sequence[tuple[str, float]]) -> None:
        if not pairs or any(w < 0 for _, w in pairs) or sum(w for _, w in pairs) <= 0:
            raise ValueError(f"bad weights: {pairs!r}")
        self._values = tuple(v for v, _ in pairs)
        self._cum = tuple(accumulate(w for _, w in pairs))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> str:
        i = bisect_right(self._cum, rng.random() * self._total)
        return self._values[min(i, len(self._values) - 1)]


class ScorePicker(Picker):
    """A survey score 1..5 from five weights."""

    __slots__ = ()

    def __init__(self, weights: Sequence[float]) -> None:
        if len(weights) != 5:
            raise ValueError("score weights need five entries (scores 1..5)")
        super().__init__([(str(i + 1), w) for i, w in enumerate(weights)])

    def score(self, rng: random.Random) -> int:
        return int(self.pick(rng))


def template(rng: random.Random, request_type: str) -> str:
    """A reply template for the request type (chats and tickets share the library)."""
    options = _TEMPLATES.get(request_type, _GENERIC)
    return options[rng.randrange(len(options))]
