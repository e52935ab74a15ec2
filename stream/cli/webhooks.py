"""`supportpulse gateway` and `supportpulse translate`: helpdesk webhooks in (CONTRACT §7).

Both run the same per-product translation; `translate` does it offline, without signatures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from stream.cli.output import fail, load_settings


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
