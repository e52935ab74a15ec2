"""The rows measured by a standalone script in a subprocess: SLA sweep, memory, gateway.

Each script is also usable alone (`--json` prints one result line) and starts from a fresh
interpreter, so one size's heap does not carry into the next.

SLA sweep: `benchmarks/sla_sweep.py` per size in a subprocess (pure domain: `pop_due` +
`evaluate` of the keys due in one tick, 100 due per tick, N open tickets not yet due). It does
not include the sweep's Kafka send of each due key.

Memory: `benchmarks/domain_memory.py` in a subprocess: RSS delta of one PartitionState holding
N open TicketStates (with SLA tracks and the deadline heap) ÷ N; tracemalloc breakdown at a
smaller N; the changelog record size (msgpack value + key). Recovery (`recovery.py`) also
reports the worker process's RSS growth per ticket.

Gateway: `benchmarks/gateway.py` with its own broker and gateway process (its docstring has the
method): requests/s of signed Chatwoot webhooks, and latency at 200 requests/s.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from benchmarks.harness import HERE, PY, ROOT, Bench, checkout_env, log


def script(name: str, *argv: str) -> Any:
    """The last stdout line of `benchmarks/<name> … --json`, decoded."""
    res = subprocess.run(
        [PY, str(HERE / name), *argv, "--json"],
        cwd=ROOT, env={**os.environ, **checkout_env()}, capture_output=True, text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def sweep(bench: Bench) -> None:
    rows = []
    for n in bench.sizes["sweep"]:
        rows.append(script("sla_sweep.py", "--sizes", str(n)))
        log(f"sweep: {rows[-1]}")
    bench.results["sweep"] = rows


def memory(bench: Bench) -> None:
    out: dict[str, Any] = {}
    for key, argv in (
        ("rss", ["--tickets", str(bench.sizes["memory"])]),
        ("tracemalloc", ["--tickets", str(bench.sizes["tracemalloc"]), "--tracemalloc"]),
    ):
        out[key] = script("domain_memory.py", *argv)
        log(f"memory {key}: {out[key]}")
    bench.results["memory"] = out


def gateway(bench: Bench) -> None:
    # Its own broker and gateway process (benchmarks/gateway.py), like the sweep's runs.
    seconds = str(bench.sizes["gateway_seconds"])
    bench.results["gateway"] = script("gateway.py", "--seconds", seconds, "--rate", "200")
    log(f"gateway: {bench.results['gateway']}")
