"""The worker's HTTP endpoints (CONTRACT §5) on faust's web server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust
from prometheus_client import CollectorRegistry, generate_latest

from stream.read_model import ReadModel
from stream.scorecards import Scorecards
from stream.security import bearer_matches
from stream.settings import Settings
from stream.worker.state import SLA_STREAMS, Tables

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def register_views(
    app: faust.App,
    settings: Settings,
    registry: CollectorRegistry,
    tables: Tables,
    read_model: ReadModel,
    scorecards: Scorecards,
    now: Callable[[], datetime],
    is_ready: Callable[[], bool],
) -> None:
    token = settings.api_token

    def authorized(request: Any) -> bool:
        if token is None:
            return True
        return bearer_matches(request.headers.get("Authorization"), token.get_secret_value())

    def unauthorized(web: Any) -> Any:
        return web.json({"error": "unauthorized"}, status=401)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        if not authorized(request):
            return unauthorized(web)
        # aiohttp refuses a charset inside content_type; the exposition format is ASCII.
        return web.bytes(generate_latest(registry), content_type=METRICS_CONTENT_TYPE)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})

    @app.page("/sla/at-risk")
    async def at_risk(web: Any, request: Any) -> Any:
        if not authorized(request):
            return unauthorized(web)
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return web.json({"error": "limit must be an integer"}, status=400)
        if not 1 <= limit <= 10000:
            return web.json({"error": "limit must be between 1 and 10000"}, status=400)
        try:
            items = await read_model.at_risk(SLA_STREAMS, settings.partitions, limit)
        except Exception as exc:  # Redis down: the list is a degraded extra
            return web.json({"error": f"read model unavailable: {exc}"}, status=503)
        at = now()
        for item in items:
            deadline = datetime.fromisoformat(item["deadline"])
            item["seconds_left"] = round((deadline - at).total_seconds(), 3)
        return web.json(items)

    @app.page("/agents")
    async def agents(web: Any, request: Any) -> Any:
        if not authorized(request):
            return unauthorized(web)
        try:
            return web.json(await scorecards.today(now()))
        except Exception as exc:  # Redis down: a degraded extra
            return web.json({"error": f"read model unavailable: {exc}"}, status=503)

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        if not authorized(request):
            return unauthorized(web)
        ready = is_ready()
        body = {"ready": ready, "partitions": {name: t.owned() for name, t in tables.items()},
                "recovering": {name: t.recovering() for name, t in tables.items()}}
        return web.json(body, status=200 if ready else 503)
