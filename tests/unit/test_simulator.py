"""The traffic model: determinism, CONTRACT §1 validity, and the shape of a holiday peak.

The schema checker below is written from CONTRACT.md §1 on purpose, independent of both the
simulator and `stream.domain.events`, so a drift in either shows up here.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import statistics
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.simulator import (
    DEFAULT_QUEUES,
    PROFILES,
    Profile,
    generate,
    key_of,
    stream_of,
)
from tests.unit.conftest import PRAGUE

Event = dict[str, object]
# Black Friday 2026, local midnight.
BF_DAY = datetime(2026, 11, 27, tzinfo=PRAGUE)
DAY = 86400.0

# --------------------------------------------------------------------------------------------
# CONTRACT §1, transcribed
# --------------------------------------------------------------------------------------------

TOPIC_TYPES: Mapping[str, tuple[str, ...]] = {
    "tickets": (
        "ticket.created",
        "ticket.replied",
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.priority_changed",
        "ticket.rated",
        "ticket.effort_rated",
    ),
    "chats": (
        "chat.requested",
        "chat.accepted",
        "chat.message",
        "chat.transferred",
        "chat.ended",
        "chat.abandoned",
        "chat.rated",
        "chat.converted",
    ),
    "agents": ("agent.status_changed",),
    "commerce": ("order.placed", "campaign.shown", "selfservice.session"),
}
ALL_TYPES = frozenset(t for types in TOPIC_TYPES.values() for t in types)

CHANNELS = {"email", "chat", "phone", "social", "web_form"}
PRIORITIES = {"low", "normal", "high", "urgent"}
AUTHORS = {"agent", "customer", "bot"}
STATUSES = {"new", "open", "pending", "on_hold", "solved", "closed"}
TICKET_RESOLVERS = {"agent", "bot", "self_service"}
CHAT_RESOLVERS = {"agent", "bot"}
PRESENCE = {"online", "away", "offline"}

Check = Callable[[object], bool]


def is_id(v: object) -> bool:
    return isinstance(v, str) and len(v) >= 1


def one_of(allowed: set[str]) -> Check:
    return lambda v: isinstance(v, str) and v in allowed


def is_bool(v: object) -> bool:
    return isinstance(v, bool)


def is_score(v: object) -> bool:
    return type(v) is int and 1 <= v <= 5


def is_positive_int(v: object) -> bool:
    return type(v) is int and v >= 1


def is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


def is_amount(v: object) -> bool:
    if isinstance(v, str):
        return re.fullmatch(r"\d+(\.\d+)?", v) is not None
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0


def is_currency(v: object) -> bool:
    return isinstance(v, str) and re.fullmatch(r"[A-Z]{3}", v) is not None


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def is_rfc3339(v: object) -> bool:
    if not isinstance(v, str) or RFC3339.fullmatch(v) is None:
        return False
    try:
        return datetime.fromisoformat(v).tzinfo is not None
    except ValueError:
        return False


# type → (required fields, optional fields)
SCHEMA: Mapping[str, tuple[Mapping[str, Check], Mapping[str, Check]]] = {
    "ticket.created": (
        {
            "ticket_id": is_id,
            "channel": one_of(CHANNELS),
            "priority": one_of(PRIORITIES),
            "queue": is_id,
        },
        {"request_type": is_id, "customer_id": is_id, "agent_id": is_id},
    ),
    "ticket.replied": (
        {"ticket_id": is_id, "author": one_of(AUTHORS)},
        {"agent_id": is_id, "public": is_bool, "template_id": is_id},
    ),
    "ticket.status_changed": (
        {"ticket_id": is_id, "status": one_of(STATUSES)},
        {"agent_id": is_id, "resolved_by": one_of(TICKET_RESOLVERS)},
    ),
    "ticket.assigned": ({"ticket_id": is_id, "agent_id": is_id}, {"queue": is_id}),
    "ticket.priority_changed": ({"ticket_id": is_id, "priority": one_of(PRIORITIES)}, {}),
    "ticket.rated": ({"ticket_id": is_id, "score": is_score}, {}),
    "ticket.effort_rated": ({"ticket_id": is_id, "score": is_score}, {}),
    "chat.requested": (
        {"chat_id": is_id, "queue": is_id},
        {"customer_id": is_id, "campaign_id": is_id, "priority": one_of(PRIORITIES)},
    ),
    "chat.accepted": ({"chat_id": is_id, "agent_id": is_id}, {}),
    "chat.message": (
        {"chat_id": is_id, "author": one_of(AUTHORS)},
        {"agent_id": is_id, "template_id": is_id},
    ),
    # "queue or agent_id": both optional here, at least one checked below.
    "chat.transferred": ({"chat_id": is_id}, {"queue": is_id, "agent_id": is_id}),
    "chat.ended": ({"chat_id": is_id}, {"resolved_by": one_of(CHAT_RESOLVERS)}),
    "chat.abandoned": ({"chat_id": is_id}, {}),
    "chat.rated": ({"chat_id": is_id, "score": is_score}, {}),
    "chat.converted": ({"chat_id": is_id, "ticket_id": is_id}, {}),
    "agent.status_changed": (
        {"agent_id": is_id, "status": one_of(PRESENCE), "queues": is_str_list},
        {"max_chats": is_positive_int},
    ),
    "order.placed": (
        {"order_id": is_id, "customer_id": is_id, "amount": is_amount, "currency": is_currency},
        {"guest": is_bool},  # issue 15
    ),
    "campaign.shown": ({"campaign_id": is_id}, {"customer_id": is_id}),
    "selfservice.session": ({"session_id": is_id, "resolved": is_bool}, {}),
}


def contract_errors(event: object) -> list[str]:
    """Why `event` violates CONTRACT §1 (empty when valid)."""
    if not isinstance(event, dict):
        return ["not an object"]
    errors: list[str] = []
    eid = event.get("event_id")
    if not (isinstance(eid, str) and 1 <= len(eid) <= 128):
        errors.append("event_id")
    etype = event.get("type")
    if etype not in SCHEMA:
        return [*errors, f"unknown type {etype!r}"]
    assert isinstance(etype, str)
    if not is_rfc3339(event.get("occurred_at")):
        errors.append("occurred_at")
    if "schema" in event and not isinstance(event["schema"], str):
        errors.append("schema")
    required, optional = SCHEMA[etype]
    for name, check in required.items():
        if name not in event:
            errors.append(f"{etype}: missing {name}")
        elif not check(event[name]):
            errors.append(f"{etype}: bad {name}={event[name]!r}")
    for name, check in optional.items():
        if name in event and not check(event[name]):
            errors.append(f"{etype}: bad {name}={event[name]!r}")
    known = {"event_id", "type", "occurred_at", "schema", *required, *optional}
    errors.extend(f"{etype}: unexpected field {name}" for name in event if name not in known)
    if etype == "chat.transferred" and "queue" not in event and "agent_id" not in event:
        errors.append("chat.transferred: needs queue or agent_id")
    return errors


def test_checker_rejects_what_the_contract_rejects() -> None:
    good = {
        "event_id": "e1",
        "type": "order.placed",
        "occurred_at": "2026-11-27T12:00:03.250000+00:00",
        "order_id": "o1",
        "customer_id": "c1",
        "amount": "12.50",
        "currency": "EUR",
    }
    assert contract_errors(good) == []
    assert contract_errors({**good, "occurred_at": "2026-11-27T12:00:03"})  # no offset
    assert contract_errors({**good, "currency": "eur"})
    assert contract_errors({**good, "type": "order.cancelled"})
    assert contract_errors({**good, "extra": 1})
    assert contract_errors({k: v for k, v in good.items() if k != "amount"})
    transfer = {"event_id": "e2", "type": "chat.transferred", "occurred_at": good["occurred_at"]}
    assert contract_errors({**transfer, "chat_id": "c"})
    assert contract_errors({**transfer, "chat_id": "c", "queue": "orders"}) == []


# --------------------------------------------------------------------------------------------
# Shared runs (generated once per module: a BF day is ~60k events)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bf_day() -> list[Event]:
    return list(generate("black-friday", 11, BF_DAY, DAY))


@pytest.fixture(scope="module")
def normal_day() -> list[Event]:
    return list(generate("normal", 11, BF_DAY, DAY))


@pytest.fixture(scope="module")
def christmas_day() -> list[Event]:
    return list(generate("christmas", 11, BF_DAY, DAY))


def when(event: Event) -> datetime:
    value = event["occurred_at"]
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


def local_hour(event: Event) -> int:
    return when(event).astimezone(PRAGUE).hour


def of_type(events: Iterable[Event], *types: str) -> list[Event]:
    return [e for e in events if e["type"] in types]


def new_conversations(events: Iterable[Event]) -> list[Event]:
    # A chat converted into a ticket is the same conversation: count it once.
    return [
        e
        for e in events
        if e["type"] == "chat.requested"
        or (e["type"] == "ticket.created" and e["channel"] != "chat")
    ]


def by_conversation(events: Iterable[Event], id_field: str) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = collections.defaultdict(list)
    for e in events:
        key = e.get(id_field)
        if isinstance(key, str) and str(e["type"]).split(".")[0] == id_field.split("_")[0]:
            out[key].append(e)
    return out


def chat_waits(events: Sequence[Event], hours: set[int]) -> list[float]:
    requested: dict[object, datetime] = {}
    waits: list[float] = []
    for e in events:
        if e["type"] == "chat.requested" and local_hour(e) in hours:
            requested[e["chat_id"]] = when(e)
        elif e["type"] == "chat.accepted" and e["chat_id"] in requested:
            waits.append((when(e) - requested.pop(e["chat_id"])).total_seconds())
    return waits


def lines(events: Iterable[Event]) -> list[str]:
    return [json.dumps(e, separators=(",", ":")) for e in events]


# --------------------------------------------------------------------------------------------
# Determinism and the stream contract
# --------------------------------------------------------------------------------------------


def test_same_seed_is_byte_identical_other_seed_differs() -> None:
    start = datetime(2026, 12, 18, 9, 30, tzinfo=UTC)
    a = lines(generate("christmas", 5, start, 4 * 3600))
    b = lines(generate("christmas", 5, start, 4 * 3600))
    c = lines(generate("christmas", 6, start, 4 * 3600))
    assert len(a) > 1000
    assert a == b
    assert a != c


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = lines(generate("black-friday", 3, BF_DAY, 3600))
    long = lines(generate("black-friday", 3, BF_DAY, 3 * 3600))
    assert short and long[: len(short)] == short
    assert json.loads(long[len(short)])["occurred_at"] > json.loads(short[-1])["occurred_at"]


def test_is_a_lazy_generator() -> None:
    events = generate("black-friday", 1, BF_DAY, 365 * DAY)
    first = [next(events) for _ in range(100)]  # a year would take minutes if eager
    assert all(not contract_errors(e) for e in first)


def test_memory_does_not_grow_with_the_length_of_the_run() -> None:
    # Pending tickets live up to ~1.5 days and the ring of recent contacts fills, so compare
    # day 3 (steady state) with days 4–6: a per-conversation or per-event leak would add
    # hundreds of KiB a day.
    profile = dataclasses.replace(PROFILES["normal"], scale=0.3, recent_contacts=256)
    peak_by_day: collections.Counter[int] = collections.Counter()
    tracemalloc.start()
    try:
        for i, e in enumerate(generate(profile, 8, BF_DAY, 6 * DAY)):
            if i % 500 == 0:
                day = int((when(e) - BF_DAY).total_seconds() // DAY)
                current = tracemalloc.get_traced_memory()[0]
                peak_by_day[day] = max(peak_by_day[day], current)
    finally:
        tracemalloc.stop()
    later = max(peak_by_day[d] for d in range(3, 6))
    assert later < 1.5 * peak_by_day[2] + 256 * 1024
    assert later < 4 * 2**20


def test_every_contract_event_type_appears_on_black_friday(bf_day: list[Event]) -> None:
    # CONTRACT §1 lists 19 types (7 ticket, 8 chat, 1 agent, 3 commerce).
    assert len(ALL_TYPES) == 19
    assert {e["type"] for e in bf_day} == ALL_TYPES


@pytest.mark.parametrize("run", ["bf_day", "normal_day", "christmas_day"])
def test_every_event_is_valid_json_ready_and_ordered(
    run: str, request: pytest.FixtureRequest
) -> None:
    events: list[Event] = request.getfixturevalue(run)
    bad = [(e, errs) for e in events if (errs := contract_errors(e))]
    assert not bad[:5]
    # JSON-ready: round-trips unchanged (no datetimes, Decimals, tuples).
    assert json.loads(json.dumps(events)) == events
    stamps = [when(e) for e in events]
    assert stamps == sorted(stamps)
    assert stamps[0] >= BF_DAY and stamps[-1] <= BF_DAY + timedelta(seconds=DAY)
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)


def test_event_ids_do_not_collide_across_seeds_or_days() -> None:
    runs = [
        generate("normal", 1, BF_DAY, 3 * 3600),
        generate("normal", 2, BF_DAY, 3 * 3600),
        generate("normal", 1, BF_DAY + timedelta(days=1), 3 * 3600),
    ]
    ids = [e["event_id"] for run in runs for e in run]
    assert len(set(ids)) == len(ids)


def test_stream_of_and_key_of_follow_the_contract(bf_day: list[Event]) -> None:
    for stream, types in TOPIC_TYPES.items():
        for etype in types:
            assert stream_of(etype) == stream
    with pytest.raises(ValueError):
        stream_of("ticket.deleted")
    key_field = {
        "tickets": "ticket_id",
        "chats": "chat_id",
        "agents": "agent_id",
        "order.placed": "customer_id",
        "campaign.shown": "campaign_id",
        "selfservice.session": "session_id",
    }
    for e in bf_day:
        etype = str(e["type"])
        stream = stream_of(etype)
        assert key_of(e) == e[key_field[etype if stream == "commerce" else stream]]


# --------------------------------------------------------------------------------------------
# Volume and shape
# --------------------------------------------------------------------------------------------


def test_peak_profiles_scale_normal_volume(
    bf_day: list[Event], normal_day: list[Event], christmas_day: list[Event]
) -> None:
    normal = len(new_conversations(normal_day))
    assert 1300 < normal < 2300  # ~150/h at the peak of a weekday
    assert len(new_conversations(bf_day)) / normal == pytest.approx(3.0, rel=0.15)
    assert len(new_conversations(christmas_day)) / normal == pytest.approx(2.5, rel=0.15)


def test_scale_multiplies_volume() -> None:
    start = datetime(2026, 11, 24, 10, tzinfo=PRAGUE)
    base = len(new_conversations(generate("normal", 4, start, 6 * 3600)))
    doubled = dataclasses.replace(PROFILES["normal"], scale=2.0)
    assert len(new_conversations(generate(doubled, 4, start, 6 * 3600))) / base == (
        pytest.approx(2.0, rel=0.15)
    )


def test_daily_curve_peaks_at_lunch_or_after_work_and_is_lowest_at_night(
    bf_day: list[Event],
) -> None:
    per_hour = collections.Counter(local_hour(e) for e in new_conversations(bf_day))
    busiest = max(range(24), key=lambda h: per_hour[h])
    assert busiest in {12, 13, 17, 18, 19}
    night = [per_hour[h] for h in range(1, 6)]
    daytime = [per_hour[h] for h in range(8, 22)]
    assert max(night) < min(daytime)
    assert per_hour[8] > per_hour[6]  # the early-morning bump


def test_curve_follows_the_configured_timezone() -> None:
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 27, tzinfo=tz)
    events = new_conversations(generate("black-friday", 2, start, DAY, timezone="America/New_York"))
    per_hour = collections.Counter(when(e).astimezone(tz).hour for e in events)
    assert max(range(24), key=lambda h: per_hour[h]) in {12, 13, 17, 18, 19}


def test_channel_priority_and_request_mix(bf_day: list[Event]) -> None:
    conversations = new_conversations(bf_day)
    channels = collections.Counter(
        "chat" if e["type"] == "chat.requested" else e["channel"] for e in conversations
    )
    assert set(channels) == CHANNELS
    assert channels.most_common(1)[0][0] == "chat"
    tickets = of_type(bf_day, "ticket.created")
    priorities = collections.Counter(e["priority"] for e in tickets)
    assert priorities.most_common(1)[0][0] == "normal"
    assert 0 < priorities["urgent"] < 0.15 * len(tickets)
    request_types = {e.get("request_type") for e in tickets}
    assert {"order_status", "returns", "payment", "product_question", "shipping"} <= request_types
    queues = {e["queue"] for e in of_type(bf_day, "ticket.created", "chat.requested")}
    assert queues == set(DEFAULT_QUEUES)


def test_custom_queues_are_the_only_queues_used() -> None:
    events = list(generate("normal", 9, BF_DAY + timedelta(hours=8), 8 * 3600, ("web", "vip")))
    assert not [e for e in events if contract_errors(e)]
    used = {e["queue"] for e in events if "queue" in e}
    for e in of_type(events, "agent.status_changed"):
        assert isinstance(e["queues"], list)
        used.update(e["queues"])
    assert used == {"web", "vip"}


# --------------------------------------------------------------------------------------------
# Chats, agents and the holiday squeeze
# --------------------------------------------------------------------------------------------

PEAK_HOURS = {12, 13, 17, 18, 19}


def test_black_friday_chats_wait_longer_and_are_missed_more(
    bf_day: list[Event], normal_day: list[Event]
) -> None:
    def missed_share(events: list[Event]) -> float:
        return len(of_type(events, "chat.abandoned")) / len(of_type(events, "chat.requested"))

    assert of_type(normal_day, "chat.abandoned") or of_type(bf_day, "chat.abandoned")
    assert missed_share(bf_day) > missed_share(normal_day)
    assert missed_share(bf_day) > 0.05
    assert statistics.fmean(chat_waits(bf_day, PEAK_HOURS)) > statistics.fmean(
        chat_waits(normal_day, PEAK_HOURS)
    )


def test_black_friday_staffing_lags_the_surge(bf_day: list[Event], normal_day: list[Event]) -> None:
    def agents(events: list[Event]) -> int:
        return len({e["agent_id"] for e in of_type(events, "agent.status_changed")})

    assert agents(normal_day) < agents(bf_day) < 3 * agents(normal_day)


def test_black_friday_backlog_comes_back_down(bf_day: list[Event]) -> None:
    # Tickets awaiting their first public agent reply, sampled at each local hour's end.
    awaiting: set[object] = set()
    by_hour: dict[int, int] = {}
    for e in bf_day:
        if e["type"] == "ticket.created" and "agent_id" not in e:
            awaiting.add(e["ticket_id"])
        elif (
            e["type"] == "ticket.replied" and e["author"] == "agent" and e.get("public", True)
        ) or (e["type"] == "ticket.status_changed" and e["status"] in {"solved", "closed"}):
            awaiting.discard(e["ticket_id"])
        by_hour[local_hour(e)] = len(awaiting)
    peak = max(by_hour.values())
    assert max(by_hour[h] for h in range(12, 22)) == peak  # it builds during the day
    assert by_hour[23] < 0.8 * peak  # and the late shift works it down


def test_chat_state_machine(bf_day: list[Event]) -> None:
    after_end = {"chat.rated", "chat.converted"}
    bot_only = 0
    for chat_id, events in by_conversation(bf_day, "chat_id").items():
        types = [e["type"] for e in events]
        assert types[0] == "chat.requested", chat_id
        assert types.count("chat.requested") == 1
        assert types.count("chat.accepted") <= 1
        if "chat.abandoned" in types:
            assert types[-1] == "chat.abandoned"
            assert "chat.accepted" not in types and "chat.ended" not in types
        if "chat.ended" in types:
            end = types.index("chat.ended")
            assert set(types[end + 1 :]) <= after_end, types
            if events[end].get("resolved_by") == "bot":
                bot_only += 1
                assert "chat.accepted" not in types
            else:
                assert "chat.accepted" in types
        if "chat.accepted" in types:
            accepted = types.index("chat.accepted")
            agent_msgs = [
                i
                for i, e in enumerate(events)
                if e["type"] == "chat.message" and e["author"] == "agent"
            ]
            assert all(i > accepted for i in agent_msgs)
    assert bot_only > 0


def test_agents_respect_presence_and_chat_capacity(bf_day: list[Event]) -> None:
    status: dict[object, str] = {}
    capacity: dict[object, int] = {}
    active: collections.Counter[object] = collections.Counter()
    holder: dict[object, object] = {}
    for e in bf_day:
        t = e["type"]
        if t == "agent.status_changed":
            assert e["queues"]
            status[e["agent_id"]] = str(e["status"])
            max_chats = e.get("max_chats", 1)
            assert isinstance(max_chats, int)
            capacity[e["agent_id"]] = max_chats
        elif t == "chat.accepted":
            agent = e["agent_id"]
            assert status.get(agent) == "online", e
            holder[e["chat_id"]] = agent
            active[agent] += 1
            assert active[agent] <= capacity[agent]
        elif t == "chat.transferred" and "agent_id" in e:
            old, new = holder[e["chat_id"]], e["agent_id"]
            active[old] -= 1
            active[new] += 1
            holder[e["chat_id"]] = new
            assert status.get(new) == "online" and active[new] <= capacity[new]
        elif t == "chat.ended" and e["chat_id"] in holder:
            active[holder.pop(e["chat_id"])] -= 1
        elif t == "ticket.assigned":
            assert status.get(e["agent_id"]) == "online", e
    statuses = {str(e["status"]) for e in of_type(bf_day, "agent.status_changed")}
    assert statuses == PRESENCE
    chat_caps = {
        e["max_chats"] for e in of_type(bf_day, "agent.status_changed") if e["max_chats"] != 1
    }
    assert chat_caps == {2, 3}


def test_chat_outcomes(bf_day: list[Event]) -> None:
    requested = of_type(bf_day, "chat.requested")
    assert any("campaign_id" in e for e in requested)
    assert any("customer_id" in e for e in requested)
    assert of_type(bf_day, "chat.transferred")
    converted = of_type(bf_day, "chat.converted")
    created = {e["ticket_id"]: e for e in of_type(bf_day, "ticket.created")}
    assert converted
    for e in converted:
        assert created[e["ticket_id"]]["channel"] == "chat"
    scores = [e["score"] for e in of_type(bf_day, "chat.rated", "ticket.rated")]
    satisfied = sum(1 for s in scores if s in (4, 5)) / len(scores)
    assert 0.6 < satisfied < 0.85  # e-commerce average ≈ 75 %
    messages = of_type(bf_day, "chat.message")
    assert {e["author"] for e in messages} == AUTHORS
    assert any("template_id" in e for e in messages)


# --------------------------------------------------------------------------------------------
# Tickets
# --------------------------------------------------------------------------------------------


def test_ticket_state_machine(bf_day: list[Event]) -> None:
    reopened = one_touch = 0
    for ticket_id, events in by_conversation(bf_day, "ticket_id").items():
        assert events[0]["type"] == "ticket.created", ticket_id
        statuses = [e.get("status") for e in events]
        if "closed" in statuses:
            assert statuses.index("closed") == len(events) - 1, "nothing after closed"
            assert "solved" in statuses
        for i, e in enumerate(events):
            if e["type"] in ("ticket.rated", "ticket.effort_rated"):
                assert "solved" in statuses[:i]
            if (
                e["type"] == "ticket.replied"
                and e["author"] == "customer"
                and "solved" in statuses[:i]
            ):
                reopened += 1
        public_agent = [
            e
            for e in events
            if e["type"] == "ticket.replied" and e["author"] == "agent" and e.get("public", True)
        ]
        if "solved" in statuses and len(public_agent) == 1:
            one_touch += 1
    assert reopened > 0
    assert one_touch > 0.2 * len(of_type(bf_day, "ticket.created"))


def test_ticket_lifecycle_variety(bf_day: list[Event]) -> None:
    changes = of_type(bf_day, "ticket.status_changed")
    assert {"open", "pending", "on_hold", "solved", "closed"} <= {e["status"] for e in changes}
    resolvers = {e.get("resolved_by", "agent") for e in changes if e["status"] == "solved"}
    assert resolvers == TICKET_RESOLVERS
    replies = of_type(bf_day, "ticket.replied")
    assert {e["author"] for e in replies} == AUTHORS
    assert any(e.get("public") is False for e in replies)
    assert any("template_id" in e and e["author"] == "agent" for e in replies)
    assert of_type(bf_day, "ticket.priority_changed")


def test_social_is_answered_faster_than_email(bf_day: list[Event]) -> None:
    created: dict[object, tuple[datetime, object]] = {}
    first: dict[object, list[float]] = collections.defaultdict(list)
    for e in bf_day:
        if e["type"] == "ticket.created":
            created[e["ticket_id"]] = (when(e), e["channel"])
        elif (
            e["type"] == "ticket.replied"
            and e["author"] == "agent"
            and e.get("public", True)
            and e["ticket_id"] in created
        ):
            at, channel = created.pop(e["ticket_id"])
            first[channel].append((when(e) - at).total_seconds())
    social, email = statistics.median(first["social"]), statistics.median(first["email"])
    assert social < 2 * 3600
    assert social < email


# --------------------------------------------------------------------------------------------
# Commerce
# --------------------------------------------------------------------------------------------


def test_self_service_deflection_is_20_to_30_percent(bf_day: list[Event]) -> None:
    sessions = of_type(bf_day, "selfservice.session")
    assert len(sessions) > 500
    share = sum(1 for e in sessions if e["resolved"]) / len(sessions)
    assert 0.20 <= share <= 0.30


def test_orders_amounts_currencies_and_assisted_customers(bf_day: list[Event]) -> None:
    orders = of_type(bf_day, "order.placed")
    assert all(re.fullmatch(r"\d+\.\d{2}", str(e["amount"])) for e in orders)
    currencies = collections.Counter(e["currency"] for e in orders)
    assert sum(currencies[c] for c in ("EUR", "USD", "CZK")) > 0.8 * len(orders)
    contacted = {
        e["customer_id"]
        for e in of_type(bf_day, "ticket.created", "chat.requested")
        if "customer_id" in e
    }
    assisted = [e for e in orders if e["customer_id"] in contacted]
    assert 0.05 * len(orders) < len(assisted) < len(orders)


def test_customers_come_back(bf_day: list[Event]) -> None:
    contacts = collections.Counter(
        e["customer_id"]
        for e in of_type(bf_day, "ticket.created", "chat.requested")
        if "customer_id" in e and e.get("channel") != "chat"
    )
    assert any(n > 1 for n in contacts.values())


# --------------------------------------------------------------------------------------------
# Arguments and properties over random runs
# --------------------------------------------------------------------------------------------


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate("cyber-monday", 1, BF_DAY, 60)
    with pytest.raises(ValueError):
        generate("normal", 1, datetime(2026, 11, 27), 60)  # naive
    with pytest.raises(ValueError):
        generate("normal", 1, BF_DAY, -1)
    with pytest.raises(ValueError):
        generate("normal", 1, BF_DAY, 60, queues=())
    with pytest.raises(ValueError):
        generate("normal", 1, BF_DAY, 60, timezone="Mars/Olympus")


def test_profiles_are_documented_knobs() -> None:
    assert set(PROFILES) == {"normal", "black-friday", "christmas"}
    assert all(isinstance(p, Profile) for p in PROFILES.values())
    normal, bf = PROFILES["normal"], PROFILES["black-friday"]
    assert bf.peak_conversations_per_hour == 3 * normal.peak_conversations_per_hour


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    profile=st.sampled_from(sorted(PROFILES)),
    seed=st.integers(min_value=0, max_value=2**63),
    # Anywhere in 2026, DST switches included, to the microsecond.
    offset_us=st.integers(min_value=0, max_value=365 * 86400 * 10**6),
    duration=st.floats(min_value=0.0, max_value=3 * 3600.0, allow_nan=False),
    tz_name=st.sampled_from(["Europe/Prague", "America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_any_run_is_ordered_valid_and_inside_the_window(
    profile: str, seed: int, offset_us: int, duration: float, tz_name: str
) -> None:
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(tz_name)) + timedelta(microseconds=offset_us)
    end = start + timedelta(seconds=duration)
    previous = start
    ids: set[object] = set()
    for e in generate(profile, seed, start, duration, timezone=tz_name):
        assert contract_errors(e) == []
        at = when(e)
        assert previous <= at <= end
        previous = at
        assert e["event_id"] not in ids
        ids.add(e["event_id"])
