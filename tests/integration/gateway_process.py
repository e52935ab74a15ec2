"""A `supportpulse gateway` process for the integration tests, and a helpdesk's retries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from stream.embedded import free_port
from stream.stopping import stop_process
from tests.integration.fixtures import Deployment, wait_until
from tests.unit.gateway.conftest import FIXTURES
from tests.webhooks import SECRET, SIGNERS

CONNECTORS = FIXTURES / "connectors.yaml"


class GatewayProcess:
    """`supportpulse gateway` for a deployment, with the Chatwoot and Zendesk routes on."""

    def __init__(self, deployment: Deployment, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "gateway.log"
        env = {**os.environ, **deployment.env(
            SUPPORTPULSE_GATEWAY_PORT=str(self.port),
            SUPPORTPULSE_CHATWOOT_SECRET=SECRET.decode(),
            SUPPORTPULSE_ZENDESK_SECRET=SECRET.decode(),
            SUPPORTPULSE_CONNECTORS_FILE=str(CONNECTORS),
            **env,
        )}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "stream.cli", "gateway"],
                                         env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.get("/readyz")[0] == 200, 30, self.log_tail)

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request(urllib.request.Request(f"http://127.0.0.1:{self.port}{path}"))

    def post(self, source: str, raw: bytes) -> int:
        headers = SIGNERS[source](raw, at=datetime.now(UTC))
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/webhooks/{source}",
                                         data=raw, headers=headers, method="POST")
        return self.request(request)[0]

    @staticmethod
    def request(request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def deliver(self, source: str, raw: bytes, attempts: int = 30) -> list[int]:
        """Post until 202, as a helpdesk retries (codes of every attempt)."""
        codes = []
        for _ in range(attempts):
            codes.append(self.post(source, raw))
            if codes[-1] == 202:
                return codes
            time.sleep(1)
        raise AssertionError(f"{source}: no 202 in {attempts} attempts: {codes}\n"
                             f"{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)
