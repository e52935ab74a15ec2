"""`POST /events`: §1 events as a helpdesk's templated webhook sends them, all or nothing.

The body is one JSON object, a JSON array of objects, or JSON lines. Every event is checked
with the worker's own decoder before anything is produced: one bad event and the request is
answered 400 with each failing index and reason, and nothing is produced (a template that
half-works would otherwise leave half a conversation on the topic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from stream.domain.events import MAX_TIME, Rejection, decode


@dataclass(frozen=True)
class Problem:
    index: int  # 0-based position in the request
    reason: str  # the worker's rejection reason (`invalid_json`, `missing_field`, …)
    detail: str


def parse_events(
    body: bytes, max_event_bytes: int, received_at: datetime
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """(events, problems); the events are only usable when `problems` is empty.

    An event without `occurred_at` gets `received_at` (an extension for templated sources:
    Freshdesk's date placeholders, for one, do not render RFC 3339).
    """
    items = _items(body)
    events: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        if isinstance(item, Problem):
            problems.append(Problem(index, item.reason, item.detail))
            continue
        if not isinstance(item, dict):
            problems.append(Problem(index, "invalid_json", "an event is a JSON object"))
            continue
        if not item.get("occurred_at"):
            item["occurred_at"] = received_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        raw = msgspec.json.encode(item)
        # The gateway has no event clock: how far in the future is too far is the worker's call.
        checked = decode(raw, lambda: MAX_TIME, max_bytes=max_event_bytes)
        if isinstance(checked, Rejection):
            problems.append(Problem(index, checked.reason, checked.detail[:200]))
            continue
        events.append(item)
    if not items:
        problems.append(Problem(0, "invalid_json", "no events in the body"))
    return events, problems


def _items(body: bytes) -> list[Any]:
    try:
        whole = json.loads(body)
    except (ValueError, RecursionError):
        return [_line(line) for line in body.splitlines() if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def _line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        return Problem(0, "invalid_json", str(exc)[:200])
