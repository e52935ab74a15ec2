"""Duplicate suppression by event id, bounded per conversation.

A producer retry can deliver the same event at a new offset; the offset check cannot see that.
Each conversation remembers the hashes of its last few event ids: duplicates arrive close to the
original, and a fixed window keeps the per-conversation state bounded (invariant 8).
"""

from __future__ import annotations

import zlib

WINDOW = 8


def event_hash(event_id: str) -> int:
    # crc32 is stable across processes (unlike hash()), which replay after a restart needs.
    return zlib.crc32(event_id.encode("utf-8", "surrogatepass"))


def seen(recent: list[int], event_id: str) -> bool:
    return event_hash(event_id) in recent


def remember(recent: list[int], event_id: str) -> list[int]:
    updated = [*recent, event_hash(event_id)]
    return updated[-WINDOW:]
