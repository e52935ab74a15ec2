"""The connectors file: a valid file, defaults, and errors that name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.gateway.connectors import (
    OTHER_QUEUE,
    Connectors,
    ConnectorsFileError,
    Route,
    load_connectors,
    parse_connectors_text,
)
from tests.unit.gateway.conftest import FIXTURES


def errors(text: str) -> list[str]:
    with pytest.raises(ConnectorsFileError) as caught:
        parse_connectors_text(text, "c.yaml")
    return [str(error) for error in caught.value.errors]


def test_valid_file(connectors: Connectors) -> None:
    chatwoot = connectors.account("chatwoot", "1")
    assert chatwoot.inboxes["1"] == Route(queue="web-chat")
    assert chatwoot.teams["2"] == Route(queue="billing")
    zendesk = connectors.account("zendesk", "22129848")
    assert zendesk.groups["8447320466999"].queue == "billing"
    assert zendesk.brands["8447346621310"] == Route(queue="shop-eu")
    assert zendesk.max_chats == 3
    assert zendesk.queues() == ["billing", "shop-eu", "support"]
    assert connectors.zammad_instance == "acme"
    assert connectors.account("zammad", "anything").groups["Service Desk"].queue == "support"
    assert connectors.queues == ("web-chat", "email-support", "billing", "support")


def test_defaults() -> None:
    empty = parse_connectors_text("")
    assert empty == Connectors()
    assert empty.zammad_instance == "default"
    assert empty.account("chatwoot", "9").inboxes == {}
    assert OTHER_QUEUE == "other"


def test_wildcard_account_and_overrides() -> None:
    connectors = parse_connectors_text(
        "chatwoot:\n"
        "  accounts:\n"
        "    '*':\n"
        "      inboxes: {4: {queue: returns, kind: ticket, channel: social}}\n"
        "      priorities: {Medium: high}\n"
        "      statuses: {snoozed: on_hold}\n"
        "    '7':\n"
        "      teams: {1: vip}\n"
    )
    assert connectors.account("chatwoot", "3").inboxes["4"] == Route("returns", "ticket", "social")
    assert connectors.account("chatwoot", "3").priorities == {"medium": "high"}
    assert connectors.account("chatwoot", "7").teams["1"].queue == "vip"
    assert connectors.account("chatwoot", "7").inboxes == {}  # no merge with '*'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chatwoot:\n  accounts:\n    '1':\n      inboxs: {1: a}\n",
         "c.yaml:4:7: unknown key 'inboxs' in chatwoot account '1'"),
        ("zendesk:\n  accounts:\n    '1':\n      max_chats: 0\n",
         "c.yaml:4:18: max_chats must be a whole number 1-1000, not '0'"),
        ("zendesk:\n  accounts:\n    '1':\n      priorities: {HIGH: critical}\n",
         "c.yaml:4:26: priorities value 'critical' is not one of low, normal, high, urgent"),
        ("zammad:\n  statuses:\n    waiting: done\n",
         "c.yaml:3:14: statuses value 'done' is not one of"),
        ("chatwoot:\n  accounts:\n    '1':\n      inboxes:\n        1: {queue: a, kind: call}\n",
         "c.yaml:5:29: kind must be one of chat, ticket, not 'call'"),
        ("chatwoot:\n  accounts:\n    '1':\n      inboxes:\n        1: {channel: fax}\n",
         "c.yaml:5:22: channel must be one of email, chat, phone, social, web_form"),
        ("zammad:\n  groups:\n    Sales: a\n    Sales: b\n",
         "c.yaml:4:5: duplicate key 'Sales' in zammad groups (first at line 3)"),
        ("chatwoot: [1]\n", "c.yaml:1:11: chatwoot must be a mapping"),
        ("queuez: [a]\n", "c.yaml:1:1: unknown key 'queuez' in the connectors file"),
        ("zammad:\n  instance:\n", "c.yaml:2:12: zammad instance must be a single, non-empty"),
        ("zammad: {groups: [a\n", "c.yaml:2:1: invalid YAML"),
    ],
)
def test_errors_name_the_line(text: str, expected: str) -> None:
    found = errors(text)
    assert any(error.startswith(expected) for error in found), found


def test_every_problem_at_once() -> None:
    found = errors(
        "zendesk:\n  accounts:\n    '1':\n      max_chats: lots\n      colour: red\n"
        "zammad:\n  priorities: {'1 low': tiny}\n"
    )
    assert [error.split(":")[1] for error in found] == ["4", "5", "7"]


def test_load_from_disk(tmp_path: Path) -> None:
    assert load_connectors(FIXTURES / "connectors.yaml").zammad_instance == "acme"
    with pytest.raises(ConnectorsFileError, match="cannot read"):
        load_connectors(tmp_path / "missing.yaml")


def _yaml_block(text: str) -> str:
    return text.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_documented_examples_are_valid() -> None:
    import stream.gateway.connectors as module

    root = Path(__file__).resolve().parents[3]
    docs = parse_connectors_text(_yaml_block((root / "docs" / "gateway.md").read_text()))
    assert docs.account("chatwoot", "1").inboxes["7"] == Route("returns", "ticket", "email")
    docstring = parse_connectors_text(_yaml_block(module.__doc__ or ""))
    assert docstring.account("zendesk", "22129848").presence_channels == frozenset({"messaging"})
