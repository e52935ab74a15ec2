"""Running the gateway process: configuration checked first, then aiohttp until SIGTERM."""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CollectorRegistry

from stream.gateway.connectors import Connectors, load_connectors
from stream.gateway.delivery import Delivery
from stream.gateway.service import Gateway
from stream.settings import Settings

log = logging.getLogger("stream.gateway")


def enabled_routes(settings: Settings) -> list[str]:
    routes = [f"/webhooks/{name}" for name, secret in (
        ("chatwoot", settings.chatwoot_secret), ("zendesk", settings.zendesk_secret),
        ("zammad", settings.zammad_secret)) if secret is not None]
    return routes + (["/events"] if settings.events_token is not None else [])


def run_gateway(settings: Settings) -> None:
    """Blocks until SIGTERM/SIGINT; ConnectorsFileError propagates (the caller exits 1)."""
    connectors = (load_connectors(settings.connectors_file) if settings.connectors_file
                  else Connectors())
    level = settings.log_level.upper().replace("CRIT", "CRITICAL").replace("WARN", "WARNING")
    logging.basicConfig(level=level, format="[%(asctime)s] [%(process)d] [%(levelname)s] "
                        "%(name)s: %(message)s")
    # aiokafka's debug log prints payloads (customer data): never below INFO (privacy).
    logging.getLogger("aiokafka").setLevel(max(logging.INFO, logging.getLevelName(level)))
    routes = enabled_routes(settings)
    if not routes:
        log.warning("no route enabled: set SUPPORTPULSE_CHATWOOT_SECRET, _ZENDESK_SECRET, "
                    "_ZAMMAD_SECRET or _EVENTS_TOKEN")
    log.info("gateway on %s:%s, routes %s, connectors %s", settings.gateway_host,
             settings.gateway_port, ", ".join(routes) or "none",
             settings.connectors_file or "none (defaults)")
    gateway = Gateway(settings, connectors, Delivery(settings), CollectorRegistry())
    web.run_app(gateway.app(), host=settings.gateway_host, port=settings.gateway_port,
                access_log=None, print=None, shutdown_timeout=5.0)
