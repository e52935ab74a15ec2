"""The stage-two signals over a simulated Black Friday: a time series from the demo stack.

    python benchmarks/demo_series.py                    # 12 simulated hours from 09:00 at 120x
    python benchmarks/demo_series.py --speed 60 --duration 6h --start-hour 11
    python benchmarks/demo_series.py --write-forecast   # (re)generate stream/data/forecast.yaml

What it does (the steps of `stream.demo.run_demo`, without the board):

1. an embedded tansu broker and redis-server on free loopback ports (`embedded_stack`);
2. one worker subprocess, `python -m stream.cli worker --clock event`, with the demo's settings
   (including SUPPORTPULSE_TICKET_AHT_SECONDS=420, the simulator's ~1.4 touches x 300 s)
   plus SUPPORTPULSE_FORECAST_FILE=shipped (stream/data/forecast.yaml),
   SUPPORTPULSE_FORECAST_MULTIPLIER=3
   ("plan for last year's busiest day x 3") and a rollup every simulated minute
   (SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS = 60 / speed, at least 0.5 s, as `supportpulse demo`);
3. the seeded simulation (`generate(profile, seed, DATE START_HOUR:00 local, duration)`)
   published at `--speed` in a thread, paced by `occurred_at` like `kafka_io.publish`;
4. every `--scrape-every` wall seconds: /metrics and /sla/at-risk, one CSV row per scrape
   (`benchmarks/results/demo_series.csv`), and at the end a table with one row per simulated
   30 minutes on stdout. Everything is stopped in `finally`.

Simulated time. The signals are computed with the worker's *event clock* (now = the highest
`occurred_at` the worker has applied), so that is the time axis:

* `sim_worker` — exact when known: /sla/at-risk returns each item's deadline and
  `seconds_left = deadline - clock.now()`, so now = deadline - seconds_left (`sim_source` =
  `clock`). When nothing is at risk it is estimated as the `occurred_at` of the N-th event
  published, N = events the worker has counted (`support_events_total` + rejected;
  `sim_source` = `count`) — a lower bound, since the four streams are consumed concurrently.
* `sim_published` — the highest `occurred_at` sent to the broker so far (the feeder's clock).

The 30-minute table takes, for each simulated half hour, the last scrape at or before it; its
`nx30` column is what actually happened in the 30 minutes the `p30` projection was about. The
projection check below it correlates the projection with the breaches of the 30 minutes before
and after every scrape and compares the onsets (first time the projection, and the breaches
within 30 minutes, reach 3, 5, 10). benchmarks/results/demo_series.csv and .txt were made with
`--start-hour 6 --duration 18h --scrape-every 1` (06:00, before the morning surge, to 24:00,
after the evening wind-down); the default 12 h from 09:00 stops at 21:00.

Forecast baseline (`--write-forecast`): the simulator's `normal` profile over one week (Monday
2026-11-16 00:00 Europe/Prague, seed 1), conversation arrivals (`ticket.created` by its channel,
`chat.requested` as `chat` — the same events the worker counts in `support_volume_actual`) per
local weekday x hour x channel. See the header of stream/data/forecast.yaml.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import csv
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stream.board import Samples, fetch_samples, value  # noqa: E402
from stream.domain.events import parse_timestamp  # noqa: E402
from stream.simulator import generate  # noqa: E402

FORECAST_FILE = ROOT / "stream" / "data" / "forecast.yaml"
RESULT_FILE = ROOT / "benchmarks" / "results" / "demo_series.csv"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORECAST_CHANNELS = ("email", "chat", "phone", "social", "web_form")
TIMEZONE = "Europe/Prague"
RESULTS_DATE = date(2026, 11, 23)  # benchmarks/results/demo_series.* were measured on it

# --------------------------------------------------------------------------------------------
# Forecast baseline
# --------------------------------------------------------------------------------------------

FORECAST_HEADER = """\
# Support Pulse — forecast baseline: expected conversation arrivals in a NORMAL week.
#
# Shipped inside the package (stream/data/forecast.yaml); read by the worker when
# SUPPORTPULSE_FORECAST_FILE is `shipped` (or a path to an edited copy; stream/rollups.py
# `load_forecast`). It feeds `support_volume_forecast{{channel}}` (expected arrivals in the current
# hour) and the first 10 minutes of `support_volume_projected{{channel}}`.
#
# Format:
#   multiplier: <number>                 # scales every value below (default 1.0)
#   weekly:
#     <weekday>:                         # mon tue wed thu fri sat sun
#       "<hour>":                        # 0..23, LOCAL time in SUPPORTPULSE_TIMEZONE ({tz})
#         <channel>: <arrivals>          # email, chat, phone, social, web_form
# A value is the number of new conversations expected in that hour on that channel: a
# `ticket.created` counts for its channel, a `chat.requested` for `chat` (a chat converted into
# a ticket therefore counts twice, exactly as in `support_volume_actual`). A weekday, hour or
# channel missing here falls back to the same hour of the same weekday in recent weeks of
# observed traffic (if the worker has any), else no forecast is shown.
#
# multiplier: 1.0 means this file IS the normal week. On a peak day do not edit the numbers:
# set the multiplier in the environment, which multiplies on top of the one in this file.
# For Black Friday "plan for last year's busiest day x 3":
#     SUPPORTPULSE_FORECAST_MULTIPLIER=3
# (Christmas' last shipping days: 2.5.)
#
# Generated — do not edit by hand; regenerate with
#     python benchmarks/demo_series.py --write-forecast
# from the simulator's `{profile}` profile: {days} days from {start} {tz}, seed {seed};
# arrivals counted per local weekday x hour x channel (averaged per week), rounded; the
# comment after each hour is its total. {total} conversations a week:
#     {per_day}
# From one simulated week the hourly values carry Poisson noise (about ±sqrt(value));
# `--forecast-days 28` averages four weeks for a smoother baseline.
"""


def forecast_counts(
    profile: str = "normal",
    seed: int = 1,
    start: datetime | None = None,
    days: int = 7,
    timezone: str = TIMEZONE,
) -> Counter[tuple[int, int, str]]:
    """Conversation arrivals per (local weekday, local hour, channel) over `days` simulated days."""
    tz = ZoneInfo(timezone)
    start = start or datetime(2026, 11, 16, 0, 0, tzinfo=tz)
    counts: Counter[tuple[int, int, str]] = Counter()
    for event in generate(profile, seed, start, days * 86400.0, timezone=timezone):
        etype = event["type"]
        if etype == "ticket.created":
            channel = str(event["channel"])
        elif etype == "chat.requested":
            channel = "chat"
        else:
            continue
        at = parse_timestamp(str(event["occurred_at"]))
        assert at is not None
        local = at.astimezone(tz)
        counts[(local.weekday(), local.hour, channel)] += 1
    return counts


def write_forecast(path: Path, profile: str, seed: int, days: int, timezone: str) -> None:
    tz = ZoneInfo(timezone)
    start = datetime(2026, 11, 16, 0, 0, tzinfo=tz)  # a Monday
    if start.weekday() != 0:
        raise SystemExit("the forecast week must start on a Monday")
    counts = forecast_counts(profile, seed, start, days, timezone)
    weeks = days / 7
    per_day = ", ".join(
        f"{WEEKDAYS[d]} {round(sum(v for (dd, _, _), v in counts.items() if dd == d) / weeks)}"
        for d in range(7)
    )
    lines = [
        FORECAST_HEADER.format(
            tz=timezone, profile=profile, days=days, start=start.strftime("%Y-%m-%d %H:%M"),
            seed=seed, total=round(sum(counts.values()) / weeks), per_day=per_day,
        ).rstrip("\n"),
        "",
        "multiplier: 1.0",
        "weekly:",
    ]
    for d, day in enumerate(WEEKDAYS):
        lines.append(f"  {day}:")
        for hour in range(24):
            values = {c: round(counts.get((d, hour, c), 0) / weeks) for c in FORECAST_CHANNELS}
            inner = ", ".join(f"{c}: {v}" for c, v in values.items())
            lines.append(f'    "{hour}": {{{inner}}}  # {sum(values.values())}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path} ({sum(counts.values())} arrivals over {days} days)")


# --------------------------------------------------------------------------------------------
# The demo stack and the series
# --------------------------------------------------------------------------------------------

QUEUES = ("orders", "returns", "payments", "general")
TARGETS = ("first_response", "next_response", "resolution")


class Feeder(threading.Thread):
    """Publishes the simulation paced by occurred_at (as kafka_io.publish) and records progress."""

    def __init__(self, settings: Any, events: list[dict[str, Any]], speed: float) -> None:
        super().__init__(name="simulator", daemon=True)
        self.settings = settings
        self.events = events
        self.times = [parse_timestamp(str(e["occurred_at"])) for e in events]
        self.speed = speed
        self.sent = 0
        self.watermark: datetime | None = None
        self.started_wall: float | None = None
        self.done = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self.done.set()

    async def _run(self) -> None:
        import msgspec
        from aiokafka import AIOKafkaProducer

        from stream.kafka_io import route

        encoder = msgspec.json.Encoder()
        producer = AIOKafkaProducer(
            bootstrap_servers=",".join(self.settings.kafka_bootstrap), linger_ms=5, acks="all"
        )
        await producer.start()
        try:
            first = self.times[0]
            assert first is not None
            self.started_wall = time.monotonic()
            for event, at in zip(self.events, self.times, strict=True):
                if self.stop.is_set():
                    return
                assert at is not None
                due = self.started_wall + (at - first).total_seconds() / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                topic, key = route(self.settings, event)
                await producer.send(topic, encoder.encode(event), key=key)
                self.sent += 1
                self.watermark = at if self.watermark is None or at > self.watermark else (
                    self.watermark
                )
            await producer.flush()
        finally:
            await producer.stop()

    def nth_time(self, n: int) -> datetime | None:
        """occurred_at of the n-th event published (1-based)."""
        if n <= 0:
            return None
        return self.times[min(n, len(self.times)) - 1]


def worker_clock(base: str) -> datetime | None:
    """The worker's event clock from /sla/at-risk (deadline - seconds_left), if anything is."""
    try:
        with urllib.request.urlopen(f"{base}/sla/at-risk?limit=1", timeout=3) as response:
            items = json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None
    if not isinstance(items, list) or not items:
        return None
    item = items[0]
    try:
        deadline = datetime.fromisoformat(str(item["deadline"]).replace("Z", "+00:00"))
        return deadline - timedelta(seconds=float(item["seconds_left"]))
    except (KeyError, TypeError, ValueError):
        return None


def columns() -> list[str]:
    cols = [
        "wall_seconds", "sim_worker", "sim_source", "sim_published",
        "events_published", "events_consumed",
    ]
    for q in QUEUES:
        cols += [
            f"required_{q}", f"available_{q}", f"gap_{q}",
            f"projected30_{q}", f"projected60_{q}", f"chat_waiting_{q}",
            f"arrival_rate15m_{q}", f"predicted_sl_{q}", f"predicted_wait_{q}",
        ]
    cols += [
        "projected30_sum", "projected60_sum", "breaches_total",
        *(f"breaches_{kind}_{target}" for kind in ("chat", "ticket") for target in TARGETS),
        "chats_requested", "chats_missed",
        "sla_at_risk", "sla_breached_open", "chat_waiting",
        "volume_chat_actual", "volume_chat_forecast", "volume_chat_projected",
        "volume_all_actual", "volume_all_forecast",
    ]
    return cols


def row_of(samples: Samples, tz: ZoneInfo, wall: float, clock: datetime | None,
           feeder: Feeder) -> dict[str, Any]:
    consumed = int(value(samples, "support_events_total") + value(
        samples, "support_events_rejected_total"))
    sim: datetime | None = clock
    source = "clock"
    if sim is None:
        sim, source = feeder.nth_time(consumed), "count"
    row: dict[str, Any] = {
        "wall_seconds": round(wall, 1),
        "sim_worker": sim.astimezone(tz).isoformat(timespec="seconds") if sim else "",
        "sim_source": source if sim else "",
        "sim_published": (
            feeder.watermark.astimezone(tz).isoformat(timespec="seconds")
            if feeder.watermark else ""
        ),
        "events_published": feeder.sent,
        "events_consumed": consumed,
    }

    def gauge(name: str, **labels: str) -> float | str:
        present = [
            v for lbl, v in samples.get(name, [])
            if all(lbl.get(k) == w for k, w in labels.items())
        ]
        return sum(present) if present else ""

    for q in QUEUES:
        row[f"required_{q}"] = gauge("support_staffing_required_agents", queue=q)
        row[f"available_{q}"] = gauge("support_staffing_available_agents", queue=q)
        row[f"gap_{q}"] = gauge("support_staffing_gap_agents", queue=q)
        row[f"projected30_{q}"] = gauge("support_sla_breaches_projected", queue=q, horizon="30m")
        row[f"projected60_{q}"] = gauge("support_sla_breaches_projected", queue=q, horizon="60m")
        row[f"chat_waiting_{q}"] = gauge("support_chat_queue_waiting", queue=q)
        row[f"arrival_rate15m_{q}"] = gauge("support_arrival_rate", queue=q, window="15m")
        row[f"predicted_sl_{q}"] = gauge(
            "support_staffing_predicted_service_level_ratio", queue=q)
        row[f"predicted_wait_{q}"] = gauge("support_staffing_predicted_wait_seconds", queue=q)
    row["projected30_sum"] = gauge("support_sla_breaches_projected", horizon="30m")
    row["projected60_sum"] = gauge("support_sla_breaches_projected", horizon="60m")
    row["breaches_total"] = gauge("support_sla_breaches_total")
    breaches = samples.get("support_sla_breaches_total", [])
    for target in TARGETS:
        row[f"breaches_chat_{target}"] = sum(
            v for lbl, v in breaches if lbl.get("channel") == "chat" and lbl["target"] == target)
        row[f"breaches_ticket_{target}"] = sum(
            v for lbl, v in breaches if lbl.get("channel") != "chat" and lbl["target"] == target)
    row["chats_requested"] = gauge("support_chats_requested_total")
    row["chats_missed"] = gauge("support_chats_missed_total")
    row["sla_at_risk"] = gauge("support_sla_at_risk")
    row["sla_breached_open"] = gauge("support_sla_breached_open")
    row["chat_waiting"] = gauge("support_chat_queue_waiting")
    row["volume_chat_actual"] = gauge("support_volume_actual", channel="chat")
    row["volume_chat_forecast"] = gauge("support_volume_forecast", channel="chat")
    row["volume_chat_projected"] = gauge("support_volume_projected", channel="chat")
    row["volume_all_actual"] = gauge("support_volume_actual")
    row["volume_all_forecast"] = gauge("support_volume_forecast")
    return row


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?", text.strip())
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 12h, 90m, 1h30m")
    hours, minutes = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60


def run_series(args: argparse.Namespace) -> list[dict[str, Any]]:
    from pydantic import SecretStr

    from stream.demo import worker_env
    from stream.embedded import embedded_stack, free_port
    from stream.kafka_io import all_topics, ensure_topics
    from stream.settings import Settings
    from stream.stopping import child_options, stop_on_signals, stop_process

    tz = ZoneInfo(TIMEZONE)
    day = args.date
    start = datetime(day.year, day.month, day.day, args.start_hour, 0, tzinfo=tz)
    events = list(generate(args.profile, args.seed, start, args.duration, timezone=TIMEZONE))
    print(f"{len(events)} events of {args.profile!r} (seed {args.seed}) from "
          f"{start.isoformat()} for {args.duration / 3600:g} h at {args.speed:g}x "
          f"(~{args.duration / args.speed / 60:.1f} wall minutes)", flush=True)

    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="supportpulse-series-"))
    with stop_on_signals(), embedded_stack(workdir) as (broker, redis):
        web_port = free_port()
        # The demo's worker settings (stream.demo.worker_env), with this run's explicit choices.
        env = {
            **worker_env(broker.bootstrap, redis.url, workdir, web_port, args.speed,
                         args.profile),
            "SUPPORTPULSE_APP_ID": "supportpulse-series",
            "SUPPORTPULSE_WEB_HOST": "127.0.0.1",
            "SUPPORTPULSE_TIMEZONE": TIMEZONE,
            "SUPPORTPULSE_FORECAST_FILE": str(args.forecast),
            "SUPPORTPULSE_FORECAST_MULTIPLIER": f"{args.multiplier:g}",
            "SUPPORTPULSE_ROLLUP_INTERVAL_SECONDS": f"{args.rollup_interval:g}",
        }
        env.pop("SUPPORTPULSE_API_TOKEN", None)
        settings = Settings(
            kafka_bootstrap=[broker.bootstrap], redis_url=SecretStr(redis.url), partitions=4
        )
        asyncio.run(ensure_topics(broker.bootstrap, all_topics(settings), settings.partitions))
        worker: subprocess.Popen[bytes] | None = None
        feeder: Feeder | None = None
        try:
            with open(workdir / "worker.log", "ab") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "stream.cli", "worker", "--clock", "event"],
                    env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, **child_options(),
                )
            base = f"http://127.0.0.1:{web_port}"
            print(f"worker pid {worker.pid}, {base}/metrics, logs in {workdir}", flush=True)
            _wait_ready(base, worker, timeout=120)
            feeder = Feeder(settings, events, args.speed)
            feeder.start()
            began = time.monotonic()
            drained_since: float | None = None
            while True:
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited with {worker.returncode}; "
                                       f"see {workdir}/worker.log")
                tick = time.monotonic()
                samples = fetch_samples(f"{base}/metrics")
                clock = worker_clock(base)
                if samples:
                    row = row_of(samples, tz, tick - began, clock, feeder)
                    rows.append(row)
                    if len(rows) % 10 == 1:
                        print(_progress(row), flush=True)
                    # Done: everything published and counted, plus a few rollup intervals.
                    if feeder.done.is_set() and row["events_consumed"] >= len(events):
                        drained_since = drained_since or tick
                        if tick - drained_since > 3 * args.rollup_interval + 2:
                            break
                if feeder.done.is_set() and feeder.error is not None:
                    raise RuntimeError(f"publishing failed: {feeder.error!r}")
                if tick - began > args.duration / args.speed + args.grace:
                    print("time limit reached before the worker drained", flush=True)
                    break
                time.sleep(max(0.0, args.scrape_every - (time.monotonic() - tick)))
        finally:
            if feeder is not None:
                feeder.stop.set()
                feeder.join(10)
            stop_process(worker, timeout=15)
    return rows


def _wait_ready(base: str, worker: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode} before ready")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{base}/readyz", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"worker not ready within {timeout}s")


def _progress(row: dict[str, Any]) -> str:
    gaps = " ".join(f"{q[:3]}={row[f'gap_{q}']}" for q in QUEUES)
    return (f"  t={row['wall_seconds']:>6}s sim={row['sim_worker'][11:16] or '--:--'}"
            f"({row['sim_source'][:1]}) pub={row['events_published']} "
            f"cons={row['events_consumed']} gap[{gaps}] "
            f"proj30={row['projected30_sum']} breaches={row['breaches_total']}")


def half_hour_table(rows: list[dict[str, Any]]) -> str:
    """One line per simulated 30 min: the last scrape at or before each :00 / :30."""
    timed = [(datetime.fromisoformat(r["sim_worker"]), r) for r in rows if r["sim_worker"]]
    if not timed:
        return "(no samples)"
    timed.sort(key=lambda pair: pair[0])
    first, last = timed[0][0], timed[-1][0]
    mark = first.replace(minute=0 if first.minute < 30 else 30, second=0, microsecond=0)
    if mark < first:
        mark += timedelta(minutes=30)
    keys = [t for t, _ in timed]

    def fmt(v: Any, width: int) -> str:
        if v == "" or v is None:
            return "-".rjust(width)
        f = float(v)
        text = f"{f:.0f}" if f == int(f) else f"{f:.1f}"
        return text.rjust(width)

    head = (f"{'sim':>5} {'src':>3} | {'gap o/r/p/g':>15} | {'req o/r/p/g':>15} | "
            f"{'avail o/r/p/g':>15} | {'p30':>4} {'nx30':>4} {'p60':>4} | {'brch':>5} "
            f"{'chFR':>4} {'chNR':>4} "
            f"{'tk':>4} | "
            f"{'wait':>4} | {'chat act/fc/proj':>16}")
    lines = [head, "-" * len(head)]
    while mark <= last:
        i = bisect.bisect_right(keys, mark) - 1
        if i >= 0:
            r = timed[i][1]

            def quad(prefix: str, r: dict[str, Any] = r) -> str:
                return "/".join(fmt(r[f"{prefix}_{q}"], 0).strip() for q in QUEUES)

            lines.append(
                f"{mark:%H:%M} {r['sim_source'][:3]:>3} | {quad('gap'):>15} | "
                f"{quad('required'):>15} | {quad('available'):>15} | "
                f"{fmt(r['projected30_sum'], 4)} {fmt(_next_breaches(timed, mark), 4)} "
                f"{fmt(r['projected60_sum'], 4)} | "
                f"{fmt(r['breaches_total'], 5)} {fmt(r['breaches_chat_first_response'], 4)} "
                f"{fmt(r['breaches_chat_next_response'], 4)} {fmt(_ticket_breaches(r), 4)} | "
                f"{fmt(r['chat_waiting'], 4)} | "
                + "/".join(fmt(r[f"volume_chat_{k}"], 0).strip()
                           for k in ("actual", "forecast", "projected")).rjust(16)
            )
        mark += timedelta(minutes=30)
    return "\n".join(lines)


def _breaches_at(timed: list[tuple[datetime, dict[str, Any]]], at: datetime) -> float | None:
    """support_sla_breaches_total at the last scrape at or before `at` (None: after the end)."""
    if at > timed[-1][0]:
        return None
    i = bisect.bisect_right([t for t, _ in timed], at) - 1
    return float(timed[i][1]["breaches_total"] or 0) if i >= 0 else 0.0


def _next_breaches(timed: list[tuple[datetime, dict[str, Any]]], at: datetime) -> float | str:
    """Breaches that actually happened in the 30 minutes after `at`: what p30 projected."""
    now, later = _breaches_at(timed, at), _breaches_at(timed, at + timedelta(minutes=30))
    return "" if now is None or later is None else later - now


def projection_check(
    rows: list[dict[str, Any]], thresholds: tuple[float, ...] = (3.0, 5.0, 10.0)
) -> str:
    """How `support_sla_breaches_projected{horizon="30m"}` (summed over queues) relates to the
    breaches around it, over every scrape: its correlation with the breaches of the 30 minutes
    before, the 30 minutes after (what it projects) and the 30 minutes after those; and the
    onset: the first time it reached each threshold against the first time that many breaches
    had happened within 30 minutes."""
    timed = sorted(
        ((datetime.fromisoformat(r["sim_worker"]), r) for r in rows
         if r["sim_worker"] and r["projected30_sum"] != ""),
        key=lambda pair: pair[0],
    )
    if len(timed) < 3:
        return "projection check: too few samples"
    lines = []
    for start, label in ((-30, "previous 30 min"), (0, "next 30 min"), (30, "30-60 min ahead")):
        pairs = []
        for t, r in timed:
            a = _breaches_at(timed, t + timedelta(minutes=start))
            b = _breaches_at(timed, t + timedelta(minutes=start + 30))
            if a is not None and b is not None and t + timedelta(minutes=start) >= timed[0][0]:
                pairs.append((float(r["projected30_sum"]), b - a))
        lines.append(f"  breaches in the {label}: correlation {_correlation(pairs):.2f}, mean "
                     f"{sum(y for _, y in pairs) / max(len(pairs), 1):.1f} "
                     f"(mean projected {sum(x for x, _ in pairs) / max(len(pairs), 1):.1f}, "
                     f"{len(pairs)} scrapes)")
    for level in thresholds:
        first_projected = next(
            (t for t, row in timed if float(row["projected30_sum"]) >= level), None
        )
        first_breached = next(
            (t for t, _ in timed
             if (before := _breaches_at(timed, t - timedelta(minutes=30))) is not None
             and float(_breaches_at(timed, t) or 0) - before >= level),
            None,
        )
        lines.append(
            f"  onset: projection >= {level:g} first at "
            f"{first_projected and f'{first_projected:%H:%M}'}; >= {level:g} breaches within "
            f"30 min first at {first_breached and f'{first_breached:%H:%M}'}"
        )
    return "projection (30m) against actual breaches:\n" + "\n".join(lines)


def _correlation(pairs: list[tuple[float, float]]) -> float:
    if len(pairs) < 3:
        return float("nan")
    xs, ys = zip(*pairs, strict=True)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in pairs)
    sx = sum((x - mx) ** 2 for x in xs) ** 0.5
    sy = sum((y - my) ** 2 for y in ys) ** 0.5
    return cov / (sx * sy) if sx and sy else float("nan")


def _ticket_breaches(row: dict[str, Any]) -> float:
    return sum(float(row[f"breaches_ticket_{t}"] or 0) for t in TARGETS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-forecast", action="store_true",
                        help="write stream/data/forecast.yaml from the normal profile and exit")
    parser.add_argument("--forecast-days", type=int, default=7)
    parser.add_argument("--forecast-seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--duration", type=parse_duration, default=12 * 3600.0,
                        help="simulated time, e.g. 12h (default)")
    parser.add_argument("--start-hour", type=int, default=9, help="local start hour")
    parser.add_argument("--date", type=date.fromisoformat, default=RESULTS_DATE,
                        help="simulated day, YYYY-MM-DD (default: the day the committed "
                             "results were measured on, a Monday; the weekday shapes traffic)")
    parser.add_argument("--profile", default="black-friday")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--forecast", type=Path, default=FORECAST_FILE)
    parser.add_argument("--multiplier", type=float, default=3.0)
    parser.add_argument("--rollup-interval", type=float, default=None,
                        help="wall seconds (default: one simulated minute, as `demo`)")
    parser.add_argument("--scrape-every", type=float, default=2.0, help="wall seconds")
    parser.add_argument("--grace", type=float, default=180.0,
                        help="wall seconds to wait for the worker to drain after publishing")
    parser.add_argument("--out", type=Path, default=RESULT_FILE)
    args = parser.parse_args(argv)

    if args.rollup_interval is None:
        args.rollup_interval = max(0.5, 60.0 / args.speed)
    if args.write_forecast:
        write_forecast(FORECAST_FILE, "normal", args.forecast_seed, args.forecast_days, TIMEZONE)
        return 0
    if not args.forecast.exists():
        parser.error(f"{args.forecast} is missing: run with --write-forecast first")
    rows = run_series(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns())
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{len(rows)} samples -> {args.out}\n")
    print("gap/req/avail per queue orders/returns/payments/general; p30/p60 = "
          "sum of support_sla_breaches_projected; nx30 = breaches in the next 30 min; "
          "brch = sum of support_sla_breaches_total: "
          "chFR chat first_response, chNR chat next_response, tk non-chat channels; "
          "wait = chat queue waiting; "
          "chat volume actual/forecast/projected")
    summary = f"{half_hour_table(rows)}\n{projection_check(rows)}\n"
    print(summary, end="")
    command = " ".join(["python benchmarks/demo_series.py", *(argv or sys.argv[1:])])
    args.out.with_suffix(".txt").write_text(f"# {command}\n{summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
