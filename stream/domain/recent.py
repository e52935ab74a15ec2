"""Duplicate suppression by event id, bounded per conversation.

A producer retry can deliver the same event at a new offset; the offset check cannot see that.
Each conversation remembers the hashes of its last few event ids: duplicates arrive close to the
original, and a fixed window keeps the per-conversation state bounded (invariant 8).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

import msgspec

from stream.domain.effects import EVENTS_LATE, Count, Effect


class Tracked(Protocol):
    offset: int
    updated_at: datetime
    recent: list[int]


T = TypeVar("T", bound=Tracked)

WINDOW = 8


def event_hash(event_id: str) -> int:
    # crc32 is stable across processes (unlike hash()), which replay after a restart needs.
    return zlib.crc32(event_id.encode("utf-8", "surrogatepass"))


def seen(recent: list[int], event_id: str) -> bool:
    return event_hash(event_id) in recent


def remember(recent: list[int], event_id: str) -> list[int]:
    updated = [*recent, event_hash(event_id)]
    return updated[-WINDOW:]


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
