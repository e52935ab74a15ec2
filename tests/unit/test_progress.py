"""Progress of produce/simulate: on a terminal events, rate and ETA; piped, nothing."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stream.progress import tracked

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def events(n: int) -> list[dict[str, str]]:
    return [{"type": "chat.requested", "event_id": f"e{i}", "chat_id": f"c{i}",
             "occurred_at": (T0 + timedelta(seconds=i)).isoformat()} for i in range(n)]


def test_piped_it_passes_the_events_through_and_prints_nothing() -> None:
    out = io.StringIO()
    assert list(tracked(events(1200), "produce", total=1200, stream=out)) == events(1200)
    assert out.getvalue() == ""


def test_on_a_terminal_it_shows_events_rate_and_eta() -> None:
    out = Terminal()
    assert list(tracked(events(1200), "produce", total=1200, stream=out)) == events(1200)
    shown = out.getvalue()
    assert "produce" in shown and "1,200 events" in shown and "/s" in shown and "ETA" in shown
    assert "100%" in shown


def test_without_a_total_it_shows_the_count_and_rate_of_its_unit() -> None:
    out = Terminal()
    list(tracked(iter(range(1000)), "translate chatwoot", stream=out, unit="bodies"))
    assert "1,000 bodies" in out.getvalue() and "/s" in out.getvalue()


def test_a_span_measures_progress_in_event_time() -> None:
    out = Terminal()
    span = (T0.timestamp(), (T0 + timedelta(seconds=4000)).timestamp())
    list(tracked(events(1000), "simulate", span=span, stream=out))
    assert "1,000 events" in out.getvalue()


def simulate(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "stream.cli", "simulate", "--duration", "30m",
            "--start", T0.isoformat(), "--out", str(tmp_path / "events.jsonl")]


def test_simulate_piped_prints_only_its_result(tmp_path: Path) -> None:
    done = subprocess.run(simulate(tmp_path), capture_output=True, text=True, timeout=60,
                          check=True)
    count = sum(1 for _ in (tmp_path / "events.jsonl").open())
    assert done.stderr == f"wrote {count} events to {tmp_path / 'events.jsonl'}\n"


def test_simulate_on_a_terminal_shows_progress(tmp_path: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, simulate(tmp_path))
    shown = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(fd)
    assert os.waitpid(pid, 0)[1] == 0
    assert b"events" in shown and b"/s" in shown and b"ETA" in shown, shown
