"""Staffing math: how many agents a live queue needs, and how a queue fares with the agents it has.

Models (all time in seconds; load in Erlangs = arrival rate × average handle time):

- **Erlang B** (M/M/N/N) by the recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)). Every step
  stays in [0, 1], so loads of thousands of Erlangs neither overflow nor need factorials; for
  N ≫ A the value underflows gracefully to 0.
- **Erlang C** (M/M/N, customers wait forever), derived from Erlang B:
  C = N·B / (N − A(1 − B)) for N > A, and C = 1 for N ≤ A (the queue grows without bound).
  Service level SL(T) = 1 − C·e^(−(N−A)·T/AHT), average speed of answer ASA = C·AHT/(N − A),
  occupancy A/N.
- **Erlang A** (M/M/N+M, Palm 1946): patience is exponential with mean `patience_seconds`.
  Formulation: A. Mandelbaum and S. Zeltyn, "The M/M/n+G queue: summary of performance measures"
  (Technion, 2005), section on exponential patience, also Garnett, Mandelbaum & Reiman,
  "Designing a call center with impatient customers", MSOM 4(3), 2002. With μ = 1/AHT,
  θ = 1/patience, b = Nμ/θ, y = λ/θ, E = Erlang B(N, A) and γ the lower incomplete gamma
  function:

      J       = b · e^y · y^(−b) · γ(b, y)                   (their A(x, y))
      P(wait) = J·E / (1 + (J − 1)·E)
      P(V > t | wait) = γ(b, y·e^(−θt)) / γ(b, y)            (V: the offered wait)
      P(abandon | wait) = 1 − γ(b + 1, y) / (y·γ(b, y))      (= 1/(ρJ) + 1 − 1/ρ, ρ = A/N)
      mean wait (all arrivals, served or not) = P(abandon) · patience

  The service level counts only customers who are *answered* within T (an abandoned customer
  never counts as answered, however early they left). A customer is answered within T when
  V ≤ T and V < own patience τ, so P = E[e^(−θV); V ≤ T]; integrating the density of V above
  gives
      P(answered within T | wait) = (γ(b + 1, y) − γ(b + 1, y·e^(−θT))) / (y·γ(b, y)).
  γ is evaluated in log space (power series below the transition point, Lentz continued fraction
  above it), so b and y in the hundreds of thousands are fine. patience = 0 is the Erlang B limit
  (whoever would wait leaves at once).

  Caveat on comparing with Erlang C: abandonment always lowers P(wait) and the mean wait, and
  the share whose *offered* wait is within T never falls below Erlang C's service level. The
  share *answered* within T can fall below it, though: an Erlang C caller who waits 2 minutes
  still counts as answered when T is 10 minutes, while an impatient Erlang A caller hangs up.
  With long targets relative to patience, or targets near 100 %, Erlang A can therefore ask
  for more agents than Erlang C (e.g. 10 E, AHT 180 s, 95 % within 600 s, patience 30 s: 14
  agents against 11). For the usual chat/phone targets (seconds, 80–90 %) it asks for fewer.

Decisions (documented here because the gauges and the CLI rely on them):

- **Concurrency.** An agent handling up to C chats at once is modelled as C independent servers,
  so N agents = N·C servers and the required agents = ceil(required servers / C). This assumes
  the measured chat handle time already reflects the slower pace of concurrent work (it does
  when it is measured from accept to end per chat); occupancy is then the share of chat slots
  in use. `offered_load_erlangs` is in conversations (server units), not agents.
- **Unstable queue.** With Erlang C and N·C ≤ A, or with no agents at all, the service level is
  0 and the predicted wait is `WAIT_CAP_SECONDS` (3600 s): Prometheus gauges must stay finite
  for alert rules and JSON has no infinity. Erlang C waits above the cap are reported as the
  cap. Erlang A is always stable (callers leave), its mean wait never exceeds the patience.
- **No arrivals** need 0 agents; the service level is then 1 and the wait 0.
- **`max_occupancy`** is applied to the offered load (A/(N·C) ≤ max); with abandonment the
  carried load is lower, so the reported occupancy is within the limit too.
- **Tickets and email** are not queues anyone watches in real time; Erlang C over hours is
  meaningless there. `required_agents_workload` sizes them by plain workload: the hourly
  arrivals' handle time, plus the handle time of the current backlog spread over the window in
  which it must be cleared, divided by the target occupancy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WAIT_CAP_SECONDS = 3600.0
"""Finite stand-in for an unbounded wait (Prometheus and JSON both need a finite number)."""

_MAX_SERVERS = 10_000_000  # a guard against a target that rounding makes unreachable
_EPS = 1e-15
_TINY_SHAPE = 1e-250  # smaller b or y: the gamma terms leave the float range; Erlang B is exact
_CEIL_SLACK = 1e-9  # 8.0 / 0.8 must give 10 agents, not 11 through a rounding ulp


@dataclass(frozen=True, slots=True)
class StaffingResult:
    """Figures for the required agent count (the `staffing --json` object, CONTRACT §6)."""

    required_agents: int
    offered_load_erlangs: float
    service_level_ratio: float
    predicted_wait_seconds: float
    occupancy_ratio: float

    def to_json_dict(self) -> dict[str, int | float]:
        return {
            "required_agents": self.required_agents,
            "offered_load_erlangs": self.offered_load_erlangs,
            "service_level_ratio": self.service_level_ratio,
            "predicted_wait_seconds": self.predicted_wait_seconds,
            "occupancy_ratio": self.occupancy_ratio,
        }


@dataclass(frozen=True, slots=True)
class QueuePrediction:
    """How a queue fares with a given number of agents (the live staffing gauges).

    `wait_probability` is the share of arrivals who find every slot busy; `abandonment_ratio`
    the share who leave before an answer (always 0 under Erlang C).
    """

    agents: int
    offered_load_erlangs: float
    service_level_ratio: float
    predicted_wait_seconds: float
    occupancy_ratio: float
    wait_probability: float
    abandonment_ratio: float


@dataclass(frozen=True, slots=True)
class ErlangAMetrics:
    """M/M/N+M figures; every ratio is a share of all arrivals.

    `service_level_ratio` counts only customers answered within T. `offered_wait_within_ratio`
    is the share whose offered wait (the wait they would have had, had they not given up) is
    within T; it is the measure under which abandonment provably never hurts compared with
    Erlang C, and the gap between the two is the early abandoners.
    """

    wait_probability: float
    abandonment_ratio: float
    service_level_ratio: float
    offered_wait_within_ratio: float
    mean_wait_seconds: float
    occupancy_ratio: float


# ---------------------------------------------------------------------------------------------
# Erlang B and C


def offered_load(arrival_rate_per_second: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: the average number of conversations in service at once."""
    _check_rate(arrival_rate_per_second)
    _check_positive("aht_seconds", aht_seconds)
    return arrival_rate_per_second * aht_seconds


def erlang_b(servers: int, load_erlangs: float) -> float:
    """Blocking probability of M/M/N/N."""
    _check_servers(servers)
    _check_load(load_erlangs)
    b = 1.0
    for n in range(1, servers + 1):
        b = load_erlangs * b / (n + load_erlangs * b)
    return b


def erlang_c(servers: int, load_erlangs: float) -> float:
    """Probability that an arrival waits in M/M/N (1.0 when N ≤ A: the queue never empties)."""
    _check_servers(servers)
    _check_load(load_erlangs)
    return _erlang_c_from_b(servers, load_erlangs, erlang_b(servers, load_erlangs))


def service_level_erlang_c(
    servers: int, load_erlangs: float, aht_seconds: float, within_seconds: float
) -> float:
    """Share of arrivals answered within `within_seconds` under Erlang C."""
    _check_positive("aht_seconds", aht_seconds)
    _check_non_negative("within_seconds", within_seconds)
    c = erlang_c(servers, load_erlangs)
    return _service_level_c(servers, load_erlangs, c, aht_seconds, within_seconds)


def average_speed_of_answer(servers: int, load_erlangs: float, aht_seconds: float) -> float:
    """Erlang C mean wait in seconds; `math.inf` when N ≤ A (callers apply their own cap)."""
    _check_positive("aht_seconds", aht_seconds)
    c = erlang_c(servers, load_erlangs)
    if load_erlangs == 0.0:
        return 0.0
    if servers <= load_erlangs:
        return math.inf
    return c * aht_seconds / (servers - load_erlangs)


def _erlang_c_from_b(servers: int, load: float, b: float) -> float:
    if load == 0.0:
        return 0.0
    if servers <= load:
        return 1.0
    return _clamp01(servers * b / (servers - load * (1.0 - b)))


def _service_level_c(servers: int, load: float, c: float, aht: float, within: float) -> float:
    if load == 0.0:
        return 1.0
    if servers <= load:
        return 0.0
    return _clamp01(1.0 - c * math.exp(-(servers - load) * within / aht))


# ---------------------------------------------------------------------------------------------
# Erlang A


def erlang_a(
    servers: int,
    load_erlangs: float,
    aht_seconds: float,
    patience_seconds: float,
    within_seconds: float,
) -> ErlangAMetrics:
    """M/M/N+M performance (see the module docstring for the formulation)."""
    _check_servers(servers)
    _check_load(load_erlangs)
    _check_positive("aht_seconds", aht_seconds)
    _check_non_negative("patience_seconds", patience_seconds)
    _check_non_negative("within_seconds", within_seconds)
    load = load_erlangs
    if load == 0.0:
        return ErlangAMetrics(0.0, 0.0, 1.0, 1.0, 0.0, 0.0)
    if servers == 0:
        # Nobody is ever answered; everyone waits out their patience.
        return ErlangAMetrics(1.0, 1.0, 0.0, 0.0, patience_seconds, 0.0)
    e = erlang_b(servers, load)
    b = servers * patience_seconds / aht_seconds
    y = load * patience_seconds / aht_seconds
    if min(b, y) < _TINY_SHAPE:
        # Limit θ → ∞: whoever finds all servers busy leaves at once, the Erlang B loss system.
        # Their offered wait is still positive, so only the unblocked count as offered ≤ T.
        # (Also where patience or load is so small that b or y would underflow below.)
        return ErlangAMetrics(e, e, 1.0 - e, 1.0 - e, 0.0, load * (1.0 - e) / servers)

    lg_b_y = _log_lower_gamma(b, y)

    p_wait = _erlang_a_wait_probability(e, b, y, lg_b_y)
    # γ(b+1, y) / (y γ(b, y)): the chance a waiting customer is eventually answered.
    lg_b1_y = _log_lower_gamma(b + 1.0, y)
    answered_if_waiting = _clamp01(math.exp(lg_b1_y - math.log(y) - lg_b_y))
    p_abandon = _clamp01(p_wait * (1.0 - answered_if_waiting))

    y_t = y * math.exp(-within_seconds / patience_seconds)
    if y_t <= 0.0:
        answered_within_if_waiting = answered_if_waiting
        offered_over_t_if_waiting = 0.0
    else:
        lg_b1_yt = _log_lower_gamma(b + 1.0, y_t)
        answered_within_if_waiting = answered_if_waiting * -math.expm1(lg_b1_yt - lg_b1_y)
        offered_over_t_if_waiting = _clamp01(math.exp(_log_lower_gamma(b, y_t) - lg_b_y))
    service_level = _clamp01(1.0 - p_wait + p_wait * answered_within_if_waiting)

    occupancy = _clamp01(load * (1.0 - p_abandon) / servers)
    return ErlangAMetrics(
        wait_probability=p_wait,
        abandonment_ratio=p_abandon,
        service_level_ratio=service_level,
        offered_wait_within_ratio=_clamp01(1.0 - p_wait * offered_over_t_if_waiting),
        mean_wait_seconds=p_abandon * patience_seconds,
        occupancy_ratio=occupancy,
    )


def _erlang_a_wait_probability(e: float, b: float, y: float, lg_b_y: float) -> float:
    """P(wait) = J·E / (1 + (J − 1)·E) = J·E / ((1 − E) + J·E), evaluated with logarithms."""
    if e <= 0.0:
        return 0.0
    if e >= 1.0:
        return 1.0
    log_je = math.log(b) + y - b * math.log(y) + lg_b_y + math.log(e)
    log_denominator = _log_add(math.log1p(-e), log_je)
    return _clamp01(math.exp(log_je - log_denominator))


def _log_add(a: float, b: float) -> float:
    hi, lo = (a, b) if a >= b else (b, a)
    if lo == -math.inf:
        return hi
    return hi + math.log1p(math.exp(lo - hi))


def _log_lower_gamma(a: float, x: float) -> float:
    """log γ(a, x), the lower incomplete gamma function, for a > 0, x ≥ 0.

    Below x = a + 1 the power series converges and every term is at most the first one; above it
    the continued fraction for the upper function Γ(a, x) converges quickly and γ = Γ(a) − Γ(a, x)
    loses nothing because Γ(a, x)/Γ(a) < 1/2 there. (Numerical Recipes, 3rd ed., §6.2.)
    """
    if x <= 0.0:
        return -math.inf
    log_prefix = a * math.log(x) - x
    max_iter = 1000 + 50 * int(math.sqrt(a + x))
    if x < a + 1.0:
        term = 1.0 / a
        total = term
        for m in range(1, max_iter):
            term *= x / (a + m)
            total += term
            if term < total * _EPS:
                return log_prefix + math.log(total)
        raise ArithmeticError(f"incomplete gamma series did not converge (a={a}, x={x})")
    # Modified Lentz for Γ(a, x) = e^(−x) x^a / (x + 1 − a − 1(1 − a)/(x + 3 − a − …)).
    tiny = 1e-300
    bb = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / bb
    h = d
    for i in range(1, max_iter):
        an = -i * (i - a)
        bb += 2.0
        d = an * d + bb
        if abs(d) < tiny:
            d = tiny
        c = bb + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            log_upper = log_prefix + math.log(h)
            lg = math.lgamma(a)
            return lg + math.log1p(-math.exp(log_upper - lg))
    raise ArithmeticError(f"incomplete gamma fraction did not converge (a={a}, x={x})")


# ---------------------------------------------------------------------------------------------
# The two questions the product asks


def evaluate(
    agents: int,
    arrival_rate_per_second: float,
    aht_seconds: float,
    within_seconds: float,
    concurrency: int = 1,
    patience_seconds: float | None = None,
) -> QueuePrediction:
    """Predicted service level, wait and occupancy with `agents` agents working the queue.

    Erlang C without `patience_seconds`, Erlang A with it. An unstable Erlang C queue (or no
    agents) reports service level 0 and wait `WAIT_CAP_SECONDS`.
    """
    _check_servers(agents)
    load = offered_load(arrival_rate_per_second, aht_seconds)
    _check_non_negative("within_seconds", within_seconds)
    _check_concurrency(concurrency)
    if patience_seconds is not None:
        _check_non_negative("patience_seconds", patience_seconds)
    servers = agents * concurrency
    if patience_seconds is None:
        return _evaluate_c(agents, servers, load, aht_seconds, within_seconds)
    m = erlang_a(servers, load, aht_seconds, patience_seconds, within_seconds)
    return QueuePrediction(
        agents=agents,
        offered_load_erlangs=load,
        service_level_ratio=m.service_level_ratio,
        predicted_wait_seconds=min(m.mean_wait_seconds, WAIT_CAP_SECONDS),
        occupancy_ratio=m.occupancy_ratio,
        wait_probability=m.wait_probability,
        abandonment_ratio=m.abandonment_ratio,
    )


def _evaluate_c(
    agents: int, servers: int, load: float, aht: float, within: float
) -> QueuePrediction:
    if load == 0.0:
        return QueuePrediction(agents, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if servers <= load:
        occupancy = 1.0 if servers > 0 else 0.0
        return QueuePrediction(agents, load, 0.0, WAIT_CAP_SECONDS, occupancy, 1.0, 0.0)
    c = erlang_c(servers, load)
    asa = c * aht / (servers - load)
    return QueuePrediction(
        agents=agents,
        offered_load_erlangs=load,
        service_level_ratio=_service_level_c(servers, load, c, aht, within),
        predicted_wait_seconds=min(asa, WAIT_CAP_SECONDS),
        occupancy_ratio=load / servers,
        wait_probability=c,
        abandonment_ratio=0.0,
    )


def required_agents(
    arrival_rate_per_second: float,
    aht_seconds: float,
    target_ratio: float,
    within_seconds: float,
    concurrency: int = 1,
    patience_seconds: float | None = None,
    max_occupancy: float | None = None,
) -> StaffingResult:
    """The smallest agent count that answers `target_ratio` of arrivals within `within_seconds`.

    Erlang C without `patience_seconds`; Erlang A with it, where an abandoned customer is never
    counted as answered. `max_occupancy` additionally caps A/(N·C).
    """
    load = offered_load(arrival_rate_per_second, aht_seconds)
    if not (math.isfinite(target_ratio) and 0.0 < target_ratio < 1.0):
        raise ValueError(f"target_ratio must be in (0, 1), got {target_ratio!r}")
    _check_non_negative("within_seconds", within_seconds)
    _check_concurrency(concurrency)
    if patience_seconds is not None:
        _check_non_negative("patience_seconds", patience_seconds)
    if max_occupancy is not None and not (
        math.isfinite(max_occupancy) and 0.0 < max_occupancy <= 1.0
    ):
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")

    if load == 0.0:
        return StaffingResult(0, 0.0, 1.0, 0.0, 0.0)
    if patience_seconds is None:
        servers = _required_servers_c(load, aht_seconds, target_ratio, within_seconds)
    else:
        servers = _required_servers_a(
            load, aht_seconds, target_ratio, within_seconds, patience_seconds
        )
    if max_occupancy is not None:
        servers = max(servers, _ceil(load / max_occupancy))
    agents = -(-servers // concurrency)
    p = evaluate(
        agents, arrival_rate_per_second, aht_seconds, within_seconds, concurrency, patience_seconds
    )
    return StaffingResult(
        required_agents=agents,
        offered_load_erlangs=load,
        service_level_ratio=p.service_level_ratio,
        predicted_wait_seconds=p.predicted_wait_seconds,
        occupancy_ratio=p.occupancy_ratio,
    )


def _required_servers_c(load: float, aht: float, target: float, within: float) -> int:
    # SL rises with N, and the first N that can meet any target is the first one above A, so one
    # pass of the Erlang B recursion up to the answer finds it: O(N) work in total.
    first = math.floor(load) + 1
    b = 1.0
    for n in range(1, first + 1):
        b = load * b / (n + load * b)
    n = first
    while True:
        c = _erlang_c_from_b(n, load, b)
        if _service_level_c(n, load, c, aht, within) >= target:
            return n
        n += 1
        if n > _MAX_SERVERS:
            raise ValueError("service level target is out of numerical reach")
        b = load * b / (n + load * b)


def _required_servers_a(
    load: float, aht: float, target: float, within: float, patience: float
) -> int:
    # Abandonment keeps even N < A stable, so the answer can lie anywhere from 1 upwards. Each
    # evaluation is O(N + sqrt(load·patience/AHT)): gallop up to a count that meets the target,
    # then bisect (the service level rises with N).
    def meets(n: int) -> bool:
        return erlang_a(n, load, aht, patience, within).service_level_ratio >= target

    hi = max(1, math.floor(load))
    lo = 0  # 0 servers never meet a positive target when anyone arrives
    while not meets(hi):
        lo = hi
        hi *= 2
        if hi > _MAX_SERVERS:
            raise ValueError("service level target is out of numerical reach")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------------------------------------
# Inputs the models need from measurements, and the non-queueing workload model


def estimate_patience(
    total_wait_seconds_all_customers: float, abandoned_count: int
) -> float | None:
    """Maximum-likelihood mean patience under exponential patience.

    Every customer who waited contributes their time in queue as exposure (served customers are
    censored observations: their patience was at least their wait); each abandonment is one
    event. The MLE of the mean is exposure ÷ events. None without abandonments: then the data
    only bound patience from below and Erlang C is the honest model.
    """
    _check_non_negative("total_wait_seconds_all_customers", total_wait_seconds_all_customers)
    if isinstance(abandoned_count, bool) or abandoned_count < 0:
        raise ValueError(f"abandoned_count must be a non-negative int, got {abandoned_count!r}")
    if abandoned_count == 0:
        return None
    return total_wait_seconds_all_customers / abandoned_count


def required_agents_workload(
    arrivals_per_hour: float,
    aht_seconds: float,
    target_occupancy: float,
    backlog: int = 0,
    backlog_clear_seconds: float | None = None,
) -> int:
    """Agents for a ticket/email queue: ceil(workload / target occupancy).

    Workload (in agents kept busy) = arrivals_per_hour × AHT / 3600, plus backlog × AHT /
    backlog_clear_seconds to work the current backlog off within that window. Responses are
    promised in hours, so queueing delay is not what limits these queues; sheer work is.
    """
    _check_rate(arrivals_per_hour)
    _check_positive("aht_seconds", aht_seconds)
    if not (math.isfinite(target_occupancy) and 0.0 < target_occupancy <= 1.0):
        raise ValueError(f"target_occupancy must be in (0, 1], got {target_occupancy!r}")
    if isinstance(backlog, bool) or backlog < 0:
        raise ValueError(f"backlog must be a non-negative int, got {backlog!r}")
    workload = arrivals_per_hour * aht_seconds / 3600.0
    if backlog > 0:
        if backlog_clear_seconds is None:
            raise ValueError("a backlog needs backlog_clear_seconds: the window to clear it in")
        _check_positive("backlog_clear_seconds", backlog_clear_seconds)
        workload += backlog * aht_seconds / backlog_clear_seconds
    return _ceil(workload / target_occupancy)


# ---------------------------------------------------------------------------------------------
# Validation helpers


def _ceil(x: float) -> int:
    return max(0, math.ceil(x - _CEIL_SLACK))


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")


def _check_rate(value: float) -> None:
    _check_non_negative("arrival rate", value)


def _check_load(value: float) -> None:
    _check_non_negative("load_erlangs", value)


def _check_servers(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"agent/server count must be a non-negative int, got {value!r}")


def _check_concurrency(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {value!r}")
