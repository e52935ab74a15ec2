"""Redis is a read model: while it is down the pipeline goes on; afterwards the list is whole."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stream.embedded import Redis
from tests.integration.fixtures import Deployment, total, wait_until
from tests.integration.test_sla import POLICY

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def created(tid: str, minutes_ago: int, n: int) -> dict[str, Any]:
    return {"type": "ticket.created", "event_id": f"r{n}", "ticket_id": tid,
            "occurred_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
            "channel": "email", "priority": "urgent", "queue": "orders"}


def test_pipeline_survives_redis_outage_and_read_model_recovers(
    deployment_factory: Any, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    redis = Redis().start()
    try:
        deployment: Deployment = deployment_factory(
            SUPPORTPULSE_SLA_POLICY_FILE=str(policy), SUPPORTPULSE_REDIS_URL=redis.url)
        worker = deployment.worker(clock=f"fixed:{NOW.isoformat()}").start()
        deployment.produce([created("R1", 60, 1)])  # urgent first response 15m: breached

        def listed() -> list[str]:
            status, body = worker.http("/sla/at-risk?limit=10")
            return [i["conversation_id"] for i in json.loads(body)] if status == 200 else []

        wait_until(lambda: listed() == ["R1"], 60, "R1 never listed")
        wait_until(lambda: total(worker.samples(), "support_redis_up") == 1, 20, "redis not up")

        redis.stop()
        deployment.produce([created("R2", 50, 2), created("R3", 40, 3)])
        wait_until(lambda: total(worker.samples(), "support_sla_breached_open") == 3, 60,
                   "the pipeline stopped while Redis was down")
        assert total(worker.samples(), "support_redis_up") == 0
        assert worker.http("/sla/at-risk?limit=10")[0] == 503
        assert worker.alive()

        # Redis returns empty (no persistence): the list is rebuilt from the tables.
        redis.start()
        wait_until(lambda: listed() == ["R1", "R2", "R3"], 60,
                   lambda: f"read model after Redis returned: {listed()}")
        assert total(worker.samples(), "support_redis_up") == 1

        # A restart quicker than the 2 s health check: Redis never looks down, yet it is empty.
        redis.stop()
        redis.start()
        wait_until(lambda: listed() == ["R1", "R2", "R3"], 30,
                   lambda: f"read model after a quick Redis restart: {listed()}")
    finally:
        redis.stop()


def test_redis_password_is_used_and_a_wrong_one_degrades(deployment_factory: Any) -> None:
    redis = Redis(password="pulse-pw").start()
    try:
        url = f"redis://127.0.0.1:{redis.port}/0"
        good: Deployment = deployment_factory(SUPPORTPULSE_REDIS_URL=url,
                                              SUPPORTPULSE_REDIS_PASSWORD="pulse-pw")
        worker = good.worker().start()
        wait_until(lambda: total(worker.samples(), "support_redis_up") == 1, 30,
                   "the password was not used")
        bad: Deployment = deployment_factory(SUPPORTPULSE_REDIS_URL=url,
                                             SUPPORTPULSE_REDIS_PASSWORD="wrong")
        degraded = bad.worker().start()
        time.sleep(5)  # two health checks
        assert total(degraded.samples(), "support_redis_up") == 0
        assert degraded.http("/sla/at-risk")[0] == 503
    finally:
        redis.stop()
