"""Boards and alerts end to end: tansu + Redis + worker + a real Prometheus scraping it with the
shipped rules + a real Alertmanager whose webhook receiver is this test.

A scripted breach makes the SLA-breached alert arrive at the webhook; a `supportpulse gateway`
feeding the same deployment (a Chatwoot chat, one dead letter) is scraped too; every panel query
of every dashboard returns data from that Prometheus; `promtool check metrics` finds nothing to
report in the worker's /metrics.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream.embedded import free_port, wait_for_port
from stream.simulator import generate
from stream.stopping import stop_process
from tests.integration.conftest import require_tool
from tests.integration.fixtures import Deployment, wait_until
from tests.integration.gateway_process import GatewayProcess
from tests.scripts import load
from tests.unit.gateway.conftest import body

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def load_panel_queries() -> Any:
    return load("grafana/panel_queries.py")


class Webhook:
    """Alertmanager's webhook receiver: records every notification body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for body in self.bodies for alert in body.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()


RATED = 10  # solved tickets rated while Prometheus scrapes, one per produced chunk


def rated_tickets(now: datetime) -> list[dict[str, Any]]:
    """Tickets solved an hour ago, rated later (`ratings`): the CSAT and CES panels divide
    increases inside their window, and the simulator's own ratings depend on the time of day
    the test runs (few at night)."""
    events: list[dict[str, Any]] = []
    for i in range(RATED):
        tid = f"E2E-R{i}"
        events += [
            {"type": "ticket.created", "event_id": f"{tid}-c", "ticket_id": tid,
             "occurred_at": (now - timedelta(hours=2)).isoformat(), "channel": "email",
             "priority": "normal", "queue": "returns"},
            {"type": "ticket.status_changed", "event_id": f"{tid}-s", "ticket_id": tid,
             "occurred_at": (now - timedelta(hours=1)).isoformat(), "status": "solved"},
        ]
    return events


def ratings(now: datetime, i: int) -> list[dict[str, Any]]:
    tid, at = f"E2E-R{i}", now.isoformat()
    return [{"type": "ticket.rated", "event_id": f"{tid}-r", "ticket_id": tid,
             "occurred_at": at, "score": 5 if i % 2 else 2},
            {"type": "ticket.effort_rated", "event_id": f"{tid}-e", "ticket_id": tid,
             "occurred_at": at, "score": 1 if i % 2 else 5}]


# The simulator's traffic follows the time of day: three quiet night hours leave counters
# (self-service, campaigns, ratings) without an increase inside the panels' windows. So the
# traffic is always that of a busy weekday morning, moved to end now.
BUSY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Prague


def busy_hours(now: datetime, seconds: float) -> list[dict[str, Any]]:
    shift = (now - timedelta(seconds=seconds)) - BUSY
    events = list(generate("normal", 11, BUSY, seconds))
    for event in events:
        at = datetime.fromisoformat(str(event["occurred_at"])) + shift
        event["occurred_at"] = at.isoformat()
    return events


def scenario(now: datetime) -> list[dict[str, Any]]:
    events = [*rated_tickets(now), *busy_hours(now, 3 * 3600 - 60)]
    stamp = (now - timedelta(hours=1)).isoformat()
    events += [
        # Urgent order question, unanswered for an hour: its 15-minute first response is
        # breached, which pages (SLABreached, severity page).
        {"type": "ticket.created", "event_id": "e2e-1", "occurred_at": stamp,
         "ticket_id": "E2E-URGENT", "channel": "email", "priority": "urgent",
         "queue": "orders", "request_type": "order_status", "customer_id": "cust-e2e"},
        # A late event: older than the state it changes.
        {"type": "ticket.assigned", "event_id": "e2e-2",
         "occurred_at": (now - timedelta(hours=2)).isoformat(), "ticket_id": "E2E-URGENT",
         "agent_id": "agent-e2e"},
    ]
    return events


CHATWOOT_CHAT = [body("chatwoot", name) for name in (
    "conversation_created", "message_created_incoming", "conversation_updated_assignee",
    "conversation_status_changed_resolved", "message_updated_csat")]
UNTRANSLATABLE = b'{"event": "message_created", "id": 5}'  # signed, but no account


def forecast_file(path: Path) -> Path:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    channels = {"email": 20, "chat": 30, "phone": 10, "social": 5, "web_form": 8}
    path.write_text(yaml.safe_dump(
        {"weekly": {d: {h: channels for h in range(24)} for d in days}}))
    return path


def query(port: int, expr: str) -> list[Any]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    result: list[Any] = body["data"]["result"]
    return result


def test_alerts_reach_the_webhook_and_every_panel_has_data(
    deployment_factory: Any, tmp_path: Path
) -> None:
    prometheus_bin = require_tool("prometheus")
    alertmanager_bin = require_tool("prometheus-alertmanager")
    promtool = require_tool("promtool")
    now = datetime.now(UTC)
    deployment: Deployment = deployment_factory(
        SUPPORTPULSE_FORECAST_FILE=str(forecast_file(tmp_path / "forecast.yaml")),
        SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS="1",
    )
    events = scenario(now)
    # Two thirds before Prometheus starts, the rest while it scrapes: ratio panels divide
    # increases, which need traffic inside the scrape window.
    split = len(events) * 2 // 3
    deployment.produce(events[:split])
    topic = deployment.settings().topic_tickets
    deployment.produce_raw(topic, [(b"bad", b"{not json")])  # one dead letter
    worker = deployment.worker().start()
    # The gateway feeds the same deployment, so the gateway panels have data.
    gateway = GatewayProcess(deployment, tmp_path)

    webhook = Webhook()
    am_port, prom_port = free_port(), free_port()
    am_config = tmp_path / "alertmanager.yml"
    am_config.write_text(yaml.safe_dump({
        "route": {"receiver": "test", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "test", "webhook_configs": [
            {"url": f"http://127.0.0.1:{webhook.port}/alerts", "send_resolved": False}]}],
    }))
    prom_config = tmp_path / "prometheus.yml"
    prom_config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))],
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "supportpulse",
             "static_configs": [{"targets": [f"127.0.0.1:{worker.port}"]}]},
            {"job_name": "supportpulse-gateway",
             "static_configs": [{"targets": [f"127.0.0.1:{gateway.port}"]}]},
        ],
    }))
    alertmanager = subprocess.Popen(
        [alertmanager_bin, f"--config.file={am_config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    prometheus = subprocess.Popen(
        [prometheus_bin, f"--config.file={prom_config}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_for_port(am_port, alertmanager, 30, "alertmanager")
        wait_for_port(prom_port, prometheus, 30, "prometheus")
        rest = events[split:]
        webhooks = iter([*CHATWOOT_CHAT, UNTRANSLATABLE])  # the last one is dead-lettered
        step = max(1, len(rest) // RATED)
        for chunk, i in enumerate(range(0, len(rest), step)):
            deployment.produce(rest[i : i + step] + ratings(now, chunk % RATED))
            if (raw := next(webhooks, None)) is not None:
                gateway.deliver("chatwoot", raw)
            time.sleep(1.5)

        def paged() -> bool:
            return any(
                a["labels"].get("alertname") == "SLABreached"
                and a["labels"].get("severity") == "page"
                and a["labels"].get("priority") == "urgent"
                for a in webhook.alerts()
            )

        wait_until(paged, 120, lambda: f"webhook got {[a['labels'] for a in webhook.alerts()]}")
        alert = next(a for a in webhook.alerts() if a["labels"]["alertname"] == "SLABreached")
        assert "/sla/at-risk" in alert["annotations"]["drilldown"]
        assert alert["annotations"]["runbook"]

        # Every panel query of every board returns data (variables at "All").
        panel_queries = load_panel_queries()
        queries = list(panel_queries.panel_queries(rate_interval="20s", range_="1h"))
        assert len(queries) > 50

        def empty() -> list[str]:
            return [f"{q.dashboard} / {q.panel}: {q.expr}"
                    for q in queries if not query(prom_port, q.expr)]

        wait_until(lambda: not empty(), 120, lambda: "panels without data:\n" +
                   "\n".join(empty()))

        # The exposition is clean by Prometheus' own linter.
        metrics = worker.metrics_text()
        lint = subprocess.run([promtool, "check", "metrics"], input=metrics,
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), (
            lint.stdout + lint.stderr)
    finally:
        stop_process(prometheus)
        stop_process(alertmanager)
        gateway.stop()
        webhook.close()
