"""`generate()`: check the arguments, wire the subjects together, run the event loop.

The loop pops the earliest planned happening, moves the clock to it, runs it and hands out what
it emitted. Nothing runs before the first event is asked for, and nothing after `duration`: a
happening planned beyond the end stays in the heap, which is why a shorter run is a prefix of a
longer one.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from stream.simulator.arrivals import Arrivals
from stream.simulator.calls import Calls
from stream.simulator.chats import Chats
from stream.simulator.commerce import Commerce
from stream.simulator.customers import Customers
from stream.simulator.headcount import rostered_agents
from stream.simulator.local_time import LocalTime
from stream.simulator.profiles import DEFAULT_QUEUES, Profile, profile_named, queue_of_requests
from stream.simulator.roster import Roster
from stream.simulator.tickets import Tickets
from stream.simulator.world import Event, World


class Simulation:
    __slots__ = ("arrivals", "roster", "world")

    def __init__(
        self,
        profile: Profile,
        seed: int,
        start: datetime,
        duration: float,
        queues: tuple[str, ...],
        tz: ZoneInfo,
    ) -> None:
        world = World(profile, seed, start, duration, queues, tz.key)
        local = LocalTime(tz, world.start_epoch)
        queue_of = queue_of_requests(profile, queues)
        roster = Roster(world, local, rostered_agents(profile, queues, queue_of))
        tickets = Tickets(world, roster)
        calls = Calls(world, roster, tickets)
        chats = Chats(world, roster, tickets)
        roster.connect(chats, calls, tickets)
        customers = Customers(world)
        commerce = Commerce(world, customers, chats, queue_of)
        self.arrivals = Arrivals(world, local, customers, chats, calls, tickets, commerce, queue_of)
        self.world = world
        self.roster = roster

    def events(self) -> Iterator[Event]:
        world = self.world
        self.roster.start()
        self.arrivals.start()
        heap = world.heap
        out = world.out
        end = world.end
        if out:
            yield from out
            out.clear()
        while heap:
            t, _, fn, args = heapq.heappop(heap)
            if t > end:
                return
            world.now = t
            fn(*args)
            if out:
                yield from out
                out.clear()


def generate(
    profile: str | Profile,
    seed: int,
    start: datetime,
    duration_seconds: float,
    queues: Sequence[str] = DEFAULT_QUEUES,
    timezone: str = "Europe/Prague",
) -> Iterator[dict[str, object]]:
    """Yield CONTRACT §1 event dicts for `duration_seconds` of simulated traffic from `start`.

    The events are JSON-ready, in non-decreasing `occurred_at` (UTC, RFC 3339) and fully
    determined by the arguments. `timezone` is where the shop's customers and agents live: it
    shapes the daily curve and the shifts, not the timestamps' offset.
    """
    prof = profile_named(profile) if isinstance(profile, str) else profile
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if not math.isfinite(duration_seconds) or duration_seconds < 0:
        raise ValueError("duration_seconds must be a finite number >= 0")
    qs = tuple(queues)
    if not qs or len(set(qs)) != len(qs) or not all(qs):
        raise ValueError("queues must be distinct non-empty names")
    if prof.scale <= 0 or prof.peak_conversations_per_hour < 0 or prof.customers < 1:
        raise ValueError("profile needs scale > 0, peak >= 0 and customers >= 1")
    try:
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown timezone {timezone!r}") from exc
    return Simulation(prof, seed, start, float(duration_seconds), qs, tz).events()
