"""The broker is unreachable for 30 s; the worker survives, reports the lag, then catches up.

Set-up: a dedicated tansu listens on port B but advertises port P in its metadata; a loopback TCP
proxy in the test forwards P → B. (A proxy in front of an ordinary broker would be bypassed:
clients connect to whatever address the metadata names.) The proxy recognises Kafka clients by
the client id in their first request. At the cut it drops every connection of the worker and
refuses new ones for 30 s, while the test's own producer (client id `hardening-feeder`) keeps
publishing: producers and the broker are fine, the worker is cut off — a network partition of
one worker.

During the outage, with `--clock wall` and events stamped with the wall clock as they are
produced, `support_event_lag_seconds` grows (now − newest event processed) while the process
stays alive and answers /healthz. Afterwards it reconnects, rejoins its group and processes the
backlog: every gauge equals the truth model over everything produced (the oldest-wait gauge is
left out: its value depends on the wall clock).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stream.embedded import Redis
from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.hardening import (
    FEEDER_CLIENT_ID,
    Feeder,
    ProxiedBroker,
    Stamper,
    TcpProxy,
    live_gauges,
    proxied_broker,
)
from tests.integration.test_pipeline import expected_gauges
from tests.scenario import scenario, truth

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 30.0
COUNTED = (
    "support_tickets_open",
    "support_tickets_awaiting_first_response",
    "support_chat_queue_waiting",
    "support_chats_active",
)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[ProxiedBroker, TcpProxy]]:
    with proxied_broker(tmp_path / "tansu.log", allow=[FEEDER_CLIENT_ID]) as pair:
        yield pair


def counted(samples: Any) -> dict[str, Any]:
    return live_gauges(samples, COUNTED)


def test_worker_survives_30s_broker_outage_and_catches_up(
    proxied: tuple[ProxiedBroker, TcpProxy], redis_server: Redis, tmp_path: Path
) -> None:
    _, proxy = proxied
    deployment = Deployment(f"127.0.0.1:{proxy.port}", redis_server.url, tmp_path, 4)
    deployment.create_topics()
    # The Stamper re-stamps every event with the wall clock when it is produced.
    events = scenario(seed=9, tickets=700, chats=700, start=datetime.now(UTC), duplicates=40)
    worker = deployment.worker(clock="wall").start()
    feeder = Feeder(deployment, events, chunk=80, pause=1.0, stamper=Stamper())
    observed: list[tuple[float, int, int, float, bool]] = []

    def lag() -> float:
        return total(worker.samples(), "support_event_lag_seconds", stream="tickets")

    try:
        feeder.start()
        wait_until(lambda: total(worker.samples(), "support_events_total") > 300, 30,
                   "no progress before the outage")
        assert lag() < 10
        pid = worker.proc.pid if worker.proc else None

        proxy.cut()
        cut_at = time.monotonic()
        while (elapsed := time.monotonic() - cut_at) < OUTAGE_SECONDS:
            # /metrics and /healthz are served by the worker itself, not through the broker.
            observed.append((round(elapsed, 1), worker.http("/healthz")[0],
                             worker.http("/readyz")[0], lag(), worker.alive()))
            time.sleep(2.0)
        proxy.restore()
        during = list(observed)
        assert all(alive for *_, alive in during), worker.log_tail()
        assert all(health == 200 for _, health, *_ in during)
        assert during[-1][3] >= OUTAGE_SECONDS - 8, f"lag did not grow: {during}"
        assert during[-1][3] > during[0][3] + 20, during
        assert proxy.dropped > 0 and proxy.refused > 0  # the worker really was cut off

        sent = feeder.finish(120)
        assert len(sent) == len(events)
        want = {k: v for k, v in expected_gauges(truth(sent, datetime.now(UTC))).items()
                if k in COUNTED}
        wait_until(lambda: counted(worker.samples()) == want, 90,
                   lambda: f"after the outage {counted(worker.samples())}\n!= {want}\n"
                   f"{worker.log_tail()}")
        wait_until(lambda: lag() < 10, 30, lambda: f"lag stays {lag()}")
        samples = worker.samples()
        assert worker.alive() and worker.proc is not None and worker.proc.pid == pid
        assert total(samples, "support_events_total") == len(events)
        assert total(samples, "support_events_rejected_total") == 0
        assert total(samples, "support_partitions_owned") == deployment.partitions
        print(f"\noutage samples (t, healthz, readyz, lag tickets, alive): {during}; "
              f"proxy dropped {proxy.dropped} connections and refused {proxy.refused}")
    finally:
        feeder.stop_event.set()
        worker.kill()
