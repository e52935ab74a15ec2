"""How every command answers (CONTRACT §6).

`--json` output goes to stdout as one JSON document; errors go to stderr with a non-zero exit,
and invalid settings are named by their environment variable, so a script can tell them apart.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import msgspec
import typer
from pydantic import ValidationError

from stream.settings import Settings


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
