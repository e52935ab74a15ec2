"""Each board's first screen as a PNG, drawn from its committed JSON and a real Prometheus.

Grafana does not run on the development machines, so this is how a board is looked at before
it ships: the panels of the first `--rows` grid rows at their gridPos, with their titles,
units and threshold colours, and the values a real Prometheus returns for their queries (stat
and table panels: the instant value; time series: the last `--minutes`). A preview, not a
Grafana: no legends beyond the series names, no overrides, no links.

    python grafana/preview.py --demo 240            # demo stack + Prometheus for 4 min, then draw
    python grafana/preview.py --prometheus http://127.0.0.1:9090   # a Prometheus you run

`--demo` starts what `supportpulse demo` starts (tansu, Redis, a worker on the simulated Black
Friday at 60x) plus a Prometheus (Debian package `prometheus`) scraping the worker with the
shipped rules, on free loopback ports, and stops them all at the end (also on Ctrl-C, SIGTERM,
a closed terminal). Output: grafana/previews/<board>.png, shown in the README.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from panel_queries import load_dashboards, substitute  # noqa: E402

OUT = HERE / "previews"
COLOURS = {"green": "#37872d", "yellow": "#e0b400", "orange": "#fa6400", "red": "#c4162a",
           "blue": "#1f60c4", "text": "#d8d9da"}
BACKGROUND, PANEL_BG = "#111217", "#181b1f"


# --- Prometheus -------------------------------------------------------------------------------
def _get(prom: str, path: str, **params: Any) -> list[dict[str, Any]]:
    url = f"{prom}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body = json.loads(response.read())
    result: list[dict[str, Any]] = body["data"]["result"] if body["status"] == "success" else []
    return result


def instant(prom: str, expr: str) -> list[tuple[dict[str, str], float]]:
    return [(r["metric"], float(r["value"][1])) for r in _get(prom, "/api/v1/query", query=expr)]


def series(prom: str, expr: str, minutes: float) -> list[tuple[dict[str, str], list[float]]]:
    end = time.time()
    rows = _get(prom, "/api/v1/query_range", query=expr, start=end - minutes * 60, end=end,
                step=max(15, int(minutes * 60 / 120)))
    return [(r["metric"], [float(v) for _, v in r["values"]]) for r in rows]


# --- formatting -------------------------------------------------------------------------------
def legend(template: str, labels: dict[str, str]) -> str:
    if not template or template == "__auto":
        hidden = ("job", "instance", "__name__", "alertstate")
        return ",".join(f"{k}={v}" for k, v in labels.items() if k not in hidden)
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def fmt(value: float, unit: str, decimals: int | None) -> str:
    if math.isnan(value) or math.isinf(value):
        return "—"
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else decimals}f}%"
    if unit == "percent":
        return f"{value:.{1 if decimals is None else decimals}f}%"
    if unit == "s":
        return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"
    if unit == "reqps":
        return f"{value:.1f}/s"
    places = decimals if decimals is not None else (0 if float(value).is_integer() else 1)
    return f"{value:,.{places}f}"


def colour(panel: dict[str, Any], value: float) -> str:
    steps = (panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds") or {}).get(
        "steps") or []
    chosen = "text"
    for step in steps:
        if step.get("value") is None or value >= step["value"]:
            chosen = step.get("color", "text")
    return COLOURS.get(chosen, chosen if chosen.startswith("#") else COLOURS["text"])


# --- drawing ----------------------------------------------------------------------------------
def draw(ax: Any, panel: dict[str, Any], prom: str, minutes: float) -> None:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit, decimals = defaults.get("unit", "none"), defaults.get("decimals")
    ax.set_facecolor(PANEL_BG)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("#2c3235")
    ax.set_title(panel.get("title", ""), color=COLOURS["text"], fontsize=8, loc="left")
    targets = [(substitute(t["expr"], rate_interval="2m", range_="1h"), t.get("legendFormat", ""))
               for t in panel.get("targets", []) if t.get("expr")]
    kind = panel.get("type")
    if kind == "timeseries":
        for expr, fmt_legend in targets:
            for labels, values in series(prom, expr, minutes)[:12]:
                ax.plot(values, linewidth=1, label=legend(fmt_legend, labels)[:28] or "_")
        if any(not line.get_label().startswith("_") for line in ax.lines):
            ax.legend(fontsize=5, loc="upper left", frameon=False, labelcolor=COLOURS["text"])
        return
    if kind == "table" and len(targets) > 1:
        table(ax, panel, prom, targets)
        return
    rows = [(legend(f, labels), value) for expr, f in targets for labels, value in
            instant(prom, expr)]
    if not rows:
        ax.text(0.5, 0.5, panel.get("options", {}).get("noValue") or defaults.get("noValue")
                or "No data", ha="center", va="center", color="#8e8e8e", fontsize=9,
                transform=ax.transAxes)
        return
    if kind == "stat" and len(rows) <= 4:
        for i, (name, value) in enumerate(rows):
            y = 1 - (i + 0.6) / len(rows)
            ax.text(0.5, y, fmt(value, unit, decimals), ha="center", va="center",
                    fontsize=20 if len(rows) == 1 else 12, color=colour(panel, value),
                    weight="bold", transform=ax.transAxes)
            if len(rows) > 1:
                ax.text(0.02, y, name[:24], va="center", fontsize=6, color=COLOURS["text"],
                        transform=ax.transAxes)
        return
    # Tables, bar gauges, pies and stats with many series: one line per series.
    rows = sorted(rows)[:14]
    for i, (name, value) in enumerate(rows):
        y = 1 - (i + 1) / (len(rows) + 1)
        ax.text(0.03, y, name[:40], va="center", fontsize=6, color=COLOURS["text"],
                transform=ax.transAxes)
        ax.text(0.97, y, fmt(value, unit, decimals), va="center", ha="right", fontsize=7,
                color=colour(panel, value), transform=ax.transAxes)


def table(ax: Any, panel: dict[str, Any], prom: str, targets: list[tuple[str, str]]) -> None:
    """A merged table: one row per label set, one column per query (`Value #A`, … renamed by
    the panel's `organize` transformation), cells coloured by the column's thresholds."""
    names: dict[str, str] = {}
    for step in panel.get("transformations", []):
        if step.get("id") == "organize":
            names = step.get("options", {}).get("renameByName", {})
    overrides = {o["matcher"].get("options"): {p["id"]: p["value"] for p in o["properties"]}
                 for o in panel.get("fieldConfig", {}).get("overrides", [])}
    ref_ids = [t.get("refId", chr(65 + i)) for i, t in enumerate(panel.get("targets", []))]
    cells: dict[str, dict[str, float]] = {}
    for ref, (expr, _) in zip(ref_ids, targets, strict=False):
        for labels, value in instant(prom, expr):
            key = legend("", labels) or "—"
            cells.setdefault(key, {})[ref] = value
    columns = [(ref, names.get(f"Value #{ref}", ref)) for ref in ref_ids]
    width = 1 / (len(columns) + 1.5)
    ax.text(0.01, 0.93, names.get("queue", ""), fontsize=6, color="#8e8e8e",
            transform=ax.transAxes)
    for c, (_, title) in enumerate(columns):
        ax.text(1.5 * width + c * width, 0.93, title[:14], fontsize=6, color="#8e8e8e",
                transform=ax.transAxes)
    for r, key in enumerate(sorted(cells)[:12]):
        y = 0.85 - r * 0.075
        ax.text(0.01, y, key.split("=")[-1][:18], fontsize=6, color=COLOURS["text"],
                transform=ax.transAxes)
        for c, (ref, title) in enumerate(columns):
            if ref not in cells[key]:
                continue
            props = overrides.get(title, {})
            fake = {"fieldConfig": {"defaults": {"thresholds": props.get("thresholds")}}}
            value = cells[key][ref]
            ax.text(1.5 * width + c * width, y, fmt(value, props.get("unit", "none"),
                                                    props.get("decimals")),
                    fontsize=6, color=colour(fake, value), transform=ax.transAxes)


def render(board: dict[str, Any], prom: str, out: Path, rows: int, minutes: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(19.2, rows * 0.45), facecolor=BACKGROUND)
    figure.suptitle(f"{board['title']}  (first {rows} rows)", color=COLOURS["text"], x=0.01,
                    y=0.995, ha="left", va="top", fontsize=10)
    for panel in board["panels"]:
        pos = panel["gridPos"]
        if pos["y"] >= rows:
            continue
        height = min(pos["h"], rows - pos["y"])
        # The top 5 % holds the board's title; the grid fills the rest.
        rect = (pos["x"] / 24, 1 - (pos["y"] + height) / rows * 0.93 - 0.05, pos["w"] / 24,
                height / rows * 0.93)
        ax = figure.add_axes((rect[0] + 0.002, rect[1] + 0.004, rect[2] - 0.004,
                              rect[3] - 0.008))
        if panel.get("type") == "row":
            ax.set_axis_off()
            ax.text(0, 0.5, panel.get("title", ""), color=COLOURS["text"], fontsize=9,
                    weight="bold", va="center")
            continue
        draw(ax, panel, prom, minutes)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{board['uid'].removeprefix('supportpulse-')}.png"
    figure.savefig(path, dpi=80, facecolor=BACKGROUND)
    plt.close(figure)
    return path


# --- the demo stack with a Prometheus ---------------------------------------------------------
def demo_prometheus(seconds: float, draw_all: Any) -> None:
    """The demo's stack plus a Prometheus scraping it; `draw_all(url)` after `seconds`."""
    import asyncio
    import threading

    import yaml

    from stream.demo import demo_start, worker_env
    from stream.embedded import embedded_stack, free_port, wait_for_port
    from stream.kafka_io import all_topics, ensure_topics, publish
    from stream.settings import Settings
    from stream.simulator import generate
    from stream.stopping import child_options, stop_on_signals, stop_process

    prometheus_bin = shutil.which("prometheus")
    if prometheus_bin is None:
        raise SystemExit("prometheus not found (Debian package `prometheus`)")
    workdir = Path(tempfile.mkdtemp(prefix="supportpulse-preview-"))
    with stop_on_signals(), embedded_stack(workdir) as (broker, redis):
        web_port, prom_port = free_port(), free_port()
        env = worker_env(broker.bootstrap, redis.url, workdir, web_port, 60.0, "black-friday")
        settings = Settings(kafka_bootstrap=[broker.bootstrap], partitions=4)  # type: ignore[call-arg]
        asyncio.run(ensure_topics(broker.bootstrap, all_topics(settings), 4))
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "rule_files": [str(p) for p in sorted((HERE.parent / "deploy/prometheus/rules")
                                                  .glob("*.yml"))],
            "scrape_configs": [{"job_name": "supportpulse", "static_configs": [
                {"targets": [f"127.0.0.1:{web_port}"]}]}],
        }))
        worker = prometheus = None
        stop = threading.Event()
        feeder: threading.Thread | None = None
        try:
            with open(workdir / "worker.log", "ab") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "stream.cli", "worker", "--clock", "event"], env=env,
                    stdout=log, stderr=subprocess.STDOUT, **child_options())
            prometheus = subprocess.Popen(
                [prometheus_bin, f"--config.file={config}",
                 f"--storage.tsdb.path={workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **child_options())
            wait_for_port(prom_port, prometheus, 30, "prometheus")
            events = generate("black-friday", 7, demo_start(settings.timezone), 24 * 3600,
                              queues=tuple(settings.queues), timezone=settings.timezone)

            def until_stopped() -> Any:
                for event in events:
                    if stop.is_set():
                        return
                    yield event

            feeder = threading.Thread(
                target=lambda: asyncio.run(publish(settings, until_stopped(), speed=60.0)),
                daemon=True)
            feeder.start()
            print(f"demo traffic for {seconds:g} s (logs in {workdir})", flush=True)
            time.sleep(seconds)
            draw_all(f"http://127.0.0.1:{prom_port}")
        finally:
            stop.set()
            if feeder is not None:
                feeder.join(5)
            stop_process(prometheus)
            stop_process(worker, timeout=15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prometheus", help="base URL of a Prometheus that scrapes workers")
    source.add_argument("--demo", type=float, metavar="SECONDS",
                        help="run the demo stack with a Prometheus this long, then draw")
    parser.add_argument("--rows", type=int, default=24, help="grid rows of the first screen")
    parser.add_argument("--minutes", type=float, default=15, help="time series range")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    def draw_all(prom: str) -> None:
        for board in load_dashboards():
            print(f"wrote {render(board, prom.rstrip('/'), args.out, args.rows, args.minutes)}")

    if args.prometheus:
        draw_all(args.prometheus)
    else:
        try:
            demo_prometheus(args.demo, draw_all)
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
