"""`supportpulse gateway`: helpdesk webhooks in, §1 events out (CONTRACT §7).

Stateless: it verifies, translates and produces, and answers only after the broker has the
records, so a replica can die at any moment without losing an acknowledged webhook. Order of
the checks on a webhook, each over the raw bytes before the next: route enabled (its secret
set, else 404) → size (413) → signature and timestamp window (401) → translation (a signed body
that cannot be translated is dead-lettered, 202) → delivery (202, or 503 to make the helpdesk
retry).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Final

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import SecretStr

from stream.gateway.delivery import BrokerUnavailable, Delivery, Record
from stream.gateway.events_in import parse_events
from stream.gateway.mapping import Connectors
from stream.gateway.metrics import GatewayMetrics
from stream.gateway.signatures import verify
from stream.gateway.translation import Event, Rejection, translator
from stream.kafka_io import route
from stream.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY: Final = 256 * 1024  # Zendesk's own limit; a dead letter of this size fits any broker
SOURCES: Final = ("chatwoot", "zendesk", "zammad")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gateway:
    def __init__(
        self,
        settings: Settings,
        connectors: Connectors,
        delivery: Delivery,
        registry: CollectorRegistry,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.connectors = connectors
        self.delivery = delivery
        self.registry = registry
        self.metrics = GatewayMetrics(registry, lambda: delivery.ready)
        self.now = now
        self.secrets: Mapping[str, SecretStr | None] = {
            "chatwoot": settings.chatwoot_secret,
            "zendesk": settings.zendesk_secret,
            "zammad": settings.zammad_secret,
        }

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._measured])
        app.router.add_post("/webhooks/{source}", self.webhook)
        app.router.add_post("/events", self.events)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics_page)

        async def startup(_: web.Application) -> None:
            await self.delivery.start()

        async def cleanup(_: web.Application) -> None:
            await self.delivery.stop()

        app.on_startup.append(startup)
        app.on_cleanup.append(cleanup)
        return app

    # --- routes -------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        secret = self.secrets.get(source)
        if secret is None:  # unknown product, or one whose secret is not set: never unsigned
            raise web.HTTPNotFound()
        body = await request.read()  # 413 past client_max_size
        headers = dict(request.headers)
        verdict = verify(source, body, headers, secret.get_secret_value().encode(), self.now(),
                         self.settings.gateway_max_skew_seconds)
        if verdict != "ok":
            return _answer(401, error=verdict)
        result = translator(source)(body, headers, self.connectors)
        if isinstance(result, Rejection):
            await self._deliver([self._dead_letter(source, body, result)])
            self.metrics.dead_letter(source, result.reason)
            return _answer(202, events=0, dead_letter=result.reason)
        await self._deliver([self._record(event) for event in result])
        self.metrics.produced(source, result)
        return _answer(202, events=len(result))

    async def events(self, request: web.Request) -> web.Response:
        token = self.settings.events_token
        if token is None:
            raise web.HTTPNotFound()
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return _answer(401, error="bad_token")
        body = await request.read()
        events, problems = parse_events(body, self.settings.max_event_bytes, self.now())
        if problems:
            return _answer(400, errors=[
                {"index": p.index, "reason": p.reason, "detail": p.detail} for p in problems
            ])
        await self._deliver([self._record(event) for event in events])
        self.metrics.produced("events", events)
        return _answer(202, events=len(events))

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, _: web.Request) -> web.Response:
        if self.delivery.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="broker not reachable\n")

    async def metrics_page(self, _: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(self.registry))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    # --- helpers ------------------------------------------------------------------------------
    async def _deliver(self, records: list[Record]) -> None:
        try:
            await self.delivery.send_all(records)
        except BrokerUnavailable as exc:
            log.warning("broker did not acknowledge (%s): answering 503", exc)
            raise web.HTTPServiceUnavailable(
                text='{"error": "broker_unavailable"}', content_type="application/json",
                headers={"Retry-After": "5"},
            ) from None

    def _record(self, event: Event) -> Record:
        topic, key = route(self.settings, event)
        return Record(topic, key, msgspec.json.encode(event))

    def _dead_letter(self, source: str, body: bytes, rejection: Rejection) -> Record:
        headers = (("source", source.encode()), ("reason", rejection.reason.encode()),
                   ("detail", rejection.detail.encode("utf-8", "replace")[:500]))
        return Record(self.settings.topic_dlq, None, body, headers)

    @web.middleware
    async def _measured(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        source = _source_label(request)
        began = time.perf_counter()
        code = 500
        try:
            response = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        finally:
            if source is not None:
                self.metrics.request(source, code, time.perf_counter() - began)


def _source_label(request: web.Request) -> str | None:
    """A bounded label: the product, `events`, or None for the service's own pages."""
    path = request.path
    if path == "/events":
        return "events"
    if path.startswith("/webhooks/"):
        name = path.removeprefix("/webhooks/")
        return name if name in SOURCES else "other"
    return None


def _answer(status: int, **fields: object) -> web.Response:
    return web.Response(status=status, body=msgspec.json.encode(fields),
                        content_type="application/json")
