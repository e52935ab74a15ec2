"""benchmarks/projection_skill.py scores a projection against what followed, by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.scripts import load

ROOT = Path(__file__).resolve().parents[2]
skill = load("benchmarks/projection_skill.py")


def rows(breaches: list[float], projected: list[float], horizon: int = 30) -> list[dict[str, Any]]:
    return [{"minute": m, "breaches": b, "projected": {horizon: p}}
            for m, (b, p) in enumerate(zip(breaches, projected, strict=True))]


def test_a_perfect_projection_has_skill_one_and_leads_the_onset() -> None:
    # One breach a minute from minute 100 on; the projection knows the next 30 minutes.
    breaches = [float(max(0, m - 100)) for m in range(200)]
    projected = [breaches[min(m + 30, 199)] - breaches[m] for m in range(200)]
    s = skill.score(rows(breaches, projected), 30)
    assert s["mae"] == 0 and s["skill"] == 1
    # Persistence lags: from minute 100 it says 0..29 while 30 follow.
    assert s["mae_persistence"] > 0
    # 3 breaches within 30 min first at minute 103; the projection reached 3 at minute 73.
    assert s["onset_lead_minutes"]["3"] == 30
    assert s["false_alarm_minutes"] == 0


def test_persistence_itself_has_skill_zero_and_false_alarms_are_counted() -> None:
    breaches = [float(int(m**1.5 / 20)) for m in range(200)]  # an accelerating surge
    persistence = [breaches[m] - breaches[max(m - 30, 0)] for m in range(200)]
    s = skill.score(rows(breaches, persistence), 30)
    assert abs(s["skill"]) < 1e-9 and s["mae"] == s["mae_persistence"]
    flat = [0.0] * 200  # no breaches at all
    alarm = skill.score(rows(flat, [6.0] * 200), 30)
    assert alarm["false_alarm_minutes"] == alarm["minutes_scored"] > 0
    assert alarm["onset_lead_minutes"]["5"] is None  # five breaches never happened


def test_the_replay_prints_one_json_object_per_the_issue() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "projection_replay.py"), "--json",
         "--start-hour", "9", "--duration", "3h"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    body = json.loads(done.stdout)
    assert set(body) == {"horizons", "breaches", "minutes"}
    for horizon in ("30m", "60m"):
        scores = body["horizons"][horizon]
        assert {"mae", "mae_persistence", "mae_run_rate", "skill", "onset_lead_minutes",
                "false_alarm_minutes"} <= set(scores)
        assert set(scores["onset_lead_minutes"]) == {"3", "5", "10"}
