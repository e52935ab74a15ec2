"""`supportpulse staffing`: required agents for a target service level (CONTRACT §6)."""

from __future__ import annotations

from typing import Annotated

import typer

from stream.cli.output import fail, print_json


def staffing(
    arrivals_per_hour: Annotated[float, typer.Option(help="arrivals per hour")],
    aht_seconds: Annotated[float, typer.Option(help="average handle time, seconds")],
    target_ratio: Annotated[float, typer.Option(help="service-level target, e.g. 0.8")],
    within_seconds: Annotated[float, typer.Option(help="answered within, seconds")],
    concurrency: Annotated[int, typer.Option(help="conversations per agent at once")] = 1,
    patience_seconds: Annotated[
        float | None, typer.Option(help="mean customer patience: Erlang A instead of C")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Required agents, predicted service level and wait (Erlang C, or A with patience)."""
    from stream.domain.staffing import required_agents

    if not arrivals_per_hour >= 0:
        fail(f"--arrivals-per-hour must be >= 0, got {arrivals_per_hour:g}")
    try:
        result = required_agents(
            arrivals_per_hour / 3600.0, aht_seconds, target_ratio, within_seconds,
            concurrency=concurrency, patience_seconds=patience_seconds,
        )
    except ValueError as exc:
        fail(str(exc))
    if json_output:
        print_json(result.to_json_dict())
        return
    model = "Erlang A" if patience_seconds else "Erlang C"
    typer.echo(
        f"{result.required_agents} agents ({model}): offered load "
        f"{result.offered_load_erlangs:.2f} Erlangs, {result.service_level_ratio:.1%} answered "
        f"within {within_seconds:g} s, average wait {result.predicted_wait_seconds:.1f} s, "
        f"occupancy {result.occupancy_ratio:.1%}"
    )
