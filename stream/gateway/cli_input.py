"""Reading webhook bodies and `Name: value` headers for `supportpulse translate`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path


def parse_headers(values: Iterable[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, colon, rest = value.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"--header {value!r}: expected 'Name: value'")
        headers[name.strip()] = rest.strip()
    return headers


def bodies(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """(where, raw body) for every input: a file holding one JSON document is one body (as a
    helpdesk sends it, pretty-printed or not); any other file is JSON lines, a body a line.
    An unreadable file is yielded as an empty body, which its translator rejects as not JSON."""
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError:
            yield str(path), b""
            continue
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            for number, line in enumerate(raw.splitlines(), 1):
                if line.strip():
                    yield f"{path}:{number}", line
            continue
        yield str(path), raw
