"""`supportpulse` command line (CONTRACT §6).

`--json` output goes to stdout as one JSON document; errors go to stderr with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import msgspec
import typer
from pydantic import ValidationError

from stream.settings import Settings

app = typer.Typer(
    name="supportpulse",
    help="Real-time monitor for e-commerce customer support.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            lines.append(f"  SUPPORTPULSE_{where.upper()}: {error['msg']}")
        fail("invalid settings:\n" + "\n".join(lines))


def print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


@app.command()
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


@app.command()
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


@app.command()
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
    from stream.kafka_io import all_topics, ensure_topics, publish
    from stream.security import kafka_client_config

    async def run() -> int:
        await ensure_topics(kafka_client_config(settings), all_topics(settings),
                            settings.partitions)
        return await publish(settings, events, speed=speed or None)

    typer.echo(f"published {asyncio.run(run())} events", err=True)


@app.command()
def produce(file: Annotated[Path, typer.Argument(help="JSON lines, one event per line")]) -> None:
    """Publish events from a file to their topics, keyed per CONTRACT §1."""
    from stream.kafka_io import all_topics, ensure_topics, publish, read_jsonl
    from stream.progress import tracked
    from stream.security import kafka_client_config

    if not file.exists():
        fail(f"{file}: no such file")
    settings = load_settings()
    try:
        events = list(read_jsonl(str(file)))
    except ValueError as exc:
        fail(str(exc))

    async def run() -> int:
        await ensure_topics(kafka_client_config(settings), all_topics(settings),
                            settings.partitions)
        return await publish(settings, tracked(events, "produce", total=len(events)))

    typer.echo(f"published {asyncio.run(run())} events", err=True)


sla_app = typer.Typer(help="SLA policy tools.", no_args_is_help=True)
app.add_typer(sla_app, name="sla")


def policy_in_force(path: Path | None) -> tuple[str, str]:
    """(name, text) of `path`, else of the policy the settings put in force."""
    from stream import shipped

    if path is not None:
        if not path.is_file():
            fail(f"{path}: no such file")
        return str(path), path.read_text(encoding="utf-8")
    found = shipped.source(load_settings().sla_policy_file, shipped.POLICY)
    if found is None:
        fail("SUPPORTPULSE_SLA_POLICY_FILE is none: no SLA policy in force (--policy FILE)")
    return found.name, found.text


@sla_app.command("show")
def sla_show() -> None:
    """Print the SLA policy in force (by default the shipped one): a start for your own."""
    name, text = policy_in_force(None)
    typer.echo(f"# in force: {name}", err=True)
    typer.echo(text, nl=False)


@sla_app.command("deadline")
def sla_deadline(
    channel: Annotated[str, typer.Option()],
    priority: Annotated[str, typer.Option()],
    created: Annotated[str, typer.Option(help="creation time, RFC 3339 with offset")],
    policy: Annotated[
        Path | None, typer.Option(help="SLA policy file (CONTRACT §3); default: the one in force")
    ] = None,
    queue: Annotated[str | None, typer.Option()] = None,
    request_type: Annotated[str | None, typer.Option()] = None,
    conversation: Annotated[
        str | None,
        typer.Option(help="ticket or chat (default: chat for --channel chat, else ticket; "
                          "a chat converted into a ticket is a ticket of channel chat)"),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The policy chosen and each target's deadline, as if the clock ran without pauses."""
    from stream.domain.events import CHANNELS, PRIORITIES, parse_timestamp
    from stream.domain.sla_clock import deadlines_for
    from stream.domain.sla_policy import (
        CONVERSATIONS,
        NoPolicyError,
        PolicyFileError,
        parse_policy_text,
    )

    if channel not in CHANNELS:
        fail(f"--channel must be one of {', '.join(CHANNELS)}")
    if priority not in PRIORITIES:
        fail(f"--priority must be one of {', '.join(PRIORITIES)}")
    if conversation is not None and conversation not in CONVERSATIONS:
        fail(f"--conversation must be one of {', '.join(CONVERSATIONS)}")
    at = parse_timestamp(created)
    if at is None:
        fail(f"--created {created!r} is not an RFC 3339 timestamp with an offset")
    try:
        book = parse_policy_text(*reversed(policy_in_force(policy)))
        chosen, deadlines = deadlines_for(
            book, channel, priority, queue, request_type, at, conversation
        )
    except PolicyFileError as exc:
        fail("\n".join(str(e) for e in exc.errors))
    except NoPolicyError as exc:
        fail(str(exc))
    stamps = {t: d.isoformat().replace("+00:00", "Z") for t, d in deadlines.items()}
    if json_output:
        print_json({"policy": chosen.name, "calendar": chosen.calendar.name, "deadlines": stamps})
        return
    typer.echo(f"policy {chosen.name} (calendar {chosen.calendar.name})")
    for target, stamp in stamps.items():
        typer.echo(f"  {target:<15} {stamp}")


def worker_urls(urls: list[str] | None, settings: Settings, path: str) -> list[str]:
    bases = urls or [f"http://{settings.web_host}:{settings.web_port}"]
    return [base.rstrip("/") + path for base in bases]


def fetch_json(url: str, token: str | None) -> Any:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return msgspec.json.decode(response.read())
    except urllib.error.HTTPError as exc:
        fail(f"{url}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:200]}")
    except (urllib.error.URLError, OSError) as exc:
        fail(f"{url}: {exc}")


def fetch_from_worker(urls: list[str] | None, path: str) -> Any:
    """GET `path` as JSON from the first worker (the configured one by default), with the token."""
    settings = load_settings()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return fetch_json(worker_urls(urls, settings, path)[0], token)


@app.command("at-risk")
def at_risk(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    url: Annotated[
        list[str] | None, typer.Option(help="worker base URL (default: the configured web port)")
    ] = None,
) -> None:
    """The at-risk and breached conversations, soonest deadline first."""
    items = fetch_from_worker(url, f"/sla/at-risk?limit={limit}")
    if json_output:
        print_json(items)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"SLA at risk / breached ({len(items)})")
    for column in ("conversation", "target", "status", "deadline", "left", "policy", "queue"):
        table.add_column(column)
    for item in items:
        left = item.get("seconds_left", 0.0)
        style = "red" if item["status"] == "breached" else "yellow"
        table.add_row(
            item["conversation_id"], item["target"], f"[{style}]{item['status']}[/]",
            item["deadline"], f"{left:,.0f} s", item["policy"], item["queue"],
        )
    Console().print(table)


@app.command()
def agents(
    json_output: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    url: Annotated[
        list[str] | None, typer.Option(help="worker base URL (default: the configured web port)")
    ] = None,
) -> None:
    """Today's per-agent scorecard: replies, solved, median first response, CSAT."""
    cards = fetch_from_worker(url, "/agents")
    if json_output:
        print_json(cards)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Agents today ({len(cards)})")
    for column in ("agent", "replies", "solved", "median first response", "CSAT"):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for card in cards:
        median = card["median_first_response_seconds"]
        csat = card["csat_ratio"]
        table.add_row(
            card["agent_id"], str(card["replies"]), str(card["solved"]),
            "—" if median is None else f"{median:,.0f} s",
            "—" if csat is None else f"{csat:.0%} of {card['csat_responses']}",
        )
    Console().print(table)


@app.command()
def top(
    url: Annotated[
        list[str] | None, typer.Option(help="worker base URLs (repeat for several workers)")
    ] = None,
    interval: Annotated[float, typer.Option(min=0.2)] = 1.0,
) -> None:
    """Live terminal board from one or more workers' /metrics."""
    import time

    from stream.board import Board, fetch_samples

    settings = load_settings()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    urls = worker_urls(url, settings, "/metrics")
    board = Board(urls if len(urls) > 1 else urls[0], settings.queues)
    try:
        while True:
            board.render(fetch_samples(urls, token))
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        board.close()


@app.command()
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


@app.command()
def gateway() -> None:
    """The webhook gateway (CONTRACT §7): Chatwoot, Zendesk, Zammad and /events in, Kafka out."""
    from stream.gateway.connectors import ConnectorsFileError
    from stream.gateway.process import run_gateway

    settings = load_settings()
    try:
        run_gateway(settings)
    except ConnectorsFileError as exc:
        typer.echo(f"connectors file:\n{exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def translate(
    paths: Annotated[
        list[Path], typer.Argument(help="webhook bodies: a file per body, or JSON lines")
    ],
    source: Annotated[str, typer.Option(help="chatwoot, zendesk or zammad")],
    connectors_file: Annotated[
        Path | None,
        typer.Option("--connectors", envvar="SUPPORTPULSE_CONNECTORS_FILE",
                     help="the connectors file (CONTRACT §7); defaults apply without one"),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(help="'Name: value', sent with every body (e.g. X-Zammad-Trigger)"),
    ] = None,
) -> None:
    """Translate helpdesk webhook bodies offline into §1 events (JSON lines on stdout).

    The same translation as the gateway, without signatures (backfills, checking a mapping).
    An input that cannot be translated is named on stderr and the exit code is 1.
    """
    from stream.gateway.cli_input import bodies, parse_headers
    from stream.gateway.connectors import Connectors, ConnectorsFileError, load_connectors
    from stream.gateway.translation import Rejection, translator
    from stream.progress import tracked

    try:
        translate_one = translator(source)
    except ValueError as exc:
        fail(str(exc))
    try:
        connectors = load_connectors(connectors_file) if connectors_file else Connectors()
        headers = parse_headers(header or [])
    except ConnectorsFileError as exc:
        fail(f"connectors file:\n{exc}")
    except ValueError as exc:
        fail(str(exc))
    failed = 0
    for where, raw in tracked(bodies(paths), f"translate {source}", unit="bodies"):
        result = translate_one(raw, headers, connectors)
        if isinstance(result, Rejection):
            failed += 1
            typer.echo(f"{where}: {result.reason}: {result.detail}", err=True)
            continue
        for event in result:
            sys.stdout.write(msgspec.json.encode(event).decode() + "\n")
    if failed:
        raise typer.Exit(1)


@app.command("check-config")
def check_config() -> None:
    """Validate settings, the SLA policy, the forecast and the connectors file, clearly."""
    from stream import shipped
    from stream.domain.sla_policy import validate_policy_text
    from stream.gateway.connectors import ConnectorsFileError, load_connectors
    from stream.gateway.process import enabled_routes
    from stream.rollups import ForecastFileError, load_forecast

    settings = load_settings()
    problems: list[str] = []
    policy = shipped.source(settings.sla_policy_file, shipped.POLICY)
    if policy is not None:
        for problem in validate_policy_text(policy.text, policy.name):
            if problem.is_warning:
                typer.echo(f"warning: {problem}", err=True)
            else:
                problems.append(str(problem))
    forecast = shipped.source(settings.forecast_file, shipped.FORECAST)
    try:
        load_forecast(forecast, settings.forecast_multiplier)
    except ForecastFileError as exc:
        problems.append(str(exc))
    if settings.connectors_file is not None:
        try:
            load_connectors(settings.connectors_file)
        except ConnectorsFileError as exc:
            problems.append(str(exc))
    if problems:
        typer.echo("\n".join(problems), err=True)
        raise typer.Exit(1)
    typer.echo(
        f"ok: app {settings.app_id}, brokers {','.join(settings.kafka_bootstrap)}, "
        f"queues {','.join(settings.queues)}, timezone {settings.timezone}\n"
        f"SLA policy: {policy.name if policy else 'none (SLA tracking off)'}\n"
        f"forecast baseline: {forecast.name if forecast else 'none (recent weeks of traffic)'}\n"
        f"gateway connectors: {settings.connectors_file or 'none (default mapping)'}; "
        f"routes: {', '.join(enabled_routes(settings)) or 'none'}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
