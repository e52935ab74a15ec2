"""The gateway's HTTP answers (CONTRACT §7), with the broker replaced by a recorder.

What the recorder stands in for is only "the broker acknowledged" or "it did not"
(`BrokerUnavailable`); the real broker path is tests/integration/test_gateway.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from stream.domain.events import STREAM_OF_TYPE
from stream.gateway.connectors import Connectors
from stream.gateway.delivery import BrokerUnavailable, Record
from stream.gateway.service import MAX_BODY, Gateway
from stream.settings import Settings
from tests.unit.gateway.conftest import body
from tests.webhooks import NOW, SECRET, SIGNERS

TOKEN = "events-token-1"


class Recorder:
    """Acknowledges everything (or nothing while `down`), keeping what it was given."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.down = False
        self.ready = True

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_all(self, records: Sequence[Record]) -> None:
        if self.down:
            raise BrokerUnavailable("down")
        self.records += records


def settings(**overrides: Any) -> Settings:
    secret = SecretStr(SECRET.decode())
    values: dict[str, Any] = {"chatwoot_secret": secret, "zendesk_secret": secret,
                              "zammad_secret": secret, "events_token": SecretStr(TOKEN)}
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[TestClient[Any, Any]]:
    gateway = Gateway(settings(), Connectors(), recorder, CollectorRegistry(),  # type: ignore[arg-type]
                      now=lambda: NOW)
    async with TestClient(TestServer(gateway.app())) as test_client:
        yield test_client


async def post(client: TestClient[Any, Any], source: str, raw: bytes,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    signed = SIGNERS[source](raw) if headers is None else headers
    response = await client.post(f"/webhooks/{source}", data=raw, headers=signed)
    text = await response.text()
    return response.status, json.loads(text) if text.startswith("{") else text


@pytest.mark.parametrize("source, fixture", [
    ("chatwoot", "message_created_incoming"), ("zendesk", "ticket_created"),
    ("zammad", "ticket_created"),
])
async def test_a_signed_webhook_is_produced_in_order_then_answered_202(
    client: TestClient[Any, Any], recorder: Recorder, source: str, fixture: str
) -> None:
    headers = {"X-Zammad-Trigger": "Support Pulse: created"} if source == "zammad" else {}
    raw = body(source, fixture)
    status, answer = await post(client, source, raw, {**SIGNERS[source](raw), **headers})
    assert status == 202, answer
    assert answer["events"] == len(recorder.records) > 0
    for record in recorder.records:
        stream = STREAM_OF_TYPE[json.loads(record.value)["type"]]
        assert record.topic == f"support.{stream}"


@pytest.mark.parametrize("source", ["chatwoot", "zendesk", "zammad"])
async def test_bad_signatures_get_401_and_nothing_is_produced(
    client: TestClient[Any, Any], recorder: Recorder, source: str
) -> None:
    raw = body(source, "ticket_created" if source != "chatwoot" else "conversation_created")
    good = SIGNERS[source](raw)
    changed = raw.replace(b"{", b"{ ", 1)
    cases = [(changed, good), (raw, SIGNERS[source](raw, secret=b"wrong")), (raw, {})]
    if source != "zammad":  # Zammad signs no timestamp
        cases.append((raw, SIGNERS[source](raw, at=NOW - timedelta(minutes=6))))
    for payload, headers in cases:
        status, answer = await post(client, source, payload, headers)
        assert status == 401, answer
    assert recorder.records == []


async def test_a_route_without_a_secret_is_404(recorder: Recorder) -> None:
    gateway = Gateway(settings(zammad_secret=None, events_token=None), Connectors(), recorder,  # type: ignore[arg-type]
                      CollectorRegistry(), now=lambda: NOW)
    async with TestClient(TestServer(gateway.app())) as client:
        raw = body("zammad", "ticket_created")
        assert (await client.post("/webhooks/zammad", data=raw,
                                  headers=SIGNERS["zammad"](raw))).status == 404
        assert (await client.post("/events", data=b"{}")).status == 404
        assert (await client.post("/webhooks/freshdesk", data=b"{}")).status == 404


async def test_over_256_kib_is_413(client: TestClient[Any, Any], recorder: Recorder) -> None:
    raw = b'{"event": "message_created", "pad": "' + b"x" * MAX_BODY + b'"}'
    status, _ = await post(client, "chatwoot", raw)
    assert status == 413 and recorder.records == []


async def test_broker_down_is_503_and_the_retry_is_produced(
    client: TestClient[Any, Any], recorder: Recorder
) -> None:
    raw = body("chatwoot", "message_created_incoming")
    recorder.down = True
    status, _ = await post(client, "chatwoot", raw)
    assert status == 503 and recorder.records == []
    recorder.down = False
    status, _ = await post(client, "chatwoot", raw)
    assert status == 202 and recorder.records


async def test_a_signed_untranslatable_body_is_dead_lettered_with_source_and_reason(
    client: TestClient[Any, Any], recorder: Recorder
) -> None:
    raw = b'{"event": "message_created", "id": 5}'  # no account: cannot be attributed
    status, answer = await post(client, "chatwoot", raw)
    assert status == 202
    (record,) = recorder.records
    assert record.topic == "support.dlq" and record.value == raw
    headers = dict(record.headers)
    assert headers["source"] == b"chatwoot" and headers["reason"] == answer["dead_letter"].encode()


def event(i: int, **extra: Any) -> dict[str, Any]:
    return {"type": "ticket.created", "event_id": f"fd-{i}", "occurred_at": "2026-12-03T09:00:00Z",
            "ticket_id": f"fd:{i}", "channel": "email", "priority": "normal", "queue": "orders",
            **extra}


BODIES = {
    "object": (json.dumps(event(1)).encode(), ["fd-1"]),
    "array": (json.dumps([event(1), event(2)]).encode(), ["fd-1", "fd-2"]),
    "json-lines": (f"{json.dumps(event(1))}\n{json.dumps(event(2))}\n".encode(),
                   ["fd-1", "fd-2"]),
}


@pytest.mark.parametrize("shape", BODIES)
async def test_events_accepts_an_object_an_array_or_json_lines(
    client: TestClient[Any, Any], recorder: Recorder, shape: str
) -> None:
    raw, ids = BODIES[shape]
    response = await client.post("/events", data=raw, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 202, await response.text()
    assert [json.loads(r.value)["event_id"] for r in recorder.records] == ids


async def test_events_without_occurred_at_get_the_time_of_receipt(
    client: TestClient[Any, Any], recorder: Recorder
) -> None:
    templated = {k: v for k, v in event(7).items() if k != "occurred_at"}
    response = await client.post("/events", data=json.dumps(templated),
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 202, await response.text()
    assert json.loads(recorder.records[0].value)["occurred_at"] == "2026-12-03T10:00:00Z"


async def test_events_is_all_or_nothing_with_each_failing_index(
    client: TestClient[Any, Any], recorder: Recorder
) -> None:
    events = [event(1), event(2, channel="fax"), event(3), {"type": "ticket.created"}]
    response = await client.post("/events", data=json.dumps(events),
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 400
    errors = (await response.json())["errors"]
    assert [e["index"] for e in errors] == [1, 3]
    assert recorder.records == []
    wrong = await client.post("/events", data=json.dumps(event(1)),
                              headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and recorder.records == []


async def test_metrics_count_requests_by_source_and_code(
    client: TestClient[Any, Any], recorder: Recorder
) -> None:
    raw = body("chatwoot", "message_created_incoming")
    await post(client, "chatwoot", raw)
    await post(client, "chatwoot", raw, {})
    text = await (await client.get("/metrics")).text()
    assert 'support_gateway_requests_total{code="202",source="chatwoot"} 1.0' in text
    assert 'support_gateway_requests_total{code="401",source="chatwoot"} 1.0' in text
    assert 'support_gateway_events_total{source="chatwoot",type="' in text
    assert 'support_gateway_request_seconds_count{source="chatwoot"} 2.0' in text
    assert "support_gateway_broker_up 1.0" in text
    recorder.ready = False
    assert "support_gateway_broker_up 0.0" in await (await client.get("/metrics")).text()
    assert (await client.get("/readyz")).status == 503
