"""Signatures over the raw body, per product: valid, changed body, wrong secret, missing
header, stale timestamp (the products that sign one)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from stream.gateway.signatures import verify, verify_chatwoot, verify_zammad, verify_zendesk
from tests.unit.gateway.conftest import body
from tests.webhooks import SECRET, chatwoot_headers, zammad_headers, zendesk_headers

NOW = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)



SIGNERS: dict[str, Callable[..., dict[str, str]]] = {
    "chatwoot": chatwoot_headers, "zendesk": zendesk_headers, "zammad": zammad_headers,
}
BODIES = {
    "chatwoot": body("chatwoot", "message_created_incoming"),
    "zendesk": body("zendesk", "ticket_created"),
    "zammad": body("zammad", "ticket_created"),
}


@pytest.mark.parametrize("source", sorted(SIGNERS))
def test_valid_signature(source: str) -> None:
    raw = BODIES[source]
    assert verify(source, raw, SIGNERS[source](raw), SECRET, NOW) == "ok"


@pytest.mark.parametrize("source", sorted(SIGNERS))
def test_one_byte_changed(source: str) -> None:
    raw = BODIES[source]
    headers = SIGNERS[source](raw)
    index = raw.index(b":") + 2
    changed = raw[:index] + bytes([raw[index] ^ 1]) + raw[index + 1:]
    assert verify(source, changed, headers, SECRET, NOW) == "bad_signature"


@pytest.mark.parametrize("source", sorted(SIGNERS))
def test_wrong_secret(source: str) -> None:
    raw = BODIES[source]
    assert verify(source, raw, SIGNERS[source](raw, b"another"), SECRET, NOW) == "bad_signature"


@pytest.mark.parametrize("source", sorted(SIGNERS))
def test_missing_header(source: str) -> None:
    raw = BODIES[source]
    headers = SIGNERS[source](raw)
    for name in headers:
        if "signature" in name.lower() or "timestamp" in name.lower():
            partial = {k: v for k, v in headers.items() if k != name}
            assert verify(source, raw, partial, SECRET, NOW) == "missing_signature", name
    assert verify(source, raw, {}, SECRET, NOW) == "missing_signature"


@pytest.mark.parametrize("source", ["chatwoot", "zendesk"])
def test_stale_timestamp(source: str) -> None:
    raw = BODIES[source]
    old = SIGNERS[source](raw, at=NOW - timedelta(seconds=301))
    assert verify(source, raw, old, SECRET, NOW) == "stale_timestamp"
    recent = SIGNERS[source](raw, at=NOW - timedelta(seconds=299))
    assert verify(source, raw, recent, SECRET, NOW) == "ok"
    ahead = SIGNERS[source](raw, at=NOW + timedelta(seconds=301))
    assert verify(source, raw, ahead, SECRET, NOW) == "stale_timestamp"
    assert verify(source, raw, old, SECRET, NOW, max_skew_seconds=600) == "ok"


def test_the_timestamp_is_signed() -> None:
    raw = BODIES["chatwoot"]
    headers = chatwoot_headers(raw)
    headers["X-Chatwoot-Timestamp"] = str(int(NOW.timestamp()) + 1)
    assert verify_chatwoot(raw, headers, SECRET, NOW) == "bad_signature"
    zd = zendesk_headers(BODIES["zendesk"])
    zd["x-zendesk-webhook-signature-timestamp"] = "2026-12-03T10:00:01Z"
    assert verify_zendesk(BODIES["zendesk"], zd, SECRET, NOW) == "bad_signature"


def test_zendesk_signs_the_timestamp_exactly_as_received() -> None:
    raw = BODIES["zendesk"]
    ts = "2026-12-03T10:00:00.000+00:00"  # another spelling of NOW: signed as it is
    digest = base64.b64encode(hmac.new(SECRET, ts.encode() + raw, hashlib.sha256).digest())
    headers = {"X-Zendesk-Webhook-Signature": digest.decode(),
               "X-Zendesk-Webhook-Signature-Timestamp": ts}
    assert verify_zendesk(raw, headers, SECRET, NOW) == "ok"


def test_bad_timestamps() -> None:
    raw = BODIES["chatwoot"]
    headers = chatwoot_headers(raw)
    headers["X-Chatwoot-Timestamp"] = "yesterday"
    assert verify_chatwoot(raw, headers, SECRET, NOW) == "bad_timestamp"
    ts = "last tuesday"
    digest = base64.b64encode(hmac.new(SECRET, ts.encode() + raw, hashlib.sha256).digest())
    headers = {"X-Zendesk-Webhook-Signature": digest.decode(),
               "X-Zendesk-Webhook-Signature-Timestamp": ts}
    assert verify_zendesk(raw, headers, SECRET, NOW) == "bad_timestamp"


def test_zammad_has_no_replay_window() -> None:
    raw = BODIES["zammad"]
    assert verify_zammad(raw, zammad_headers(raw), SECRET) == "ok"
    headers = {"x-hub-signature": zammad_headers(raw)["X-Hub-Signature"]}
    assert verify_zammad(raw, headers, SECRET) == "ok"  # header names are case-insensitive


def test_unknown_source() -> None:
    with pytest.raises(ValueError):
        verify("freshdesk", b"{}", {}, SECRET, NOW)
