"""Who is rostered: head counts per shift and queue from the profile's own peak load.

Two pools, chat agents (``max_chats`` 2–3) and ticket agents (``max_chats`` 1). Each pool is
sized from the profile's own peak load — chat Erlangs ÷ (slots × ``chat_target_occupancy``),
ticket agent-touches ÷ ``ticket_target_occupancy`` — times ``chat_staffing`` /
``ticket_staffing``, and spread over overlapping local-time shifts (``Shift.coverage``, ~1.0 of
the peak head count at 12–14 h and 17–20 h, a late shift, a skeleton night crew), thinned on
quieter weekdays. Agents get a primary queue in proportion to queue traffic (D'Hondt); a queue
nobody on a shift has as primary is served by the whole shift, and about a third of chat agents
also serve a neighbouring queue. Black Friday staffs chat at 1.65× and tickets at 2.55× the
normal head count for 3× the volume (Christmas 1.5×/2× for 2.5×): staffing lags the surge, so
the chat queue builds and abandonment climbs at the peaks, the ticket backlog grows through the
day, and the evening shift works it back down.

The roster depends on the profile and the queues only, never on the seed or the traffic: the
same company works every run, so agent ids (and their scorecards) carry over between runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stream.simulator.profiles import Profile
from stream.simulator.roster import Agent


def rostered_agents(
    profile: Profile, queues: tuple[str, ...], queue_of: Mapping[str, str]
) -> list[Agent]:
    """Head counts per shift from the peak load, split over queues by their traffic share.

    Chat agents form one pool sized on the total chat load (slots = `max_chats`), ticket
    agents one pool sized on agent-touches; each agent gets a primary queue by the D'Hondt
    rule so big queues get most people, and every queue without a primary agent on a shift
    is served by all of that shift's agents (nobody's queue is left unattended).
    """
    p = profile
    peak = p.peak_conversations_per_hour * p.scale
    shares: dict[str, float] = dict.fromkeys(queues, 0.0)
    total_w = sum(w for _, w in p.request_mix)
    for rtype, w in p.request_mix:
        shares[queue_of[rtype]] += w / total_w
    chat_share = dict(p.channel_mix).get("chat", 0.0) / sum(w for _, w in p.channel_mix)
    chats_h = peak * chat_share * (1 - p.bot_chat_ratio)
    chats_h += peak * p.campaigns_per_conversation * p.campaign_chat_ratio
    tickets_h = peak * (1 - chat_share)
    mean_slots = sum(p.max_chats) / len(p.max_chats)
    # Agent-touches per ticket (first reply, follow-ups, net of bot and self-service).
    touches = 1.4
    work = (p.first_reply_work_seconds + p.follow_up_work_seconds) / 2
    chat_erlangs = chats_h * p.chat_handle_seconds / 3600
    ticket_erlangs = tickets_h * touches * work / 3600
    need = {
        "c": chat_erlangs / (mean_slots * p.chat_target_occupancy) * p.chat_staffing,
        "t": ticket_erlangs / p.ticket_target_occupancy * p.ticket_staffing,
    }
    served = [q for q in queues if shares[q] > 0] or list(queues)
    agents: list[Agent] = []
    for kind in ("c", "t"):
        is_chat = kind == "c"
        ranks = dict.fromkeys(queues, 0)
        for si, shift in enumerate(p.shifts):
            base = need[kind] * shift.coverage
            if base <= 0:
                continue
            per_day = [max(1, round(base * f)) for f in p.weekday_factors]
            primaries = _dhondt(served, shares, max(per_day))
            # Queues left without a primary agent on the thinnest day of this shift.
            orphans = tuple(q for q in served if q not in primaries[: min(per_day)])
            for i, primary in enumerate(primaries):
                serves = (primary, *(q for q in orphans if q != primary))
                # Deterministic and seed-independent: the roster is the same company
                # whatever the traffic seed.
                if (
                    is_chat
                    and len(served) > 1
                    and (i * 37 + si * 11) % 100 < (p.multi_queue_ratio * 100)
                ):
                    nxt = served[(served.index(primary) + 1) % len(served)]
                    if nxt not in serves:
                        serves = (*serves, nxt)
                ranks[primary] += 1
                agent = Agent(
                    id=f"agent-{primary}-{kind}{ranks[primary]:02d}",
                    queues=serves,
                    max_chats=p.max_chats[i % len(p.max_chats)] if is_chat else 1,
                    is_chat=is_chat,
                    shift=shift,
                    days=tuple(i < n for n in per_day),
                )
                agents.append(agent)
    return agents


def _dhondt(queues: Sequence[str], shares: Mapping[str, float], n: int) -> list[str]:
    """Primary queue of each of `n` agents, in rank order, proportional to `shares`."""
    given = dict.fromkeys(queues, 0)
    out: list[str] = []
    for _ in range(n):
        q = max(queues, key=lambda q: shares[q] / (given[q] + 1))
        given[q] += 1
        out.append(q)
    return out
