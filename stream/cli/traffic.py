"""`supportpulse simulate` and `supportpulse produce`: §1 events into Kafka (or a file)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer

from stream.cli.output import fail, load_settings

if TYPE_CHECKING:
    from stream.settings import Settings


def simulate(
    profile: Annotated[str, typer.Option(help="normal | black-friday | christmas")] = "normal",
    seed: Annotated[int, typer.Option()] = 1,
    duration: Annotated[str, typer.Option(help="simulated time, e.g. 2h, 1d")] = "1h",
    speed: Annotated[
        float, typer.Option(help="speed-up when publishing (0 = as fast as possible)")
    ] = 0.0,
    start: Annotated[
        str | None, typer.Option(help="simulated start (RFC 3339); default: now")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write JSON lines here instead of Kafka")] = None,
) -> None:
    """Generate realistic support traffic to Kafka or a file."""
    from stream.domain.durations import parse_duration
    from stream.domain.events import parse_timestamp
    from stream.progress import tracked
    from stream.simulator import PROFILES, generate

    if profile not in PROFILES:
        fail(f"unknown profile {profile!r}; choose one of {', '.join(sorted(PROFILES))}")
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc))
    begin = datetime.now(UTC)
    if start is not None:
        parsed = parse_timestamp(start)
        if parsed is None:
            fail(f"--start {start!r} is not an RFC 3339 timestamp with an offset")
        begin = parsed
    settings = load_settings()
    events = tracked(
        generate(profile, seed, begin, seconds, queues=tuple(settings.queues),
                 timezone=settings.timezone),
        f"simulate {profile}", span=(begin.timestamp(), begin.timestamp() + seconds),
    )
    if out is not None:
        encoder = msgspec.json.Encoder()
        count = 0
        with open(out, "wb") as handle:
            for event in events:
                handle.write(encoder.encode(event) + b"\n")
                count += 1
        typer.echo(f"wrote {count} events to {out}", err=True)
        return
    typer.echo(f"published {publish_all(settings, events, speed or None)} events", err=True)


def produce(file: Annotated[Path, typer.Argument(help="JSON lines, one event per line")]) -> None:
    """Publish events from a file to their topics, keyed per CONTRACT §1."""
    from stream.kafka_io import read_jsonl
    from stream.progress import tracked

    if not file.exists():
        fail(f"{file}: no such file")
    settings = load_settings()
    try:
        events = list(read_jsonl(str(file)))
    except ValueError as exc:
        fail(str(exc))
    published = publish_all(settings, tracked(events, "produce", total=len(events)))
    typer.echo(f"published {published} events", err=True)


def publish_all(
    settings: Settings, events: Iterable[dict[str, Any]], speed: float | None = None
) -> int:
    """Send every event to its topic (paced by occurred_at with `speed`); the count sent.

    Missing topics are created first, with the partition count the worker's are created with.
    """
    from stream.kafka_io import all_topics, ensure_topics, publish
    from stream.security import kafka_client_config

    async def run() -> int:
        await ensure_topics(kafka_client_config(settings), all_topics(settings),
                            settings.partitions)
        return await publish(settings, events, speed=speed)

    return asyncio.run(run())
