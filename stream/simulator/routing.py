"""Where a generated event goes: its topic's stream and its message key (CONTRACT §1).

Both come from the event tables of `stream.domain.events`, the decoder's own, so the simulator
cannot route an event differently from how the worker checks it.
"""

from __future__ import annotations

from collections.abc import Mapping

from stream.domain.events import KEY_FIELD_OF_TYPE, STREAM_OF_TYPE


def stream_of(event_type: str) -> str:
    """The stream (`tickets`, `chats`, `agents`, `commerce`) an event type belongs to."""
    try:
        return STREAM_OF_TYPE[event_type]
    except KeyError:
        raise ValueError(f"unknown event type {event_type!r}") from None


def key_of(event: Mapping[str, object]) -> str:
    """The Kafka message key of an event, per CONTRACT §1."""
    etype = event.get("type")
    if not isinstance(etype, str):
        raise ValueError("event has no string 'type'")
    stream_of(etype)  # an unknown type is a ValueError, as above
    field_name = KEY_FIELD_OF_TYPE[etype]
    key = event.get(field_name)
    if not isinstance(key, str) or not key:
        raise ValueError(f"{etype} event has no key field {field_name!r}")
    return key
