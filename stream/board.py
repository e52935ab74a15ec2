"""The live terminal board (`supportpulse demo`, `supportpulse top`), read from /metrics."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from stream.domain.events import CHANNELS

Samples = dict[str, list[tuple[dict[str, str], float]]]


def fetch_samples(urls: str | Sequence[str], token: str | None = None) -> Samples:
    """Samples by metric name, summed over several workers' /metrics (empty if unreachable)."""
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for url in [urls] if isinstance(urls, str) else urls:
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                text = response.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                # Per-partition gauges and counters add up across workers; ages take the max.
                if sample.name.endswith(("_oldest_wait_seconds", "_lag_seconds")):
                    merged[key] = max(merged.get(key, 0.0), sample.value)
                else:
                    merged[key] = merged.get(key, 0.0) + sample.value
    result: Samples = {}
    for (name, labels), value in merged.items():
        result.setdefault(name, []).append((dict(labels), value))
    return result


def value(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v for lbl, v in samples.get(name, []) if all(lbl.get(k) == w for k, w in labels.items())
    )


def peak(samples: Samples, name: str, **labels: str) -> float:
    values = [
        v for lbl, v in samples.get(name, []) if all(lbl.get(k) == w for k, w in labels.items())
    ]
    return max(values, default=0.0)


class Board:
    def __init__(self, url: str | Sequence[str], queues: Sequence[str], live: bool = True) -> None:
        self.url = url
        self.queues = [*queues, "other"]
        self._live: Live | None = None
        if live:
            self._live = Live(console=Console(), auto_refresh=False, screen=False)
            self._live.start()
        self._last_events: tuple[float, float] | None = None

    def event_rate(self, samples: Samples) -> float:
        now, count = time.monotonic(), value(samples, "support_events_total")
        rate = 0.0
        if self._last_events is not None:
            then, before = self._last_events
            if now > then and count >= before:
                rate = (count - before) / (now - then)
        self._last_events = (now, count)
        return rate

    def render(self, samples: Samples) -> None:
        rate = self.event_rate(samples)
        queue = Table(title="Chat queues and staffing", expand=False)
        for column in ("queue", "waiting", "oldest wait", "active", "missed", "agents online",
                       "needed", "gap", "breaches in 30m"):
            queue.add_column(column, justify="right" if column != "queue" else "left")
        for q in self.queues:
            gap = value(samples, "support_staffing_gap_agents", queue=q)
            queue.add_row(
                q,
                f"{value(samples, 'support_chat_queue_waiting', queue=q):.0f}",
                f"{peak(samples, 'support_chat_queue_oldest_wait_seconds', queue=q):.0f} s",
                f"{value(samples, 'support_chats_active', queue=q):.0f}",
                f"{value(samples, 'support_chats_missed_total', queue=q):.0f}",
                f"{value(samples, 'support_agents', queue=q, status='online'):.0f}",
                f"{value(samples, 'support_staffing_required_agents', queue=q):.0f}",
                f"[red]{gap:+.0f}[/]" if gap > 0 else f"{gap:+.0f}",
                f"{value(samples, 'support_sla_breaches_projected', queue=q, horizon='30m'):.0f}",
            )
        tickets = Table(title="Tickets and SLA", expand=False)
        for column in ("channel", "open", "awaiting 1st reply", "at risk", "breached",
                       "this hour", "forecast"):
            tickets.add_column(column, justify="right" if column != "channel" else "left")
        for channel in CHANNELS:
            tickets.add_row(
                channel,
                f"{value(samples, 'support_tickets_open', channel=channel):.0f}",
                f"{value(samples, 'support_tickets_awaiting_first_response', channel=channel):.0f}",
                f"{value(samples, 'support_sla_at_risk', channel=channel):.0f}",
                f"{value(samples, 'support_sla_breached_open', channel=channel):.0f}",
                f"{value(samples, 'support_volume_actual', channel=channel):.0f}",
                f"{value(samples, 'support_volume_forecast', channel=channel):.0f}",
            )
        footer = Table.grid(padding=(0, 2))
        footer.add_row(
            f"events/s {rate:,.0f}",
            f"rejected {value(samples, 'support_events_rejected_total'):.0f}",
            f"partitions {value(samples, 'support_partitions_owned'):.0f}",
            f"metrics {self.url}",
        )
        if self._live is not None:
            self._live.update(Group(queue, tickets, footer), refresh=True)

    def summary_line(self, samples: Samples) -> str:
        rate = self.event_rate(samples)
        return (
            f"queue={value(samples, 'support_chat_queue_waiting'):.0f} "
            f"oldest_wait={peak(samples, 'support_chat_queue_oldest_wait_seconds'):.0f}s "
            f"active_chats={value(samples, 'support_chats_active'):.0f} "
            f"open_tickets={value(samples, 'support_tickets_open'):.0f} "
            f"events={value(samples, 'support_events_total'):.0f} rate={rate:.0f}/s"
        )

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
