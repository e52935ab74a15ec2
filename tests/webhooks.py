"""Signed webhook headers as Chatwoot, Zendesk and Zammad compute them (HELPDESKS.md), for tests
that play the helpdesk."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime

SECRET = b"whsec-7c1f0e5d"
NOW = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


def chatwoot_headers(raw: bytes, secret: bytes = SECRET, at: datetime = NOW) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    digest = hmac.new(secret, f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Signature": f"sha256={digest}", "X-Chatwoot-Timestamp": ts,
            "X-Chatwoot-Delivery": "6f1c0c52-0d6b-4f57-8d8e-2f0c9c1f0b11"}


def zendesk_headers(raw: bytes, secret: bytes = SECRET, at: datetime = NOW) -> dict[str, str]:
    ts = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hmac.new(secret, ts.encode() + raw, hashlib.sha256).digest())
    return {"x-zendesk-webhook-signature": digest.decode(),
            "x-zendesk-webhook-signature-timestamp": ts}


def zammad_headers(raw: bytes, secret: bytes = SECRET, at: datetime = NOW) -> dict[str, str]:
    digest = hmac.new(secret, raw, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "X-Zammad-Trigger": "Support Pulse: state",
            "X-Zammad-Delivery": "1d6cf2b3-2ee1-4a5b-9b4f-0fa4a1d4c3e2"}


SIGNERS: dict[str, Callable[..., dict[str, str]]] = {
    "chatwoot": chatwoot_headers, "zendesk": zendesk_headers, "zammad": zammad_headers,
}
