"""`supportpulse translate`: the gateway's translation offline; its output is what
`supportpulse produce` reads (its own reader, router and the worker's decoder)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from stream.cli import app
from stream.domain.events import STREAM_OF_TYPE, Decoded, decode
from stream.kafka_io import read_jsonl, route
from stream.settings import Settings
from tests.unit.gateway.conftest import FIXTURES, NOW

runner = CliRunner()
CONNECTORS = str(FIXTURES / "connectors.yaml")
# A web-widget conversation as Chatwoot delivers it: created, customer message, assigned,
# resolved, CSAT.
SEQUENCE = ["conversation_created", "message_created_incoming", "conversation_updated_assignee",
            "conversation_status_changed_resolved", "message_updated_csat"]


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["translate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_output_is_accepted_by_produce(tmp_path: Path) -> None:
    files = [str(FIXTURES / "chatwoot" / f"{name}.json") for name in SEQUENCE]
    code, out, err = run("--source", "chatwoot", "--connectors", CONNECTORS, *files)
    assert (code, err) == (0, "")
    produced = tmp_path / "events.jsonl"
    produced.write_text(out)
    events = list(read_jsonl(str(produced)))  # `produce` reads files with this
    assert [event["type"] for event in events] == [
        "chat.requested", "chat.message", "chat.accepted", "chat.ended", "chat.rated"
    ]
    settings = Settings()
    for event in events:
        topic, key = route(settings, event)
        assert topic == settings.input_topics[STREAM_OF_TYPE[event["type"]]]
        assert key == b"chatwoot:1:10"
        assert isinstance(decode(msgspec.json.encode(event), lambda: NOW), Decoded)


def test_json_lines_headers_and_failures(tmp_path: Path) -> None:
    lines = tmp_path / "zammad.jsonl"
    body = json.loads((FIXTURES / "zammad" / "ticket_updated_state.json").read_text())
    lines.write_text(json.dumps(body) + "\n\n" + "{broken\n")
    code, out, err = run("--source", "zammad", "--header", "X-Zammad-Trigger: state changed",
                         str(lines))
    assert code == 1
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["pending"]
    assert err.startswith(f"{lines}:3: not_json:")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--source", "freshdesk"], "unknown source"),
     (["--source", "zammad", "--header", "no colon"], "expected 'Name: value'")],
)
def test_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run(*args, str(FIXTURES / "zammad" / "ticket_created.json"))
    assert code == 2 and message in err
