"""Kafka over TLS end to end: the worker and the producer speak TLS to the broker.

This tansu build refuses `--cert` together with `--key`, so TLS is terminated by a loopback
proxy in front of it (the broker advertises the proxy's port, so every client connection goes
through TLS). The worker verifies the broker certificate against SUPPORTPULSE_KAFKA_SSL_CAFILE,
including the host name; a plaintext client to the same port gets nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stream.embedded import Redis, free_port
from stream.kafka_io import ensure_topics
from stream.security import kafka_client_config
from tests.integration.conftest import require_tool
from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.hardening import ProxiedBroker

pytestmark = pytest.mark.integration


class TlsTerminator:
    """127.0.0.1:port (TLS) → 127.0.0.1:upstream (plaintext), on its own event loop thread."""

    def __init__(self, upstream: int, port: int, context: ssl.SSLContext) -> None:
        self.upstream, self.port, self.context = upstream, port, context
        self.handshakes = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> TlsTerminator:
        self._thread.start()

        async def serve() -> None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, ssl=self.context
            )

        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def certificate(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def test_worker_and_producer_over_tls(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    tls_port, plain_port = free_port(), free_port()
    broker = ProxiedBroker(plain_port, tls_port, log_path=tmp_path / "tansu.log")
    terminator = TlsTerminator(plain_port, tls_port, server_context)
    redis = Redis()
    worker: Any = None
    try:
        broker.start()
        terminator.start()
        redis.start()
        deployment = Deployment(
            f"127.0.0.1:{tls_port}", redis.url, tmp_path,
            extra_env={
                "SUPPORTPULSE_KAFKA_SECURITY_PROTOCOL": "SSL",
                "SUPPORTPULSE_KAFKA_SSL_CAFILE": str(cert),
            },
        )
        settings = deployment.settings()
        asyncio.run(ensure_topics(kafka_client_config(settings), [
            *settings.input_topics.values(), settings.topic_sla, settings.topic_staffing,
            settings.topic_dlq], deployment.partitions))
        worker = deployment.worker().start()
        now = datetime.now(UTC).isoformat()
        deployment.produce([  # the producer goes through TLS too (kafka_client_config)
            {"type": "ticket.created", "event_id": f"tls{n}", "occurred_at": now,
             "ticket_id": f"TLS-{n}", "channel": "email", "priority": "normal",
             "queue": "orders"}
            for n in range(3)
        ])
        wait_until(lambda: total(worker.samples(), "support_tickets_open") == 3, 60,
                   lambda: worker.log_tail())
        assert terminator.handshakes >= 2  # the worker's and the producer's connections

        # Without TLS the same port answers nothing a Kafka client can use.
        plain = Deployment(f"127.0.0.1:{tls_port}", redis.url, tmp_path)
        with pytest.raises(Exception):  # noqa: B017 - aiokafka raises its own connection errors
            plain.consume(settings.topic_tickets, idle_ms=500)
    finally:
        if worker is not None:
            worker.kill()
        redis.stop()
        terminator.stop()
        broker.stop()
