"""Human-written durations ("90s", "15m", "1h30m", "2d", "1w") ↔ seconds.

Units must appear largest first and at most once, so "30m1h" or "1h1h" are rejected rather than
silently summed: in a policy file such a value is far more likely a typo than an intent. A number
without a unit is rejected too, because "90" could mean seconds or minutes.
"""

from __future__ import annotations

import math
import re
from typing import Final

UNIT_SECONDS: Final = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}

_NUMBER = r"(?:\d+(?:\.\d+)?)"
_DURATION = re.compile(
    "".join(f"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in UNIT_SECONDS), re.ASCII
)
_EXAMPLES = "e.g. 90s, 15m, 1h30m, 2d or 1w"


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError naming the accepted forms otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"duration must be text ({_EXAMPLES}), got {type(text).__name__}")
    stripped = text.strip()
    found = _DURATION.fullmatch(stripped) if stripped else None
    if found is None or not any(found.groupdict().values()):
        if stripped and _is_number(stripped):
            raise ValueError(f"duration {text!r} needs a unit (w, d, h, m, s), {_EXAMPLES}")
        raise ValueError(
            f"invalid duration {text!r}: expected numbers with units w, d, h, m, s, "
            f"largest first, {_EXAMPLES}"
        )
    total = 0.0
    for unit, amount in found.groupdict().items():
        if amount is not None:
            total += float(amount) * UNIT_SECONDS[unit]
    return total


def format_duration(seconds: float) -> str:
    """Compact form using d, h, m, s ("1d2h", "1h30m", "90.5s" → "1m30.5s"); "0s" for zero.

    Weeks are not used on output: "10d" reads better than "1w3d". Sub-second parts keep at most
    millisecond precision. The result parses back with `parse_duration`.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format a non-finite duration: {seconds!r}")
    sign = "-" if seconds < 0 else ""
    millis = round(abs(seconds) * 1000)
    whole, frac_ms = divmod(millis, 1000)
    parts: list[str] = []
    for unit in ("d", "h", "m"):
        size = UNIT_SECONDS[unit]
        amount, whole = divmod(whole, size)
        if amount:
            parts.append(f"{amount}{unit}")
    if whole or frac_ms or not parts:
        if frac_ms:
            parts.append(f"{whole}.{frac_ms:03d}".rstrip("0") + "s")
        else:
            parts.append(f"{whole}s")
    return sign + "".join(parts)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
