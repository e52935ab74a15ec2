"""What the connectors file says, once read: per helpdesk account, what each inbox, team, group
and brand maps to (queue, live chat or ticket, channel) and the native priority and status names.

The translators read only this; `stream.gateway.connectors` reads and checks the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

OTHER_QUEUE: Final = "other"
ANY_ACCOUNT: Final = "*"


@dataclass(frozen=True)
class Route:
    """What one inbox, team, group or brand maps to; None = the default."""

    queue: str | None = None
    kind: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Account:
    inboxes: Mapping[str, Route] = field(default_factory=dict)
    teams: Mapping[str, Route] = field(default_factory=dict)
    groups: Mapping[str, Route] = field(default_factory=dict)
    brands: Mapping[str, Route] = field(default_factory=dict)
    priorities: Mapping[str, str] = field(default_factory=dict)  # lower-cased native → §1
    statuses: Mapping[str, str] = field(default_factory=dict)
    max_chats: int | None = None  # None: presence events leave the capacity as it is
    presence_channels: frozenset[str] | None = None

    def queues(self) -> list[str]:
        """Every queue this account's groups and brands map to."""
        routes = [*self.groups.values(), *self.brands.values()]
        return sorted({route.queue for route in routes if route.queue})


EMPTY_ACCOUNT: Final = Account()


@dataclass(frozen=True)
class Connectors:
    chatwoot: Mapping[str, Account] = field(default_factory=dict)
    zendesk: Mapping[str, Account] = field(default_factory=dict)
    zammad: Account = EMPTY_ACCOUNT
    zammad_instance: str = "default"
    queues: tuple[str, ...] = ()

    def account(self, source: str, account_id: str) -> Account:
        if source == "zammad":
            return self.zammad
        accounts = self.chatwoot if source == "chatwoot" else self.zendesk
        return accounts.get(account_id) or accounts.get(ANY_ACCOUNT) or EMPTY_ACCOUNT
