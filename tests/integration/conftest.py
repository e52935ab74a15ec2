"""Integration tier: a real tansu broker and redis-server, started once per session.

Each test gets its own `Deployment` (unique app id and topic names), so tests never share state.
Missing binaries skip these tests, or fail them when SUPPORTPULSE_REQUIRE_ALL=1 (CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stream.embedded import Broker, Redis, StackError
from tests.deployment import Deployment
from tests.integration.fixtures import REQUIRE_ALL


def missing(what: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required (SUPPORTPULSE_REQUIRE_ALL=1)")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    log_dir = tmp_path_factory.mktemp("tansu")
    server = Broker(log_path=log_dir / "tansu.log")
    try:
        server.start()
    except (StackError, OSError) as exc:
        missing(f"tansu broker ({exc})")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = Redis()
    try:
        server.start()
    except (StackError, OSError) as exc:
        missing(f"redis-server ({exc})")
    yield server
    server.stop()


@pytest.fixture
def deployment_factory(
    broker: Broker, redis_server: Redis, tmp_path: Path
) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(partitions: int = 4, **extra_env: str) -> Deployment:
        deployment = Deployment(
            broker.bootstrap, redis_server.url, tmp_path, partitions, extra_env=extra_env
        )
        deployment.create_topics()
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        for worker in deployment.workers:
            worker.kill()


@pytest.fixture
def deployment(deployment_factory: Callable[..., Deployment]) -> Deployment:
    return deployment_factory()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(name)
    assert path is not None
    return path
