"""The command line's contract shapes (CONTRACT §6): --json on stdout, errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream.cli import app
from tests.unit.conftest import SHIPPED_POLICY as SHIPPED

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_sla_deadline_json_has_policy_calendar_and_one_deadline_per_target() -> None:
    code, out, _ = run(
        "sla", "deadline", "--policy", str(SHIPPED),
        "--channel", "email", "--priority", "normal",
        "--created", "2026-11-27T19:30:00+01:00", "--json",
    )
    assert code == 0
    body = json.loads(out)
    assert body["policy"] == "email"
    assert body["calendar"] == "support-hours"
    # Friday 19:30 Prague + 4 business hours: 30 min Friday, then Saturday 09:00–12:30.
    assert body["deadlines"]["first_response"] == "2026-11-28T11:30:00Z"
    assert set(body["deadlines"]) == {"first_response", "next_response", "resolution"}
    assert all(v.endswith("Z") for v in body["deadlines"].values())


def test_sla_deadline_defaults_to_the_policy_in_force(tmp_path: Path) -> None:
    args = ("sla", "deadline", "--channel", "email", "--priority", "normal",
            "--created", "2026-11-27T19:30:00+01:00", "--json")
    code, out, _ = run(*args, env={"SUPPORTPULSE_SLA_POLICY_FILE": "shipped"})
    assert code == 0 and json.loads(out)["deadlines"]["first_response"] == "2026-11-28T11:30:00Z"
    mine = tmp_path / "mine.yaml"
    mine.write_text("policies:\n  - name: flat\n    targets: {first_response: 1h}\n")
    code, out, _ = run(*args, env={"SUPPORTPULSE_SLA_POLICY_FILE": str(mine)})
    assert code == 0 and json.loads(out) == {
        "policy": "flat", "calendar": "24x7",
        "deadlines": {"first_response": "2026-11-27T19:30:00Z"},
    }
    code, _, err = run(*args, env={"SUPPORTPULSE_SLA_POLICY_FILE": "none"})
    assert code != 0 and "--policy" in err


def test_sla_show_prints_the_policy_in_force_as_a_file_to_copy(tmp_path: Path) -> None:
    code, out, err = run("sla", "show", env={"SUPPORTPULSE_SLA_POLICY_FILE": "shipped"})
    assert code == 0 and out == SHIPPED.read_text(encoding="utf-8")
    assert "shipped sla-policy.yaml" in err


def test_sla_deadline_rejects_bad_input_on_stderr() -> None:
    code, out, err = run(
        "sla", "deadline", "--policy", str(SHIPPED),
        "--channel", "fax", "--priority", "normal", "--created", "2026-11-27T19:30:00+01:00",
    )
    assert code != 0 and out == "" and "--channel" in err
    code, _, err = run(
        "sla", "deadline", "--policy", str(SHIPPED),
        "--channel", "email", "--priority", "normal", "--created", "2026-11-27 19:30",
    )
    assert code != 0 and "RFC 3339" in err


@pytest.mark.parametrize("concurrency", ["1", "3"])
def test_staffing_json_shape(concurrency: str) -> None:
    code, out, _ = run(
        "staffing", "--arrivals-per-hour", "200", "--aht-seconds", "180",
        "--target-ratio", "0.8", "--within-seconds", "20", "--concurrency", concurrency, "--json",
    )
    assert code == 0
    body = json.loads(out)
    assert set(body) == {"required_agents", "offered_load_erlangs", "service_level_ratio",
                         "predicted_wait_seconds", "occupancy_ratio"}
    assert isinstance(body["required_agents"], int)
    assert body["service_level_ratio"] >= 0.8
    if concurrency == "1":
        assert body["required_agents"] == 14  # Call Centre Helper worked example


def test_check_config_reports_policy_errors_with_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("policies:\n  - name: x\n    targets: {first_reply: 2m}\n")
    code, _, err = run("check-config", env={"SUPPORTPULSE_SLA_POLICY_FILE": str(bad)})
    assert code == 1
    assert f"{bad}:3:" in err and "first_reply" in err


def test_check_config_reports_bad_settings() -> None:
    code, _, err = run("check-config", env={"SUPPORTPULSE_KAFKA_BOOTSTRAP": "nohost",
                                            "SUPPORTPULSE_TIMEZONE": "Mars/Base"})
    assert code == 2
    assert "SUPPORTPULSE_KAFKA_BOOTSTRAP" in err and "SUPPORTPULSE_TIMEZONE" in err


def test_check_config_accepts_the_shipped_policy() -> None:
    code, out, _ = run("check-config", env={
        "SUPPORTPULSE_SLA_POLICY_FILE": str(SHIPPED)})
    assert code == 0 and out.startswith("ok:")


def test_check_config_names_what_is_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUPPORTPULSE_SLA_POLICY_FILE", "SUPPORTPULSE_FORECAST_FILE"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = run("check-config")
    assert code == 0
    assert "SLA policy: shipped sla-policy.yaml (supportpulse " in out
    assert "forecast baseline: none" in out
    code, out, _ = run("check-config", env={"SUPPORTPULSE_SLA_POLICY_FILE": "none",
                                            "SUPPORTPULSE_FORECAST_FILE": "shipped"})
    assert code == 0
    assert "SLA policy: none (SLA tracking off)" in out
    assert "forecast baseline: shipped forecast.yaml" in out


@pytest.mark.parametrize("setting", ["SUPPORTPULSE_SLA_POLICY_FILE", "SUPPORTPULSE_FORECAST_FILE"])
def test_check_config_a_configured_file_that_does_not_exist_is_a_settings_error(
    setting: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.yaml"
    code, out, err = run("check-config", env={setting: str(missing)})
    assert code == 2 and out == ""
    assert setting in err and f"{missing}: no such file" in err


def test_check_config_reports_a_bad_forecast_file(tmp_path: Path) -> None:
    bad = tmp_path / "forecast.yaml"
    bad.write_text("hours: [1, 2\n")
    code, _, err = run("check-config", env={"SUPPORTPULSE_FORECAST_FILE": str(bad)})
    assert code == 1 and str(bad) in err
