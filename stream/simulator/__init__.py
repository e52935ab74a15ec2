"""Deterministic traffic model of an e-commerce support operation (CONTRACT §1 events).

`generate()` is a discrete-event simulation: one heap of future happenings ordered by
(time, sequence number), one `random.Random(seed)` consumed strictly in heap order, and a clock
that only moves forward. Consequences that callers rely on:

* same profile, seed, start, queues and timezone → byte-identical events; another seed → others
  (tests/unit/test_simulator_stable.py pins the streams the tests, demo and benchmarks use);
* a shorter run is a prefix of a longer one (nothing depends on `duration_seconds` except where
  the run is cut), so a 1 h replay matches the first hour of a 24 h replay;
* events come out in non-decreasing `occurred_at`, all inside [start, start + duration];
  conversations still open at the end are simply cut there;
* memory is bounded by what is concurrently in flight (open conversations, waiting chats,
  rostered agents, a fixed ring of recent contacts), never by the length of the run.

Pure like `stream.domain`: no I/O, no wall clock. Every number of the model is a `Profile` field
(`profiles.py`); the model itself is described by subject, one module each: `arrivals.py`,
`customers.py`, `headcount.py` (who is rostered), `roster.py` (shifts, presence, what an agent
takes next), `chats.py`, `calls.py`, `tickets.py`, `commerce.py`. `world.py` is what they share
(the random generator, the clock, the output), `run.py` wires them and runs the loop,
`routing.py` gives an event's stream and key from the tables of `stream.domain.events`.

Timestamps are UTC (``+00:00``) with microseconds; `timezone` only shapes the local day.
Ids: event ids and conversation ids carry a short hash of (profile, seed, start, queues) so two
different runs never collide in the consumer's dedupe or tables; agent and customer ids are stable
across runs so scorecards and contact rates accumulate across days.
"""

from stream.simulator.profiles import DEFAULT_QUEUES, PROFILES, Profile, Shift, profile_named
from stream.simulator.routing import key_of, stream_of
from stream.simulator.run import generate

__all__ = [
    "DEFAULT_QUEUES",
    "PROFILES",
    "Profile",
    "Shift",
    "generate",
    "key_of",
    "profile_named",
    "stream_of",
]
