"""The breach projection replayed offline: the simulator's traffic through the pure domain.

    python benchmarks/projection_replay.py                       # black-friday, 06:00-24:00
    python benchmarks/projection_replay.py --start-hour 9 --duration 12h --seed 3

No broker, no worker: the events go through one `PartitionState` per stream (the same domain
code the worker runs), the SLA sweep runs every 10 simulated seconds, and once a simulated minute
the stage-two partials are built and `queue_signals` computes the projection, exactly as
`SignalOwner` does with fresh partials. Breaches are the sweep's `support_sla_breaches_total`
increments. It prints, per simulated half hour, the projection summed over queues (p30), the
breaches that then happened in the next 30 minutes (nx30), and the lagged correlations and onsets
of `benchmarks/demo_series.py` — in about a minute instead of a ten-minute live run, so the
projection model can be compared across changes. The live run (`demo_series.py`) remains the
reference: it includes rollup delays and the worker's event clock.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stream.domain import effects as fx  # noqa: E402
from stream.domain.conversations import Chats, Tickets  # noqa: E402
from stream.domain.events import Decoded, conversation_key, decode  # noqa: E402
from stream.domain.partition import PartitionState  # noqa: E402
from stream.domain.presence import Presence  # noqa: E402
from stream.domain.signals import StaffingTargets, queue_signals  # noqa: E402
from stream.domain.sla import SlaRules  # noqa: E402
from stream.rollups import build_partials  # noqa: E402
from stream.shipped import shipped_policy  # noqa: E402
from stream.simulator import DEFAULT_QUEUES, generate, stream_of  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from demo_series import RESULTS_DATE, parse_duration, projection_check  # noqa: E402
from projection_skill import score  # noqa: E402

TIMEZONE = "Europe/Prague"


def replay(args: argparse.Namespace) -> list[dict[str, Any]]:
    tz = ZoneInfo(TIMEZONE)
    day = args.date
    start = datetime(day.year, day.month, day.day, args.start_hour, 0, tzinfo=tz)
    rules = SlaRules(shipped_policy())

    def label(queue: str | None) -> str:
        return queue if queue in DEFAULT_QUEUES else "other"

    retention = timedelta(hours=1)
    parts: dict[str, PartitionState[Any]] = {
        "tickets": PartitionState(0, Tickets(rules, label), retention),
        "chats": PartitionState(0, Chats(label, rules), retention),
        "agents": PartitionState(0, Presence(label), retention),
    }
    targets = StaffingTargets(ticket_aht_seconds=args.ticket_aht)
    encoder = msgspec.json.Encoder()
    offsets = dict.fromkeys(parts, 0)
    breaches = 0.0
    rows: list[dict[str, Any]] = []
    sweep_at = start + timedelta(seconds=10)
    signal_at = start + timedelta(minutes=1)

    def advance(until: datetime) -> None:
        nonlocal sweep_at, signal_at, breaches
        while sweep_at <= until:
            for part in parts.values():
                for key in part.pop_due(sweep_at):
                    for effect in part.evaluate(key, sweep_at):
                        if isinstance(effect, fx.Count) and effect.metric == fx.SLA_BREACHES:
                            breaches += effect.amount
            if sweep_at >= signal_at:
                partials: dict[str, list[Any]] = {}
                for key, partial in build_partials({0: list(parts.values())},
                                                   DEFAULT_QUEUES, sweep_at):
                    partials.setdefault(key, []).append(partial)
                projected = {
                    q: queue_signals(q, partials[f"queue:{q}"], sweep_at, targets)
                    for q in DEFAULT_QUEUES
                }
                rows.append({
                    "sim_worker": sweep_at.astimezone(tz).isoformat(timespec="seconds"),
                    "minute": len(rows),
                    "projected30_sum": sum(s.breaches_projected["30m"]
                                           for s in projected.values()),
                    "projected": {h: sum(s.breaches_projected[f"{h}m"]
                                         for s in projected.values()) for h in (30, 60)},
                    "breaches_total": breaches,
                    "breaches": breaches,
                })
                signal_at += timedelta(minutes=1)
            sweep_at += timedelta(seconds=10)

    for event in generate(args.profile, args.seed, start, args.duration, timezone=TIMEZONE):
        stream = stream_of(str(event["type"]))
        if stream not in parts:
            continue
        decoded = decode(encoder.encode(event), lambda: datetime.now(tz), stream=stream)
        assert isinstance(decoded, Decoded)
        advance(decoded.occurred_at)
        offsets[stream] += 1
        parts[stream].apply(conversation_key(decoded.event), offsets[stream], decoded)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="black-friday")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-hour", type=int, default=6)
    parser.add_argument("--date", type=date.fromisoformat, default=RESULTS_DATE,
                        help="simulated day, YYYY-MM-DD (default: as demo_series.py)")
    parser.add_argument("--duration", type=parse_duration, default=18 * 3600.0)
    parser.add_argument("--ticket-aht", type=float, default=420.0,
                        help="SUPPORTPULSE_TICKET_AHT_SECONDS of the demo")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object: the scores per horizon (projection_skill.py)")
    args = parser.parse_args(argv)
    rows = replay(args)
    scores = {f"{h}m": score(rows, h) for h in (30, 60)}
    if args.json:
        print(json.dumps({"horizons": scores, "breaches": rows[-1]["breaches_total"],
                          "minutes": len(rows)}))
        return 0
    print(f"{len(rows)} simulated minutes, {rows[-1]['breaches_total']:.0f} breaches")
    print(projection_check(rows))
    print(f"\n{'horizon':<8} {'MAE':>7} {'persist.':>9} {'run rate':>9} {'skill':>7} "
          f"{'lead@3':>7} {'lead@5':>7} {'lead@10':>8} {'false alarm min':>16}")
    for name, s in scores.items():
        leads = [s["onset_lead_minutes"][k] for k in ("3", "5", "10")]
        print(f"{name:<8} {s['mae']:>7.2f} {s['mae_persistence']:>9.2f} {s['mae_run_rate']:>9.2f} "
              f"{s['skill']:>7.2f} " + " ".join(
                  f"{'—' if v is None else f'{v:+.0f}':>7}" for v in leads)
              + f" {s['false_alarm_minutes']:>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
