"""Clocks (stream/domain/clock.py) and the settings object (stream/settings/, CONTRACT §6)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from stream.domain.clock import EventClock, FixedClock, WallClock, parse_clock
from stream.settings import DEFAULT_QUEUES, Settings

T = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# --- clocks --------------------------------------------------------------------------------------
def test_wall_clock_is_the_machine_time_in_utc() -> None:
    clock = parse_clock("wall")
    assert isinstance(clock, WallClock)
    before = datetime.now(UTC)
    now = clock.now()
    assert now.tzinfo is not None
    assert before - timedelta(seconds=1) <= now <= datetime.now(UTC) + timedelta(seconds=1)
    clock.observe(T + timedelta(days=400))  # ignored
    assert clock.now() < T + timedelta(days=400)
    assert repr(clock) == "wall"


def test_wall_clock_source_is_injectable() -> None:
    assert WallClock(lambda: T).now() == T


def test_event_clock_is_the_monotonic_watermark() -> None:
    clock = parse_clock("event")
    assert isinstance(clock, EventClock)
    assert repr(clock) == "event"
    assert clock.now() == datetime.fromtimestamp(0, UTC)
    clock.observe(T)
    assert clock.now() == T
    clock.observe(T - timedelta(hours=1))  # a late event never moves "now" back
    assert clock.now() == T
    clock.observe(T + timedelta(seconds=1))
    assert clock.now() == T + timedelta(seconds=1)
    assert EventClock(start=T).now() == T


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("fixed:2026-11-27T12:00:00Z", T),
        ("fixed:2026-11-27T12:00:00+00:00", T),
        ("fixed:2026-11-27T13:30:00+01:30", T),
        ("fixed:2026-11-27T07:00:00-05:00", T),
    ],
)
def test_fixed_clock_freezes_now_in_utc(spec: str, expected: datetime) -> None:
    clock = parse_clock(spec)
    assert isinstance(clock, FixedClock)
    assert clock.now() == expected
    assert clock.now().utcoffset() == timedelta(0)
    clock.observe(expected + timedelta(days=1))
    assert clock.now() == expected
    assert repr(clock) == "fixed:2026-11-27T12:00:00+00:00"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "unknown clock"),
        ("sundial", "unknown clock"),
        ("Wall", "unknown clock"),
        ("fixed", "unknown clock"),
        ("fixed:", "is not RFC 3339"),
        ("fixed:yesterday", "is not RFC 3339"),
        ("fixed:2026-11-27T12:00:00", "needs an offset"),
        ("fixed:2026-11-27", "needs an offset"),
    ],
)
def test_bad_clock_specs_raise_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_clock(spec)
    if message == "unknown clock":
        assert "wall, event or fixed:" in str(info.value)


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 11, 27, 12, 0))
    assert FixedClock(datetime(2026, 11, 27, 13, 0, tzinfo=timezone(timedelta(hours=1)))).now() == T


# --- settings ------------------------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No SUPPORTPULSE_* from the outer environment and no .env file in the working dir."""
    for name in list(os.environ):
        if name.upper().startswith("SUPPORTPULSE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_follow_the_contract(env: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.web_port == 6066
    assert s.kafka_bootstrap == ["127.0.0.1:9092"]
    assert s.queues == list(DEFAULT_QUEUES)
    assert s.api_token is None
    assert s.timezone == "Europe/Prague"
    assert s.input_topics == {
        "tickets": "support.tickets",
        "chats": "support.chats",
        "agents": "support.agents",
        "commerce": "support.commerce",
    }
    assert (s.topic_sla, s.topic_staffing, s.topic_dlq) == (
        "support.sla", "support.staffing", "support.dlq",
    )
    assert s.max_event_bytes == 64 * 1024
    assert s.max_future_seconds == 7 * 86400
    assert (s.sla_policy_file, s.forecast_file) == ("shipped", "none")


@pytest.mark.parametrize(
    ("raw", "expected"), [("Shipped", "shipped"), (" NONE ", "none")]
)
def test_file_settings_take_the_words_shipped_and_none(
    env: pytest.MonkeyPatch, raw: str, expected: str
) -> None:
    env.setenv("SUPPORTPULSE_SLA_POLICY_FILE", raw)
    env.setenv("SUPPORTPULSE_FORECAST_FILE", raw)
    s = Settings()
    assert (s.sla_policy_file, s.forecast_file) == (expected, expected)


def test_an_empty_file_setting_means_its_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("SUPPORTPULSE_SLA_POLICY_FILE", "")
    env.setenv("SUPPORTPULSE_FORECAST_FILE", "")
    assert (Settings().sla_policy_file, Settings().forecast_file) == ("shipped", "none")


def test_a_configured_file_that_does_not_exist_is_an_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("SUPPORTPULSE_SLA_POLICY_FILE", "/nonexistent/sla.yaml")
    with pytest.raises(ValueError, match="no such file"):
        Settings()


def test_environment_variables_are_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    policy = tmp_path / "sla.yaml"
    policy.write_text("policies: []\n")
    env.setenv("SUPPORTPULSE_KAFKA_BOOTSTRAP", "k1:9092, k2:9093 ,")
    env.setenv("SUPPORTPULSE_QUEUES", "vip, orders,returns")
    env.setenv("SUPPORTPULSE_WEB_PORT", "7000")
    env.setenv("SUPPORTPULSE_WEB_HOST", "0.0.0.0")
    env.setenv("SUPPORTPULSE_APP_ID", "pulse-test")
    env.setenv("SUPPORTPULSE_DATA_DIR", "/var/lib/pulse")
    env.setenv("SUPPORTPULSE_SLA_POLICY_FILE", str(policy))
    env.setenv("SUPPORTPULSE_TIMEZONE", "America/New_York")
    env.setenv("SUPPORTPULSE_REDIS_URL", "redis://:pw@redis:6379/1")
    env.setenv("SUPPORTPULSE_TOPIC_TICKETS", "helpdesk.tickets")
    s = Settings()
    assert s.kafka_bootstrap == ["k1:9092", "k2:9093"]
    assert s.broker_url == "kafka://k1:9092;kafka://k2:9093"
    assert s.queues == ["vip", "orders", "returns"]
    assert (s.web_port, s.web_host, s.app_id) == (7000, "0.0.0.0", "pulse-test")
    assert s.data_dir == Path("/var/lib/pulse")
    assert s.sla_policy_file == policy
    assert s.timezone == "America/New_York"
    assert s.redis_url.get_secret_value() == "redis://:pw@redis:6379/1"
    assert s.input_topics["tickets"] == "helpdesk.tickets"


def test_dotenv_file_is_read(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SUPPORTPULSE_WEB_PORT=6100\nSUPPORTPULSE_QUEUES=a,b\n")
    s = Settings()
    assert (s.web_port, s.queues) == (6100, ["a", "b"])
    env.setenv("SUPPORTPULSE_WEB_PORT", "6200")  # the environment wins over the file
    assert Settings().web_port == 6200


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", "localhost", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", "k1:9092,k2", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", ":9092", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", "host:abc", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", "host:0", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", "host:70000", "is not host:port"),
        ("SUPPORTPULSE_KAFKA_BOOTSTRAP", " , ", "at least one host:port"),
        ("SUPPORTPULSE_TIMEZONE", "Mars/Olympus_Mons", "unknown IANA timezone"),
        ("SUPPORTPULSE_TIMEZONE", "../etc/passwd", "unknown IANA timezone"),
        ("SUPPORTPULSE_QUEUES", "orders,other", "'other' is reserved"),
        ("SUPPORTPULSE_QUEUES", ",", "at least one queue"),
        ("SUPPORTPULSE_QUEUES", ",".join(f"q{n}" for n in range(201)), "more than 200"),
        ("SUPPORTPULSE_WEB_PORT", "http", "web_port"),
        ("SUPPORTPULSE_WEB_PORT", "70000", "web_port"),
        ("SUPPORTPULSE_APP_ID", "bad id!", "app_id"),
        ("SUPPORTPULSE_PARTITIONS", "0", "partitions"),
        ("SUPPORTPULSE_LOG_LEVEL", "loud", "log_level"),
    ],
)
def test_invalid_values_raise(
    env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_ipv6_bootstrap_is_host_port(env: pytest.MonkeyPatch) -> None:
    env.setenv("SUPPORTPULSE_KAFKA_BOOTSTRAP", "[::1]:9092")
    assert Settings().kafka_bootstrap == ["[::1]:9092"]


def test_queue_label_maps_unknown_queues_to_other(env: pytest.MonkeyPatch) -> None:
    s = Settings(queues=["orders", "returns"])
    assert s.queue_label("orders") == "orders"
    assert s.queue_label("returns") == "returns"
    assert s.queue_label("payments") == "other"
    assert s.queue_label("Orders") == "other"
    assert s.queue_label("") == "other"
    assert s.queue_label(None) == "other"


def test_api_token_is_secret_and_not_shown(env: pytest.MonkeyPatch) -> None:
    env.setenv("SUPPORTPULSE_API_TOKEN", "s3cr3t-t0ken")
    env.setenv("SUPPORTPULSE_REDIS_URL", "redis://:hunter2@redis:6379/0")
    s = Settings()
    assert isinstance(s.api_token, SecretStr)
    assert s.api_token.get_secret_value() == "s3cr3t-t0ken"
    for text in (repr(s), str(s), repr(s.api_token), str(s.api_token)):
        assert "s3cr3t-t0ken" not in text
        assert "hunter2" not in text
    assert "s3cr3t-t0ken" not in s.model_dump_json()


@pytest.mark.parametrize("name", ["API_TOKEN", "CHATWOOT_SECRET", "ZENDESK_SECRET",
                                  "ZAMMAD_SECRET", "EVENTS_TOKEN", "REDIS_PASSWORD"])
def test_an_empty_secret_is_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # An empty signing key would enable a gateway route that anyone can sign for.
    monkeypatch.setenv(f"SUPPORTPULSE_{name}", "")
    assert getattr(Settings(_env_file=None), name.lower()) is None  # type: ignore[call-arg]
    monkeypatch.setenv(f"SUPPORTPULSE_{name}", "s3cret")
    secret = getattr(Settings(_env_file=None), name.lower())  # type: ignore[call-arg]
    assert secret.get_secret_value() == "s3cret"


def test_every_setting_is_described_and_the_readme_table_is_generated_from_them() -> None:
    import subprocess
    import sys

    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []
    done = subprocess.run([sys.executable, "-m", "stream.settings_doc", "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
