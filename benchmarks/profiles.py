"""py-spy profiles of a benchmark's process: record, summarise, write `results/profile-*.txt`.

`Profiler` attaches `py-spy record --rate 100 --format raw` to a pid and is stopped with
SIGINT (py-spy then writes). `summarize_profile` says where the samples went: threads (the faust
consumer thread or main), self time by package (epoll wait shown as idle), packages anywhere on
the stack, inclusive time of our own (`stream/*`) functions and of the heaviest frames, with
the CLI/runner/asyncio plumbing every stack shares left out. py-spy is not a project
dependency: without it the profile runs are skipped.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness import PY, ROOT
from stream.stopping import child_options


class Profiler:
    """`py-spy record --format raw` attached to a pid; stopped with SIGINT (it then writes)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [pyspy(), "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
             "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **child_options(),
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return (self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else "")


def pyspy() -> str:
    found = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    return found


def have_pyspy() -> bool:
    return Path(pyspy()).exists()


PLUMBING = re.compile(
    r"\((typer/|click/|stdlib/runpy|<frozen runpy>|stream/cli/|stream/runner\.py|mode/worker|"
    r"stdlib/threading|threading\.py|mode/threads|stdlib/asyncio/base_events|asyncio/base_events|"
    r"stdlib/asyncio/events|asyncio/events)"
)


EVERYWHERE = {"stdlib", "asyncio", "mode", "<frozen runpy>", "typer", "threading", "stream"}


def summarize_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Where the samples went: threads, packages (self and anywhere on the stack), functions."""
    frame = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n_text = line.rpartition(" ")
        if not n_text.isdigit():
            continue
        n = int(n_text)
        names = []
        for raw in stack.split(";"):
            match = frame.match(raw)
            if not match:
                continue
            file = match["file"]
            file = re.sub(r".*/site-packages/", "", file)
            file = re.sub(r".*/lib/python3\.\d+/", "stdlib/", file)
            file = file.replace(str(ROOT) + "/", "")
            names.append(f"{match['func']} ({file})")
        if not names:
            continue
        total += n
        thread = "faust consumer thread" if any("mode/threads" in x for x in names) else "main"
        threads[thread] += n
        leaf = package_of(names[-1])
        own["epoll wait (idle)" if leaf in ("selectors", "stdlib.selectors") else leaf] += n
        for pkg in {package_of(x).split(".")[0] for x in names}:
            anywhere[pkg] += n
        for name in set(names):
            if not PLUMBING.search(name):
                incl[name] += n

    def pct(x: int) -> float:
        return round(100.0 * x / total, 1) if total else 0.0

    ours = sorted(((k, v) for k, v in incl.items() if "(stream/" in k), key=lambda kv: -kv[1])
    return {
        "samples": total,
        "threads_pct": {k: pct(v) for k, v in threads.most_common()},
        "self_by_package_pct": {k: pct(v) for k, v in own.most_common(20) if pct(v) >= 0.5},
        "anywhere_on_stack_pct": {
            k: pct(v) for k, v in anywhere.most_common(30)
            if pct(v) >= 1.0 and k not in EVERYWHERE
        },
        "inclusive_stream_pct": {k: pct(v) for k, v in ours[:top] if pct(v) >= 1.0},
        "inclusive_top_pct": {
            k: pct(v) for k, v in incl.most_common(top) if pct(v) >= 2.0
        },
    }


def package_of(name: str) -> str:
    file = name[name.rfind("(") + 1:-1]
    if file.startswith("stream/"):
        return file.removesuffix(".py").replace("/", ".")
    if file.startswith("stdlib/"):
        return "stdlib." + file.split("/")[1].removesuffix(".py")
    return file.split("/")[0].removesuffix(".py")


def write_profile(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = summary.get("samples", 0)
    lines = [f"py-spy record --rate 100 (idle threads excluded), {samples} samples;"
             " percentages of all samples", ""]
    for title, key in (("samples by thread (%)", "threads_pct"),
                       ("self time by package (%)", "self_by_package_pct"),
                       ("package anywhere on the stack (%)", "anywhere_on_stack_pct"),
                       ("inclusive time, stream/* functions (%)", "inclusive_stream_pct"),
                       ("inclusive time, heaviest frames (%)", "inclusive_top_pct")):
        lines.append(title)
        for name, value in list(summary.get(key, {}).items())[:30]:
            lines.append(f"  {value:6.1f}  {name}")
        lines.append("")
    path.write_text("\n".join(lines))
