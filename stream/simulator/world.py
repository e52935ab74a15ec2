"""What every subject of the simulation shares: the profile, the one random generator, the clock
with its heap of future happenings, and the events written at the current instant.

One `random.Random(seed)` consumed strictly in heap order is what makes a run reproducible, so
no subject owns a generator of its own; and the heap orders by (time, sequence number), so two
happenings at the same instant run in the order they were planned. Fields added to the events
after the seeded streams were pinned draw from a second generator (`added_rng`, seeded from the
run id), never from the first: every draw of the first stays where it was, so the pinned streams
keep their events and values and only gain the new fields.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVarTuple

from stream.simulator.profiles import Profile

Event = dict[str, object]

# (due, sequence number, callback, its arguments). A plain tuple on purpose: the heap compares
# entries in C, and the sequence number is unique, so the comparison never reaches the callback.
_Due = tuple[float, int, Callable[..., None], tuple[Any, ...]]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
Ts = TypeVarTuple("Ts")


class World:
    __slots__ = (
        "added_rng",
        "end",
        "event_prefix",
        "heap",
        "n_events",
        "n_other",
        "now",
        "out",
        "p",
        "queues",
        "rng",
        "run",
        "seq",
        "stamp",
        "stamp_date",
        "stamp_day",
        "stamp_t",
        "start_epoch",
        "start_us",
    )

    def __init__(
        self,
        profile: Profile,
        seed: int,
        start: datetime,
        duration: float,
        queues: tuple[str, ...],
        tz_key: str,
    ) -> None:
        self.p = profile
        self.rng = random.Random(seed)
        self.end = duration
        self.queues = queues
        self.start_us: int = (start - _EPOCH) // timedelta(microseconds=1)
        self.start_epoch = self.start_us / 1_000_000
        # The whole profile goes into the run id: a tweaked copy of a profile is another run.
        run = hashlib.blake2b(
            f"{profile!r}|{seed}|{self.start_us}|{','.join(queues)}|{tz_key}".encode(),
            digest_size=4,
        ).hexdigest()
        self.run = run
        self.added_rng = random.Random(f"{run}|{seed}|added")
        self.event_prefix = f"sim-{run}-"
        self.heap: list[_Due] = []
        self.seq = 0
        self.now = 0.0
        self.out: list[Event] = []
        self.n_events = 0
        self.n_other = 0
        self.stamp_t = -1.0
        self.stamp = ""
        self.stamp_day = -1
        self.stamp_date = ""

    def push(self, t: float, fn: Callable[[*Ts], None], *args: *Ts) -> None:
        """Plan `fn(*args)` at simulated second `t` (after everything already planned for `t`)."""
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, fn, args))

    def emit(self, etype: str, fields: Event) -> None:
        t = self.now
        if t != self.stamp_t:
            us = self.start_us + round(t * 1_000_000)
            sec, frac = divmod(us, 1_000_000)
            day, rem = divmod(sec, 86400)
            if day != self.stamp_day:
                # strftime per event was the top cost; the date changes once a day.
                self.stamp_day = day
                self.stamp_date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
            hh, rem = divmod(rem, 3600)
            mm, ss = divmod(rem, 60)
            self.stamp = f"{self.stamp_date}{hh:02d}:{mm:02d}:{ss:02d}.{frac:06d}+00:00"
            self.stamp_t = t
        self.n_events += 1
        ev: Event = {
            "event_id": f"{self.event_prefix}{self.n_events}",
            "type": etype,
            "occurred_at": self.stamp,
        }
        ev.update(fields)
        self.out.append(ev)

    def new_id(self, prefix: str) -> str:
        """A conversation, order or session id, unique across runs (it carries the run id)."""
        self.n_other += 1
        return f"{prefix}-{self.run}-{self.n_other}"
