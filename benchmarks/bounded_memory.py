"""Table and Redis memory when many conversations open and close (issue 4/7: bounded state).

Opens and closes N conversations (half tickets created → replied → solved, half chats
requested → accepted → ended; customers from a pool of 5,000) through a real worker with a
one-hour state retention, event time advancing one second per conversation, then prints table
keys (`support_table_keys`) and Redis memory (INFO used_memory, DBSIZE) at the peak and at the
end.

    python benchmarks/bounded_memory.py [--conversations 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from stream.embedded import embedded_stack, free_port
from stream.kafka_io import publish
from stream.settings import Settings
from stream.stopping import child_options, stop_on_signals, stop_process

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
TICKET_KEYS = 'support_table_keys{table="tickets"}'
CHAT_KEYS = 'support_table_keys{table="chats"}'


def events(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)

        def ts(seconds: float, at: datetime = at) -> str:
            return (at + timedelta(seconds=seconds)).isoformat()

        customer = f"cust-{i % 5000}"
        if i % 2:
            out += [
                {"type": "ticket.created", "event_id": f"a{i}", "occurred_at": ts(0),
                 "ticket_id": f"T{i}", "channel": "email", "priority": "normal",
                 "queue": "orders", "customer_id": customer},
                {"type": "ticket.replied", "event_id": f"b{i}", "occurred_at": ts(20),
                 "ticket_id": f"T{i}", "author": "agent", "agent_id": f"agent-{i % 40}"},
                {"type": "ticket.status_changed", "event_id": f"c{i}", "occurred_at": ts(30),
                 "ticket_id": f"T{i}", "status": "solved"},
            ]
        else:
            out += [
                {"type": "chat.requested", "event_id": f"a{i}", "occurred_at": ts(0),
                 "chat_id": f"C{i}", "queue": "returns", "customer_id": customer},
                {"type": "chat.accepted", "event_id": f"b{i}", "occurred_at": ts(10),
                 "chat_id": f"C{i}", "agent_id": f"agent-{i % 40}"},
                {"type": "chat.ended", "event_id": f"c{i}", "occurred_at": ts(200),
                 "chat_id": f"C{i}"},
            ]
    out.sort(key=lambda e: e["occurred_at"])
    return out


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("support_table_keys{", "support_events_total{")):
            name, value = line.rsplit(" ", 1)
            key = name.split("{")[0] + ("" if "events" in name else name[name.index("{"):])
            values[key] = values.get(key, 0.0) + float(value)
    return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    stream = events(args.conversations)
    workdir = Path(tempfile.mkdtemp(prefix="bounded-"))
    with stop_on_signals(), embedded_stack(workdir) as (broker, redis_server):
        client = redis.Redis.from_url(redis_server.url)
        baseline = client.info("memory")["used_memory"]
        port = free_port()
        env = {**os.environ, "SUPPORTPULSE_KAFKA_BOOTSTRAP": broker.bootstrap,
               "SUPPORTPULSE_REDIS_URL": redis_server.url, "SUPPORTPULSE_WEB_PORT": str(port),
               "SUPPORTPULSE_APP_ID": "bounded", "SUPPORTPULSE_PARTITIONS": "4",
               "SUPPORTPULSE_STATE_RETENTION_SECONDS": "3600",
               "SUPPORTPULSE_DATA_DIR": str(workdir / "data"), "SUPPORTPULSE_LOG_LEVEL": "warn"}
        worker = subprocess.Popen([sys.executable, "-m", "stream.cli", "worker", "--clock",
                                   "event"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, **child_options())
        try:
            settings = Settings(kafka_bootstrap=[broker.bootstrap], partitions=4,
                                app_id="bounded")  # type: ignore[call-arg]
            time.sleep(8)
            print(f"{'point':<10} {'events':>9} {'ticket keys':>12} {'chat keys':>10} "
                  f"{'redis MiB':>10} {'redis keys':>11}")
            half = len(stream) // 2
            peak_keys = 0.0
            for label, chunk in (("half", stream[:half]), ("end", stream[half:])):
                asyncio.run(publish(settings, chunk))
                target = half if label == "half" else len(stream)
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    values = scrape(port)
                    keys = values.get(TICKET_KEYS, 0) + values.get(CHAT_KEYS, 0)
                    peak_keys = max(peak_keys, keys)
                    if values.get("support_events_total", 0) >= target:
                        break
                    time.sleep(1)
                memory = (client.info("memory")["used_memory"] - baseline) / 2**20
                tickets = values.get(TICKET_KEYS, 0)
                chats = values.get(CHAT_KEYS, 0)
                done = values.get("support_events_total", 0)
                print(f"{label:<10} {done:>9.0f} {tickets:>12.0f} {chats:>10.0f} "
                      f"{memory:>10.2f} {client.dbsize():>11}")
            print(f"peak conversation keys seen: {peak_keys:.0f}")
        finally:
            stop_process(worker, timeout=15)


if __name__ == "__main__":
    main()
