"""The wheel, installed as a user installs it, runs with the shipped configuration.

The wheel is built from a copy of the sources and installed into a fresh virtualenv outside the
checkout (dependencies resolved by pip from a local wheelhouse: no network). Run from another
directory, so nothing of the checkout can shadow it: `supportpulse check-config` names the
shipped SLA policy, and a worker on the real broker tracks SLAs with it — a chat waiting past
the shipped 2-minute target shows as breached, one 90 s into it as at risk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stream.embedded import Broker, Redis
from tests.integration.fixtures import Deployment, WorkerProcess, total, wait_until
from tests.integration.wheelhouse import wheelhouse

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def clean_env() -> dict[str, str]:
    """The caller's environment without anything that points Python at the checkout."""
    return {k: v for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
            and not k.startswith("SUPPORTPULSE_")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` directory of a fresh virtualenv with the built wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "stream", source / "stream",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", "--wheel-dir", tmp / "dist", source, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("supportpulse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"stream/data/sla-policy.yaml", "stream/data/forecast.yaml"} <= names
    house = wheelhouse(wheel, tmp / "wheelhouse")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
        "--no-index", "--find-links", house, wheel, cwd=tmp, env=clean_env())
    return venv / "bin"


def test_the_installed_wheel_runs_on_its_shipped_policy(
    installed: Path, broker: Broker, redis_server: Redis, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(installed / "python", "-c", "import stream; print(stream.__file__)",
                cwd=elsewhere, env=clean_env())
    assert Path(where.strip()).is_relative_to(installed.parent), where
    checked = run(installed / "supportpulse", "check-config", cwd=elsewhere, env=clean_env())
    assert "SLA policy: shipped sla-policy.yaml (supportpulse " in checked, checked

    deployment = Deployment(broker.bootstrap, redis_server.url, tmp_path, 2)
    deployment.create_topics()
    worker = WorkerProcess(deployment, "event", {}, command=[str(installed / "supportpulse")],
                           cwd=elsewhere)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean_env())  # the worker inherits nothing of the checkout's environment
    try:
        worker.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        def chat(cid: str, seconds: float) -> dict[str, str]:
            return {"type": "chat.requested", "event_id": f"{cid}-requested",
                    "occurred_at": (T0 + timedelta(seconds=seconds)).isoformat(),
                    "chat_id": cid, "queue": "orders"}

        # Event clock: now = the newest event, 180 s after the first chat and 90 s after the
        # second. Shipped chat policy: first response within 2 m, at risk with 30 s left.
        deployment.produce([chat("late", 0), chat("close", 90), chat("now", 180)])

        def gauge(name: str) -> float:
            return total(worker.samples(), name, channel="chat")

        wait_until(lambda: gauge("support_sla_breached_open") == 1
                   and gauge("support_sla_at_risk") == 1, 60,
                   lambda: f"{worker.metrics_text()[-3000:]}\n{worker.log_tail()}")
    finally:
        worker.stop()


def test_the_image_builds_from_the_wheel(tmp_path: Path) -> None:
    # Only where a Docker engine runs (not in CI, which has none): the Dockerfile's own
    # check-config step fails the build if the wheel lacks the shipped policy.
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker engine here")
    run(docker, "build", "--quiet", "--tag", "supportpulse:wheel-test", ".", cwd=ROOT)
    checked = run(docker, "run", "--rm", "supportpulse:wheel-test", "check-config", cwd=tmp_path)
    assert "SLA policy: shipped sla-policy.yaml (supportpulse " in checked
