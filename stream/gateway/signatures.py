"""Webhook signatures, checked over the raw body before anything parses it (invariant 10).

- Chatwoot: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, f"{ts}.{body}")>` with
  `X-Chatwoot-Timestamp` (Unix seconds) [chatwoot lib/webhooks/trigger.rb].
- Zendesk: `X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, ts + body))` with
  `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601), signed exactly as received.
- Zammad: `X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, body)>`; no timestamp, so no replay
  window (its `X-Zammad-Delivery` and the event ids are what make a replay harmless).

A signed timestamp further than `max_skew_seconds` from `now` (either way) is a replay:
`stale_timestamp`. `now` is passed in; nothing here reads the clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal

from stream.domain.events import parse_timestamp
from stream.gateway.translation import header

Verdict = Literal["ok", "missing_signature", "bad_signature", "stale_timestamp", "bad_timestamp"]
DEFAULT_MAX_SKEW_SECONDS: Final = 300.0


def _fresh(moment: datetime, now: datetime, max_skew: float) -> bool:
    return abs((now - moment).total_seconds()) <= max_skew


def verify_chatwoot(
    body: bytes, headers: Mapping[str, str], secret: bytes, now: datetime,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
) -> Verdict:
    signature = header(headers, "X-Chatwoot-Signature")
    stamp = header(headers, "X-Chatwoot-Timestamp")
    if not signature or not stamp:
        return "missing_signature"
    text = stamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return "bad_timestamp"
    expected = "sha256=" + hmac.new(secret, text.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        return "bad_signature"
    if not _fresh(datetime.fromtimestamp(int(text), UTC), now, max_skew_seconds):
        return "stale_timestamp"
    return "ok"


def verify_zendesk(
    body: bytes, headers: Mapping[str, str], secret: bytes, now: datetime,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
) -> Verdict:
    signature = header(headers, "X-Zendesk-Webhook-Signature")
    stamp = header(headers, "X-Zendesk-Webhook-Signature-Timestamp")
    if not signature or not stamp:
        return "missing_signature"
    digest = hmac.new(secret, stamp.encode("utf-8", "replace") + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        return "bad_signature"
    moment = parse_timestamp(stamp.strip())
    if moment is None:
        return "bad_timestamp"
    if not _fresh(moment, now, max_skew_seconds):
        return "stale_timestamp"
    return "ok"


def verify_zammad(body: bytes, headers: Mapping[str, str], secret: bytes) -> Verdict:
    signature = header(headers, "X-Hub-Signature")
    if not signature:
        return "missing_signature"
    expected = "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        return "bad_signature"
    return "ok"


def verify(
    source: str, body: bytes, headers: Mapping[str, str], secret: bytes, now: datetime,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
) -> Verdict:
    """Dispatch on the source name (`chatwoot`, `zendesk`, `zammad`)."""
    if source == "chatwoot":
        return verify_chatwoot(body, headers, secret, now, max_skew_seconds)
    if source == "zendesk":
        return verify_zendesk(body, headers, secret, now, max_skew_seconds)
    if source == "zammad":
        return verify_zammad(body, headers, secret)
    raise ValueError(f"unknown source {source!r}")
