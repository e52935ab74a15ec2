"""grafana/preview.py draws a board's first screen from its JSON and a Prometheus' answers."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.scripts import load

preview = load("grafana/preview.py")


@pytest.fixture
def prometheus() -> Iterator[tuple[str, list[str]]]:
    """Answers every query with one series (vector or matrix); records the queries."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)["query"][0]
            asked.append(query)
            if url.path.endswith("query_range"):
                result = [{"metric": {"queue": "orders"}, "values": [[0, "1"], [15, "3"]]}]
                body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
            else:
                result = [{"metric": {"queue": "orders"}, "value": [0, "95"]}]
                body = {"status": "success", "data": {"resultType": "vector", "result": result}}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def test_every_board_renders_its_first_screen(prometheus: tuple[str, list[str]],
                                              tmp_path: Path) -> None:
    url, asked = prometheus
    for board in preview.load_dashboards():
        path = preview.render(board, url, tmp_path, 24, 15)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    # Variables are substituted as Grafana would (every value), nothing left for Prometheus.
    assert asked and not any("$" in q.replace("$1", "") for q in asked)


def test_values_are_formatted_by_unit_and_coloured_by_threshold() -> None:
    assert preview.fmt(0.953, "percentunit", 1) == "95.3%"
    assert preview.fmt(95, "s", None) == "95 s" and preview.fmt(300, "s", None) == "5.0 min"
    assert preview.fmt(float("nan"), "none", None) == "—"
    panel = {"fieldConfig": {"defaults": {"thresholds": {"steps": [
        {"value": None, "color": "green"}, {"value": 90, "color": "yellow"},
        {"value": 120, "color": "red"}]}}}}
    assert preview.colour(panel, 30) == preview.COLOURS["green"]
    assert preview.colour(panel, 95) == preview.COLOURS["yellow"]
    assert preview.colour(panel, 150) == preview.COLOURS["red"]
