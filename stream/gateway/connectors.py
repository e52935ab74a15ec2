"""The connectors file (CONTRACT §7): how each helpdesk's inboxes, teams, groups and brands map
to Support Pulse queues, live chat or ticket, channel, and native priority/status names.

```yaml
queues: [web-chat, billing, support]     # optional: every configured queue (agent presence)
chatwoot:
  accounts:
    "1":                                 # Chatwoot account id; "*" applies to any other
      inboxes:
        3: {queue: web-chat, kind: chat}
        7: {queue: returns, kind: ticket, channel: email}
      teams:
        2: billing                       # a plain value is the queue
      priorities: {medium: high}         # native value → §1 priority
      statuses: {snoozed: on_hold}       # native value → §1 ticket status
zendesk:
  accounts:
    "22129848":
      groups: {8447320466430: billing}
      brands: {8447346621310: {queue: shop-eu}}
      max_chats: 3                       # agent.status_changed max_chats (default: unchanged)
      presence_channels: [messaging]     # agent.state_changed channels that count (default all)
zammad:
  instance: acme                         # the account part of Zammad ids (default `default`)
  groups: {"Service Desk": support}
  statuses: {"waiting for customer": pending}
```

Read with `yaml.compose` like the SLA policy file: every problem is reported as
`FILE:LINE:COLUMN: message`, all in one pass, and scalars keep their text (`no` stays `no`).
Unset entries take the defaults of CONTRACT §7; an unmapped queue is `other`. Native priority and
status names are matched case-insensitively.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stream.domain.events import CHANNELS, PRIORITIES
from stream.gateway.mapping import EMPTY_ACCOUNT, OTHER_QUEUE, Account, Connectors, Route

# Reading the file gives the mapping: its types are here too, so a reader needs one module.
__all__ = [
    "OTHER_QUEUE",
    "Account",
    "Connectors",
    "ConnectorsError",
    "ConnectorsFileError",
    "Route",
    "load_connectors",
    "parse_connectors_text",
]

TICKET_STATUSES: Final = ("new", "open", "pending", "on_hold", "solved", "closed")
KINDS: Final = ("chat", "ticket")

_ROUTE_KEYS: Final = ("queue", "kind", "channel")
_SOURCE_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "chatwoot": ("inboxes", "teams", "priorities", "statuses"),
    "zendesk": ("groups", "brands", "priorities", "statuses", "max_chats", "presence_channels"),
    "zammad": ("instance", "groups", "priorities", "statuses"),
}
_ROUTE_TABLES: Final = ("inboxes", "teams", "groups", "brands")


class ConnectorsError(Exception):
    """One problem in a connectors file; `str()` is `FILE:LINE:COLUMN: message` (1-based)."""

    def __init__(self, message: str, line: int, column: int, filename: str) -> None:
        super().__init__(message, line, column)
        self.message, self.line, self.column, self.filename = message, line, column, filename

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}:{self.column}" if self.line else self.filename
        return f"{where}: {self.message}"


class ConnectorsFileError(Exception):
    """A connectors file that cannot be used; `errors` lists every problem."""

    def __init__(self, errors: Sequence[ConnectorsError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


def parse_connectors_text(text: str, filename: str = "connectors.yaml") -> Connectors:
    parser = _Parser(filename)
    connectors = parser.parse(text)
    if connectors is None or parser.problems:
        problems = parser.problems or [ConnectorsError("unusable", 1, 1, filename)]
        raise ConnectorsFileError(sorted(problems, key=lambda p: (p.line, p.column)))
    return connectors


def load_connectors(path: str | Path) -> Connectors:
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConnectorsFileError([ConnectorsError(f"cannot read: {exc}", 0, 0, filename)]) from exc
    return parse_connectors_text(text, filename)


class _Parser:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[ConnectorsError] = []

    def error(self, node: Node, message: str) -> None:
        mark = node.start_mark
        line, column = mark.line + 1, mark.column + 1
        self.problems.append(ConnectorsError(message, line, column, self.filename))

    def parse(self, text: str) -> Connectors | None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.problems.append(
                ConnectorsError(f"invalid YAML: {exc.problem or exc}", line, column, self.filename)
            )
            return None
        except (yaml.YAMLError, RecursionError) as exc:
            self.problems.append(ConnectorsError(f"invalid YAML: {exc}", 1, 1, self.filename))
            return None
        if root is None or _is_null(root):
            return Connectors()  # an empty file: every default
        top = self.mapping(root, "the connectors file", ("queues", *_SOURCE_KEYS))
        if top is None:
            return None
        queues: tuple[str, ...] = ()
        if "queues" in top:
            queues = tuple(self.texts(top["queues"][1], "queues"))
        chatwoot = self.accounts(top, "chatwoot")
        zendesk = self.accounts(top, "zendesk")
        zammad, instance = EMPTY_ACCOUNT, "default"
        if "zammad" in top:
            entries = self.mapping(top["zammad"][1], "zammad", _SOURCE_KEYS["zammad"])
            if entries is not None:
                zammad = self.account(entries, "zammad")
                if "instance" in entries:
                    instance = self.text(entries["instance"][1], "zammad instance") or instance
        return Connectors(chatwoot, zendesk, zammad, instance, queues)

    def accounts(self, top: dict[str, tuple[ScalarNode, Node]], source: str) -> dict[str, Account]:
        if source not in top:
            return {}
        section = self.mapping(top[source][1], source, ("accounts",))
        if section is None or "accounts" not in section:
            return {}
        entries = self.mapping(section["accounts"][1], f"{source} accounts")
        found: dict[str, Account] = {}
        for name, (_key, node) in (entries or {}).items():
            account = self.mapping(node, f"{source} account {name!r}", _SOURCE_KEYS[source])
            if account is not None:
                found[name] = self.account(account, source)
        return found

    def account(self, entries: dict[str, tuple[ScalarNode, Node]], source: str) -> Account:
        tables = {
            table: self.routes(entries[table][1], f"{source} {table}")
            for table in _ROUTE_TABLES
            if table in entries
        }
        priorities = self.overrides(entries.get("priorities"), "priorities", PRIORITIES)
        statuses = self.overrides(entries.get("statuses"), "statuses", TICKET_STATUSES)
        max_chats: int | None = None
        if "max_chats" in entries:
            node = entries["max_chats"][1]
            text = self.text(node, "max_chats")
            if text is not None:
                if text.isdigit() and 1 <= int(text) <= 1000:
                    max_chats = int(text)
                else:
                    self.error(node, f"max_chats must be a whole number 1-1000, not {text!r}")
        channels = None
        if "presence_channels" in entries:
            listed = self.texts(entries["presence_channels"][1], "presence_channels")
            channels = frozenset(value.lower() for value in listed)
        return Account(
            inboxes=tables.get("inboxes", {}),
            teams=tables.get("teams", {}),
            groups=tables.get("groups", {}),
            brands=tables.get("brands", {}),
            priorities=priorities,
            statuses=statuses,
            max_chats=max_chats,
            presence_channels=channels,
        )

    def routes(self, node: Node, what: str) -> dict[str, Route]:
        found: dict[str, Route] = {}
        for name, (_key, value) in (self.mapping(node, what) or {}).items():
            if isinstance(value, ScalarNode):
                queue = self.text(value, f"the queue of {name!r} in {what}")
                if queue is not None:
                    found[name] = Route(queue=queue)
                continue
            entries = self.mapping(value, f"{name!r} in {what}", _ROUTE_KEYS)
            if entries is None:
                continue
            route = {key: self.text(entries[key][1], f"{key} of {name!r}") for key in entries}
            if route.get("kind") is not None and route["kind"] not in KINDS:
                self.error(
                    entries["kind"][1],
                    f"kind must be one of {', '.join(KINDS)}, not {route['kind']!r}",
                )
            if route.get("channel") is not None and route["channel"] not in CHANNELS:
                self.error(
                    entries["channel"][1],
                    f"channel must be one of {', '.join(CHANNELS)}, not {route['channel']!r}",
                )
            found[name] = Route(route.get("queue"), route.get("kind"), route.get("channel"))
        return found

    def overrides(
        self, entry: tuple[ScalarNode, Node] | None, what: str, allowed: Sequence[str]
    ) -> dict[str, str]:
        if entry is None:
            return {}
        found: dict[str, str] = {}
        for name, (_key, node) in (self.mapping(entry[1], what) or {}).items():
            value = self.text(node, f"{what} value of {name!r}")
            if value is None:
                continue
            if value not in allowed:
                self.error(node, f"{what} value {value!r} is not one of {', '.join(allowed)}")
                continue
            found[name.lower()] = value
        return found

    def mapping(
        self, node: Node, what: str, allowed: Sequence[str] | None = None
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping (key: value)")
            return None
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or not str(key.value).strip():
                self.error(key, f"keys in {what} must be plain text")
                continue
            name = str(key.value)
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                self.error(key, f"duplicate key {name!r} in {what} (first at line {first})")
                continue
            if allowed is not None and name not in allowed:
                expected = ", ".join(allowed)
                self.error(key, f"unknown key {name!r} in {what} (expected one of {expected})")
                continue
            entries[name] = (key, value)
        return entries

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or _is_null(node) or not str(node.value).strip():
            self.error(node, f"{what} must be a single, non-empty value")
            return None
        return str(node.value).strip()

    def texts(self, node: Node, what: str) -> list[str]:
        items = list(node.value) if isinstance(node, SequenceNode) else [node]
        found = [self.text(item, f"each entry of {what}") for item in items]
        return [value for value in found if value is not None]


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"
