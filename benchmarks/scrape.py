"""The scrape row: the cost of `GET /metrics` with every bounded label value in use.

Scrape: after (d)'s profiled worker consumed the log, a coverage set (every channel × priority ×
queue + an unknown queue, every author/resolver/score/currency, chats and agents per queue) is
produced so every bounded label combination is in use; then 30 sequential GET /metrics, timed
end to end by the client; series = sample lines. Without the profiled run (`--no-profile`) a
fresh worker consumes the log first.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from benchmarks.harness import (
    HTTP_TIMEOUT,
    Bench,
    BenchDeployment,
    events_applied,
    follow,
    log,
    percentile,
)
from benchmarks.workload import SIM_DAYS, SIM_START
from tests.deployment import Child


def run(bench: Bench, bf: BenchDeployment) -> None:
    proc: Child | None = bench.scrape_worker
    if proc is None or not proc.alive():
        proc = bf.bench_worker("scrape").start(wait_ready=False)
        follow(proc, events_applied, bf.count)
    cover = coverage_events(SIM_START + timedelta(days=SIM_DAYS), bf.settings().queues)
    bf.produce_timed(cover)
    follow(proc, events_applied, bf.count, timeout=120, stall=20)
    timings = []
    body = b""
    for _ in range(30):
        started = time.perf_counter()
        status, body = proc.http("/metrics", timeout=HTTP_TIMEOUT)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        time.sleep(0.1)
    lines = [ln for ln in body.decode().splitlines() if ln and not ln.startswith("#")]
    families: Counter[str] = Counter(
        re.sub(r"(_bucket|_count|_sum)$", "", ln.split("{")[0].split(" ")[0]) for ln in lines
    )
    bench.results["scrape"] = {
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 95), 2), "max_ms": round(max(timings), 2),
        "series": len(lines), "bytes": len(body), "coverage_events": len(cover),
        "largest_families": dict(families.most_common(6)),
    }
    proc.stop()
    log(f"scrape: {bench.results['scrape']}")


def coverage_events(at: datetime, queues: list[str]) -> list[dict[str, Any]]:
    """Events that put every bounded label value in use (channel, priority, queue, …)."""
    channels = ("email", "chat", "phone", "social", "web_form")
    priorities = ("low", "normal", "high", "urgent")
    resolvers = ("agent", "bot", "self_service")
    events: list[dict[str, Any]] = []
    n = 0

    def ev(kind: str, seconds: float, **fields: Any) -> None:
        nonlocal n
        n += 1
        stamp = (at + timedelta(seconds=seconds)).isoformat()
        events.append({"type": kind, "event_id": f"cov-{n}", "occurred_at": stamp, **fields})

    for q in [*queues, "elsewhere"]:
        for c in channels:
            for p in priorities:
                t = f"cov-{q}-{c}-{p}"
                ev("ticket.created", 0, ticket_id=t, channel=c, priority=p, queue=q,
                   request_type="order_status", customer_id=f"cov-cust-{n}")
                ev("ticket.replied", 60, ticket_id=t, author="customer", public=True)
                ev("ticket.replied", 120, ticket_id=t, author="agent", agent_id="cov-agent",
                   public=True, template_id="tpl" if n % 2 else None)
                ev("ticket.replied", 130, ticket_id=t, author="bot", public=True)
                ev("ticket.status_changed", 300, ticket_id=t, status="solved",
                   resolved_by=resolvers[n % 3])
                ev("ticket.rated", 400, ticket_id=t, score=1 + n % 5)
                ev("ticket.effort_rated", 410, ticket_id=t, score=1 + (n // 2) % 5)
                # a second, still-open ticket per combination keeps the gauges non-zero
                ev("ticket.created", 0, ticket_id=t + "-open", channel=c, priority=p, queue=q)
        for i in range(5):
            chat = f"cov-chat-{q}-{i}"
            ev("chat.requested", 0, chat_id=chat, queue=q, customer_id=f"cov-cust-{i}",
               campaign_id="cmp-cov" if i == 0 else None)
            if i == 4:
                ev("chat.abandoned", 30, chat_id=chat)
                continue
            ev("chat.accepted", 10 + i * 10, chat_id=chat, agent_id=f"cov-agent-{q}")
            for author in ("agent", "customer", "bot"):
                ev("chat.message", 60, chat_id=chat, author=author, template_id="t1")
            if i < 3:
                ev("chat.ended", 200, chat_id=chat, resolved_by="agent" if i else "bot")
                ev("chat.rated", 260, chat_id=chat, score=1 + i)
        for status in ("online", "away", "offline"):
            ev("agent.status_changed", 5, agent_id=f"cov-agent-{q}-{status}", status=status,
               queues=[q], max_chats=2)
    for cur in ("EUR", "USD", "CZK", "GBP"):
        ev("order.placed", 500, order_id=f"cov-o-{cur}", customer_id="cov-cust-1",
           amount="10.00", currency=cur)
    for resolved in (True, False):
        ev("selfservice.session", 500, session_id=f"cov-s-{resolved}", resolved=resolved)
    ev("campaign.shown", 500, campaign_id="cmp-cov", customer_id="cov-cust-2")
    for event in events:
        for key in [k for k, v in event.items() if v is None]:
            del event[key]
    return events
