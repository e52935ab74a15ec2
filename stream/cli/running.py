"""`supportpulse worker` and `supportpulse demo`: the commands that run the pipeline.

What they start is imported inside each command: faust and the embedded servers take seconds
to import, which every other command would pay.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stream.cli.output import fail, load_settings


def worker(
    clock: Annotated[
        str, typer.Option(help="wall | event | fixed:TIMESTAMP (what 'now' means for ages)")
    ] = "wall",
) -> None:
    """Run a stream worker."""
    from stream.domain.clock import parse_clock
    from stream.domain.sla_policy import PolicyFileError
    from stream.rollups import ForecastFileError
    from stream.runner import run_worker

    settings = load_settings()
    try:
        parsed = parse_clock(clock)
    except ValueError as exc:
        fail(str(exc))
    try:
        run_worker(settings, parsed)
    except (PolicyFileError, ForecastFileError) as exc:
        fail(str(exc), code=1)  # the exit code of check-config for the same file


def demo(
    speed: Annotated[float, typer.Option(help="simulated seconds per wall second")] = 60.0,
    profile: Annotated[str, typer.Option(help="traffic profile")] = "black-friday",
    seed: Annotated[int, typer.Option()] = 7,
    duration: Annotated[str, typer.Option(help="simulated time to run, e.g. 24h")] = "24h",
    board: Annotated[bool, typer.Option(help="show the live terminal board")] = True,
    exit_after: Annotated[
        float | None, typer.Option(help="stop by itself after this many wall seconds")
    ] = None,
) -> None:
    """Embedded broker + Redis + worker + a simulated holiday peak, with a live board."""
    from stream.demo import run_demo
    from stream.domain.durations import parse_duration

    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc))
    run_demo(speed=speed, profile=profile, seed=seed, duration_seconds=seconds, board=board,
             exit_after=exit_after)
