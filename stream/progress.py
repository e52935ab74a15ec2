"""Progress of the long-running CLI commands (`produce`, `simulate`) on a terminal.

Shown on stderr only when stderr is a terminal: events so far, events per second and the time
left. Piped or redirected (scripts, CI logs) the commands stay quiet but for their last line.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

T = TypeVar("T")
EVERY = 500  # events between updates: rich's update costs microseconds, events are cheaper


def tracked(
    events: Iterable[T],
    what: str,
    total: int | None = None,
    span: tuple[float, float] | None = None,
    stream: TextIO | None = None,
    unit: str = "events",
) -> Iterator[T]:
    """`events`, passed through, with progress on `stream` (stderr) when it is a terminal.

    Progress is measured in events against `total`, or, for a generator whose count is not
    known beforehand, in event time against `span` (first and last `occurred_at`, epoch
    seconds): the simulator knows how much simulated time it covers, not how many events.
    With neither, only the count and the rate are shown.
    """
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield from events
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn(f"{{task.fields[events]:,}} {unit} · {{task.fields[rate]:,.0f}}/s · ETA"),
        TimeRemainingColumn(),
    )
    units = total if span is None else span[1] - span[0]
    with Progress(*columns, console=Console(file=out), transient=False) as progress:
        task = progress.add_task(what, total=units, events=0, rate=0.0)
        began = time.monotonic()
        count = 0
        for event in events:
            yield event
            count += 1
            if count % EVERY == 0:
                _update(progress, task, count, began, event, span)
        progress.update(task, completed=units, events=count,
                        rate=count / max(time.monotonic() - began, 1e-9))


def _update(progress: Progress, task: Any, count: int, began: float, event: object,
            span: tuple[float, float] | None) -> None:
    rate = count / max(time.monotonic() - began, 1e-9)
    done: float = count
    if span is not None and isinstance(event, dict):
        done = _event_time(event, span[0]) - span[0]
    progress.update(task, completed=done, events=count, rate=rate)


def _event_time(event: dict[str, Any], default: float) -> float:
    from stream.domain.events import parse_timestamp

    at = parse_timestamp(str(event.get("occurred_at", "")))
    return at.timestamp() if at is not None else default
