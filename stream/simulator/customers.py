"""Customers: a bounded pool, and a fixed ring of recent contacts.

Customer ids are stable across runs (`cust-000123`), so contact rates and assisted orders add up
across days. The ring makes repeat contacts and assisted orders possible at constant memory,
however long the run.
"""

from __future__ import annotations

from typing import NamedTuple

from stream.simulator.world import World


class Contact(NamedTuple):
    at: float  # simulated second of the contact
    customer: str


class Customers:
    __slots__ = ("_pos", "_size", "recent", "world")

    def __init__(self, world: World) -> None:
        self.world = world
        self.recent: list[Contact] = []
        self._pos = 0
        self._size = max(1, world.p.recent_contacts)

    def pool(self) -> str:
        """Anyone from the shop's customer base."""
        return f"cust-{self.world.rng.randrange(self.world.p.customers):06d}"

    def any_recent(self) -> Contact:
        """A random entry of the ring (which must not be empty)."""
        recent = self.recent
        return recent[self.world.rng.randrange(len(recent))]

    def contact(self) -> str:
        """The customer behind a new conversation: sometimes someone who contacted recently."""
        rng = self.world.rng
        if self.recent and rng.random() < self.world.p.repeat_contact_ratio:
            cust = self.any_recent().customer
        else:
            cust = self.pool()
        self.remember(cust)
        return cust

    def remember(self, cust: str) -> None:
        contact = Contact(self.world.now, cust)
        if len(self.recent) < self._size:
            self.recent.append(contact)
        else:
            self.recent[self._pos] = contact
            self._pos = (self._pos + 1) % self._size
