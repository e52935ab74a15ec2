"""How good a breach projection is, against what followed: errors, baselines, skill, onsets.

Pure functions over one row per simulated minute (`minute`: minutes since the start,
`breaches`: breaches so far, `projected`: {horizon minutes: projection at that minute}), so
`projection_replay.py` (and a unit test) can score any model the same way. For a horizon h and
a minute t with h minutes of history before and after it:

- actual(t) = breaches in (t, t+h]: what the projection at t claims;
- persistence(t) = breaches in (t−h, t]: "the last h minutes repeat";
- run rate(t) = breaches in (t−60, t] ÷ 60 × h: the last hour's rate over the horizon;
- MAE of each against actual; skill = 1 − MAE ÷ MAE(persistence) (> 0: better than
  persistence, 1: perfect);
- onset lead for a threshold k: the first minute at which k breaches had happened within h
  minutes, minus the first minute the projection reached k (positive: the projection was
  early; negative: late; None when either never happened);
- false-alarm minutes: minutes the projection was ≥ `FALSE_ALARM_AT` while fewer than half that
  many breaches followed within h.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

THRESHOLDS = (3, 5, 10)
FALSE_ALARM_AT = 5


def _mae(pairs: Sequence[tuple[float, float]]) -> float:
    return sum(abs(a - b) for a, b in pairs) / len(pairs) if pairs else float("nan")


def score(rows: Sequence[Mapping[str, Any]], horizon: int) -> dict[str, Any]:
    """The scores of the `horizon`-minute projection; see the module doc."""
    by_minute = {int(r["minute"]): r for r in rows}
    breaches = {m: float(r["breaches"]) for m, r in by_minute.items()}
    first, last = min(breaches), max(breaches)
    model, persistence, run_rate = [], [], []
    false_alarms = 0
    for t in range(first + max(horizon, 60), last - horizon + 1):
        if not {t, t + horizon, t - horizon, t - 60} <= breaches.keys():
            continue
        actual = breaches[t + horizon] - breaches[t]
        projected = float(by_minute[t]["projected"][horizon])
        model.append((projected, actual))
        persistence.append((breaches[t] - breaches[t - horizon], actual))
        run_rate.append(((breaches[t] - breaches[t - 60]) / 60 * horizon, actual))
        if projected >= FALSE_ALARM_AT and actual < FALSE_ALARM_AT / 2:
            false_alarms += 1
    mae, mae_persistence = _mae(model), _mae(persistence)
    return {
        "mae": mae,
        "mae_persistence": mae_persistence,
        "mae_run_rate": _mae(run_rate),
        "skill": 1 - mae / mae_persistence if mae_persistence else float("nan"),
        "onset_lead_minutes": {str(k): onset_lead(by_minute, breaches, horizon, k)
                               for k in THRESHOLDS},
        "false_alarm_minutes": false_alarms,
        "minutes_scored": len(model),
    }


def onset_lead(by_minute: Mapping[int, Mapping[str, Any]], breaches: Mapping[int, float],
               horizon: int, level: float) -> float | None:
    minutes = sorted(by_minute)
    projected = next((t for t in minutes
                      if float(by_minute[t]["projected"][horizon]) >= level), None)
    happened = next((t for t in minutes if t - horizon in breaches
                     and breaches[t] - breaches[t - horizon] >= level), None)
    if projected is None or happened is None:
        return None
    return float(happened - projected)
