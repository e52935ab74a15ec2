"""What every translator returns, and the helpers they share.

A translation is a list of §1 event dicts (ready for JSON), possibly empty when the webhook is
valid but says nothing the monitor uses ("ignored": a contact update, a typing indicator), or a
`Rejection` whose `reason` is one of a bounded set (it becomes a DLQ header and a metric label).

Event ids (CONTRACT §7): built only from the source's own object ids and versions plus the role
of the event inside the translation (`created`, `status-open`, `assign`…), never from delivery
headers, so a redelivery or the same fact sent by two sinks yields the same ids. A role names
the fact rather than counting positions, so the same fact found in two different webhook types
(Chatwoot's `conversation_updated` and `conversation_status_changed`) also gets one id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import msgspec

from stream.domain.events import MAX_TIME, decode, parse_timestamp
from stream.domain.events import Rejection as DecodeRejection

if TYPE_CHECKING:
    from stream.gateway.mapping import Connectors

Event = dict[str, Any]

# The bounded `reason` values of a Rejection (DLQ header `reason`).
REASONS: Final = (
    "not_json",
    "not_object",
    "unsupported_event",
    "missing_field",
    "invalid_field",
    "bad_timestamp",
    "unmapped_account",
    "unmapped_channel",
    "unmapped_kind",
    "unmapped_status",
    "unmapped_score",
    "unmapped_author",
)
MAX_EVENT_ID: Final = 128


@dataclass(frozen=True)
class Rejection:
    """A signed webhook that cannot be translated; `reason` is one of `REASONS`."""

    reason: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unbounded rejection reason {self.reason!r}")


Translation = list[Event] | Rejection


class Reject(Exception):
    """Raised inside a translator; `translate` turns it into a `Rejection`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.rejection = Rejection(reason, detail[:200])


def event_id(source: str, *parts: object) -> str:
    """`source:part:part…`, or `source:h:<sha256>` when that would exceed 128 characters."""
    text = ":".join([source, *(str(part) for part in parts)])
    if len(text) <= MAX_EVENT_ID:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source[:32]}:h:{digest}"


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Reject("not_json", str(exc)) from None
    if not isinstance(obj, dict):
        raise Reject("not_object", f"top-level JSON {type(obj).__name__}")
    return obj


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def obj(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (absent and null look the same)."""
    return value if isinstance(value, dict) else {}


def native_id(value: object, what: str, required: bool = True) -> str | None:
    """A source id as text: ints and non-empty strings (Zendesk sends ids as strings)."""
    if isinstance(value, bool) or value is None or value == "":
        if required:
            raise Reject("missing_field", f"missing {what}")
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) <= 128 and value.strip() == value:
        return value
    raise Reject("invalid_field", f"{what} is not an id")


def timestamp(value: object, what: str) -> str:
    """A source timestamp → RFC 3339 in UTC with `Z`.

    Accepts Unix seconds (int or float: Chatwoot's `created_at`, `updated_at`), RFC 3339 with
    up to nanoseconds (Zendesk's `time`), and Rails' `2020-03-03 13:05:57 UTC` (old Chatwoot).
    """
    moment: datetime | None = None
    if isinstance(value, bool):
        moment = None
    elif isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4].replace(" ", "T") + "Z"
        moment = parse_timestamp(_trim_fraction(text))
    if moment is None:
        raise Reject("bad_timestamp", f"{what} {str(value)[:64]!r} is not a timestamp")
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _trim_fraction(text: str) -> str:
    """Cut fractional seconds to 6 digits (datetime's precision) before parsing."""
    dot = text.find(".")
    if dot < 0:
        return text
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    return text[: min(end, dot + 7)] + text[end:]


def mapped_priority(name: str, overrides: Mapping[str, str], defaults: Mapping[str, str]) -> str:
    """A lower-cased native priority → §1: the connectors file, the product's defaults, else
    `normal` (§1's default: an unknown priority never rejects a webhook)."""
    return overrides.get(name) or defaults.get(name, "normal")


def mapped_status(
    name: str, overrides: Mapping[str, str], defaults: Mapping[str, str], what: str
) -> str:
    """A lower-cased native status → §1; unknown ones reject (§1 has no default status)."""
    found = overrides.get(name) or defaults.get(name)
    if found is None:
        raise Reject("unmapped_status", f"{what} {name[:64]!r}")
    return found


def finish(events: list[Event]) -> Translation:
    """Check every event against the worker's own decoder; a failure is a rejection.

    A translator that yields an event the worker would dead-letter (an id over 256 characters
    from a hostile payload, say) rejects the webhook instead, so the raw body is kept whole.
    """
    for event in events:
        result = decode(msgspec.json.encode(event), lambda: MAX_TIME, max_bytes=1 << 20)
        if isinstance(result, DecodeRejection):
            reason = "bad_timestamp" if result.reason == "bad_timestamp" else "invalid_field"
            return Rejection(reason, f"{event.get('type')}: {result.detail}"[:200])
    return events


def translator(source: str) -> Callable[[bytes, Mapping[str, str], Connectors], Translation]:
    """The `translate` function of a source (`chatwoot`, `zendesk`, `zammad`)."""
    from stream.gateway import chatwoot, zammad, zendesk

    found = {"chatwoot": chatwoot.translate, "zendesk": zendesk.translate,
             "zammad": zammad.translate}.get(source)
    if found is None:
        raise ValueError(f"unknown source {source!r}: expected chatwoot, zendesk or zammad")
    return found
