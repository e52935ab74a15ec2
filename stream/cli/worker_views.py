"""`supportpulse at-risk`, `agents` and `top`: what a running worker shows over HTTP.

These read the worker's endpoints (with the API token) rather than Kafka or Redis, so they show
exactly what the worker holds and need no broker credentials.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer

from stream.cli.output import fail, load_settings, print_json
from stream.settings import Settings


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
