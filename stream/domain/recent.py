"""Duplicate suppression by event id, bounded per conversation.

A producer retry can deliver the same event at a new offset; the offset check cannot see that.
Each conversation remembers the hashes of its last few event ids: duplicates arrive close to the
original, and a fixed window keeps the per-conversation state bounded (invariant 8).

How close is "close": a helpdesk retries a webhook seconds to minutes later (Zammad waits
10/20/30/40 s, Zendesk retries up to 3 times, and the gateway answers 503 while a broker fails
over), and the retry must still find its ids. `benchmarks/duplicate_window.py` counts, over a
simulated Black Friday, the events one conversation gets within each retry horizon: at most 12
within 100 s, 15 within 5 minutes, 37 within 15 minutes. Hence 40 ids. They are packed as 4-byte
little-endian crc32 values in one `bytes` (160 B at most, and only for the busiest
conversations; a list of Python ints cost ≈ 40 B per id). Values written before this change hold
a list of ints: both forms are read, and the first new event rewrites the list as bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

import msgspec

from stream.domain.effects import EVENTS_LATE, Count, Effect

Recent = bytes | list[int]


class Tracked(Protocol):
    offset: int
    updated_at: datetime
    recent: Recent


T = TypeVar("T", bound=Tracked)

WINDOW = 40
_SIZE = 4


def event_hash(event_id: str) -> int:
    # crc32 is stable across processes (unlike hash()), which replay after a restart needs.
    return zlib.crc32(event_id.encode("utf-8", "surrogatepass"))


def _packed(recent: Recent) -> bytes:
    if isinstance(recent, bytes):
        return recent
    return b"".join(h.to_bytes(_SIZE, "little") for h in recent)


def seen(recent: Recent, event_id: str) -> bool:
    if isinstance(recent, list):
        return event_hash(event_id) in recent
    needle = event_hash(event_id).to_bytes(_SIZE, "little")
    at = recent.find(needle)
    while at >= 0:
        if at % _SIZE == 0:  # a match straddling two hashes is not one
            return True
        at = recent.find(needle, at + 1)
    return False


def remember(recent: Recent, event_id: str) -> bytes:
    updated = _packed(recent) + event_hash(event_id).to_bytes(_SIZE, "little")
    return updated[-WINDOW * _SIZE:]


def begin(
    state: T | None,
    new: Callable[[], T],
    event_id: str,
    occurred_at: datetime,
    offset: int,
    stream: str,
) -> tuple[T, list[Effect]] | None:
    """The common start of applying an event to a stored value.

    None for a duplicate; else a copy to change (stored values stay untouched, so the partition
    can still derive the old value's gauges) and the late-event count if it is older than the
    value. The copy's offset, recent ids and `updated_at` are already advanced.
    """
    if state is not None and seen(state.recent, event_id):
        return None
    effects: list[Effect] = []
    if state is None:
        state = new()
    else:
        if occurred_at < state.updated_at:
            effects.append(Count(EVENTS_LATE, (stream,)))
        state = msgspec.structs.replace(state, offset=offset)  # type: ignore[type-var]
    state.recent = remember(state.recent, event_id)
    if occurred_at > state.updated_at:
        state.updated_at = occurred_at
    return state, effects
