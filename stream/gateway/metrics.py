"""The gateway's metrics (CONTRACT §7), in its own registry: the gateway is its own process and
Prometheus job, so the worker's alerts never count it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Webhook work is a signature check, a translation and one broker round trip (acks=all).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry, broker_ready: Callable[[], bool]) -> None:
        # Also when no helpdesk is sending: the 503 counters only move with traffic.
        self.broker_up = Gauge(
            "support_gateway_broker_up",
            "1 when the gateway's last broker check answered (what /readyz reports).",
            registry=registry,
        )
        self.broker_up.set_function(lambda: float(broker_ready()))
        self.requests = Counter(
            "support_gateway_requests", "Gateway requests by source and HTTP status code.",
            ["source", "code"], registry=registry,
        )
        self.events = Counter(
            "support_gateway_events", "Events produced by the gateway, by source and type.",
            ["source", "type"], registry=registry,
        )
        self.dead_letters = Counter(
            "support_gateway_dead_letters",
            "Signed webhooks that could not be translated (kept in support.dlq), by reason.",
            ["source", "reason"], registry=registry,
        )
        self.seconds = Histogram(
            "support_gateway_request_seconds", "Gateway request time, until the answer.",
            ["source"], buckets=BUCKETS, registry=registry,
        )

    def request(self, source: str, code: int, seconds: float) -> None:
        self.requests.labels(source, str(code)).inc()
        self.seconds.labels(source).observe(seconds)

    def produced(self, source: str, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.events.labels(source, str(event["type"])).inc()

    def dead_letter(self, source: str, reason: str) -> None:
        self.dead_letters.labels(source, reason).inc()
