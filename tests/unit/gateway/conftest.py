from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from stream.domain.events import Decoded, decode
from stream.gateway.connectors import Connectors, load_connectors

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def body(source: str, name: str) -> bytes:
    return (FIXTURES / source / f"{name}.json").read_bytes()


def payload(source: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(body(source, name))
    return loaded


def dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def assert_decodes(events: list[dict[str, Any]]) -> None:
    """Every event passes the worker's own decoder, on its own topic."""
    from stream.domain.events import STREAM_OF_TYPE

    for event in events:
        raw = msgspec.json.encode(event)
        result = decode(raw, lambda: NOW, stream=STREAM_OF_TYPE[event["type"]])
        assert isinstance(result, Decoded), (event, result)


@pytest.fixture(scope="session")
def connectors() -> Connectors:
    return load_connectors(FIXTURES / "connectors.yaml")
