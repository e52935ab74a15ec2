"""The webhook gateway on the real broker: requests per second, and latency at 200 requests/s.

One embedded tansu broker on a free loopback port and one `supportpulse gateway` process (acks
=all, the shipped defaults), both stopped at the end (also on Ctrl-C, SIGTERM, a closed
terminal). The load generator runs in this process: aiohttp clients posting signed Chatwoot
`message_created` webhooks (a customer message, one §1 event each; message ids differ, so every
request is new work), the signature computed per request as Chatwoot does.

- throughput: `--clients` concurrent connections posting back to back for `--seconds`;
  requests/s = 202 answers ÷ wall time (every answer waits for the broker's acknowledgement).
- latency: open loop, one request every 1/`--rate` s for `--seconds` (sent on schedule whether
  or not earlier ones are answered), client-side time from send to answer; p50/p90/p99/max.

    python benchmarks/gateway.py [--seconds 20] [--clients 16] [--rate 200] [--json]

Targets (issue 13): ≥ 1,000 requests/s per process; p99 ≤ 50 ms at 200 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stream.embedded import Broker, free_port  # noqa: E402
from stream.kafka_io import all_topics, ensure_topics  # noqa: E402
from stream.settings import Settings  # noqa: E402
from stream.stopping import child_options, stop_on_signals, stop_process  # noqa: E402

SECRET = b"benchmark-secret"
FIXTURE = ROOT / "tests/unit/gateway/fixtures/chatwoot/message_created_incoming.json"


def bodies() -> Any:
    """Distinct customer messages of one conversation per request."""
    template = json.loads(FIXTURE.read_text())
    n = 0
    while True:
        n += 1
        yield json.dumps({**template, "id": 10_000_000 + n,
                          "conversation": {**template["conversation"], "id": 1000 + n % 500}}
                         ).encode()


def signed(raw: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Signature": f"sha256={digest}", "X-Chatwoot-Timestamp": stamp,
            "Content-Type": "application/json"}


def count(codes: dict[Any, int], status: int, answer: bytes) -> None:
    """Answers by status; a 202 that dead-lettered the body is counted apart (not a success)."""
    key: Any = "202 dead-lettered" if b"dead_letter" in answer else status
    codes[key] = codes.get(key, 0) + 1


async def throughput(url: str, clients: int, seconds: float) -> dict[str, Any]:
    stream = bodies()
    codes: dict[Any, int] = {}
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            raw = next(stream)
            async with session.post(url, data=raw, headers=signed(raw)) as response:
                count(codes, response.status, await response.read())

    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    wall = time.perf_counter() - began
    return {"clients": clients, "seconds": round(wall, 2), "codes": codes,
            "requests_per_s": round(codes.get(202, 0) / wall, 1)}


async def latency(url: str, rate: float, seconds: float) -> dict[str, Any]:
    stream = bodies()
    times: list[float] = []
    codes: dict[Any, int] = {}

    async def one(session: aiohttp.ClientSession) -> None:
        raw = next(stream)
        headers = signed(raw)
        sent = time.perf_counter()
        async with session.post(url, data=raw, headers=headers) as response:
            answer = await response.read()
            times.append(time.perf_counter() - sent)
            count(codes, response.status, answer)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session)))
        await asyncio.gather(*tasks)
    times.sort()
    cut = statistics.quantiles(times, n=100)
    return {"rate": rate, "requests": len(times), "codes": codes,
            "p50_ms": round(cut[49] * 1000, 1), "p90_ms": round(cut[89] * 1000, 1),
            "p99_ms": round(cut[98] * 1000, 1), "max_ms": round(times[-1] * 1000, 1)}


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the gateway exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the gateway did not get ready")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="supportpulse-gateway-bench-"))
    broker = Broker(log_path=workdir / "tansu.log")
    gateway: subprocess.Popen[bytes] | None = None
    try:
        with stop_on_signals():
            try:
                broker.start()
                port = free_port()
                env = {**os.environ, "SUPPORTPULSE_KAFKA_BOOTSTRAP": broker.bootstrap,
                       "SUPPORTPULSE_GATEWAY_PORT": str(port),
                       "SUPPORTPULSE_CHATWOOT_SECRET": SECRET.decode(),
                       "SUPPORTPULSE_LOG_LEVEL": "warn"}
                settings = Settings(kafka_bootstrap=[broker.bootstrap])  # type: ignore[call-arg]
                asyncio.run(ensure_topics(broker.bootstrap, all_topics(settings), 8))
                with open(workdir / "gateway.log", "ab") as log:
                    gateway = subprocess.Popen(
                        [sys.executable, "-m", "stream.cli", "gateway"], env=env, stdout=log,
                        stderr=subprocess.STDOUT, **child_options())
                wait_ready(port, gateway)
                url = f"http://127.0.0.1:{port}/webhooks/chatwoot"
                asyncio.run(throughput(url, 4, 2.0))  # warm-up: metadata, connections
                cpu = cpu_seconds(gateway.pid)
                flat_out = asyncio.run(throughput(url, args.clients, args.seconds))
                flat_out["gateway_cpu_cores"] = round(
                    (cpu_seconds(gateway.pid) - cpu) / flat_out["seconds"], 2)
                paced = asyncio.run(latency(url, args.rate, args.seconds))
            finally:
                stop_process(gateway, timeout=10)
                broker.stop()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    result = {"throughput": flat_out, "latency": paced, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"gateway on tansu, {os.cpu_count()} cores, Chatwoot message_created, acks=all\n")
    print(f"{'measure':<34} {'value':>10}  target")
    print(f"{'requests/s (' + str(args.clients) + ' clients)':<34} "
          f"{flat_out['requests_per_s']:>10,.0f}  ≥ 1,000")
    print(f"{'gateway CPU (cores) at that rate':<34} {flat_out['gateway_cpu_cores']:>10}")
    for q in ("p50", "p90", "p99", "max"):
        print(f"{q + ' latency at ' + format(args.rate, 'g') + '/s (ms)':<34} "
              f"{paced[q + '_ms']:>10}  {'≤ 50' if q == 'p99' else ''}")
    print(f"\nanswers: throughput {flat_out['codes']}, latency {paced['codes']}")


if __name__ == "__main__":
    main()
