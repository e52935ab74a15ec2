"""The committed boards' trickiest queries, evaluated by promtool against hand-made series.

Each case takes a panel's query as Grafana would send it (grafana/panel_queries.py substitutes
the variables) and checks it against values computed by hand: SLA compliance with and without a
queue selected, breaches projected summed over queues, the channel mix with live chat in it
and without any traffic, and the live floor's chat service level, abandon rate, agents short and
missed chats per queue.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import require_tool
from tests.scripts import load

pytestmark = pytest.mark.integration



PQ = load("grafana/panel_queries.py")


def expr(board: str, panel: str, ref: int = 0, **variables: str) -> str:
    for b in PQ.load_dashboards():
        if b["uid"] != board:
            continue
        for p in PQ._panels(b["panels"]):
            if p["title"] == panel:
                raw = p["targets"][ref]["expr"]
                return str(PQ.substitute(raw, rate_interval="5m", range_="1h", **variables))
    raise KeyError((board, panel))


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    text = ", ".join(f'{k}="{v}"' for k, v in {"job": "supportpulse", **labels}.items())
    return {"series": f"{name}{{{text}}}", "values": values}


# One hour at 1-minute steps: `0+Nx60` ends at 60·N, so increase over [1h] at 60m is 60·N
# (the comments give 60·N; the ratios below are those of N).
TRAFFIC = [
    series("support_tickets_created_total", "0+6x60", instance="w1", channel="email",
           priority="normal"),                                       # 360 email tickets
    series("support_tickets_created_total", "0+2x60", instance="w1", channel="chat",
           priority="normal"),                                       # 120 converted chats
    series("support_chats_requested_total", "0+3x60", instance="w1", queue="orders"),  # 180
    series("support_chats_requested_total", "0+7x60", instance="w2",
           queue="returns"),                                         # 420 live chats
    series("support_sla_breaches_total", "0+5x60", instance="w1", channel="chat",
           priority="normal", target="first_response"),              # 300 chat breaches
    series("support_sla_breaches_total", "0+1x60", instance="w2", channel="email",
           priority="normal", target="first_response"),              # 60 email breaches
    # Stage-two projections: one owner per queue; w2 still exports a stale orders value.
    series("support_sla_breaches_projected", "4x60", instance="w1", queue="orders",
           horizon="30m"),
    series("support_sla_breaches_projected", "4x60", instance="w2", queue="orders",
           horizon="30m"),
    series("support_sla_breaches_projected", "3x60", instance="w2", queue="returns",
           horizon="30m"),
]
QUIET = [
    series("support_tickets_created_total", "5x60", instance="w1", channel="email",
           priority="normal"),
    series("support_chats_requested_total", "5x60", instance="w1", queue="orders"),
]


def promtool_cases(input_series: list[dict[str, str]], cases: list[dict[str, Any]],
                   tmp_path: Path) -> None:
    path = tmp_path / "panels_test.yml"
    path.write_text(yaml.safe_dump({
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series,
                   "promql_expr_test": [{"eval_time": "60m", **case} for case in cases]}],
    }))
    result = subprocess.run([require_tool("promtool"), "test", "rules", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sla_compliance_is_the_hand_computed_value_whatever_queue_is_selected(
    tmp_path: Path,
) -> None:
    # Per minute: first response, every channel: 6 breaches ÷ (8 tickets + 10 chats) → 1 − 6/18.
    # By channel: chat 1 − 5 / (2 converted-chat tickets + 10 live chats), email 1 − 1/6.
    # With queue "orders" (3 of the 10 chats) the old query divided all breaches by 3 chats.
    cases = []
    for queue in (".*", "orders", "returns"):
        cases.append({
            "expr": expr("supportpulse-sla", "SLA compliance (1h)", 0, queue=queue),
            "exp_samples": [{"labels": "{}", "value": 1 - 6 / 18}],
        })
        cases.append({
            "expr": expr("supportpulse-sla", "First response SLA compliance by channel (1h)",
                         queue=queue),
            "exp_samples": [{"labels": '{channel="chat"}', "value": 1 - 5 / 12},
                            {"labels": '{channel="email"}', "value": 1 - 1 / 6}],
        })
    promtool_cases(TRAFFIC, cases, tmp_path)


def test_breaches_projected_is_the_sum_over_queues(tmp_path: Path) -> None:
    promtool_cases(TRAFFIC, [
        {"expr": expr("supportpulse-sla", "Breaches projected"),
         "exp_samples": [{"labels": '{horizon="30m"}', "value": 7}]},
        {"expr": expr("supportpulse-sla", "Breaches projected", queue="returns"),
         "exp_samples": [{"labels": '{horizon="30m"}', "value": 3}]},
    ], tmp_path)


def test_channel_mix_counts_live_chat_and_is_empty_without_traffic(tmp_path: Path) -> None:
    mix = expr("supportpulse-live-floor", "Channel mix (1h)")
    # 6 email tickets and 10 live chats a minute; converted-chat tickets are not new contacts.
    promtool_cases(TRAFFIC, [{"expr": mix, "exp_samples": [
        {"labels": '{channel="chat"}', "value": 10 / 16},
        {"labels": '{channel="email"}', "value": 6 / 16},
    ]}], tmp_path)
    promtool_cases(QUIET, [{"expr": mix, "exp_samples": []}], tmp_path)


# The live floor's wallboard stats and queue table. Per minute: orders 5 chats accepted (4 within
# the 120 s target), 1 abandoned, 10 requested; returns 2 accepted (both within), none abandoned
# (no missed series at all), 10 requested; payments 1 abandoned, 2 requested, none accepted
# (no wait histogram at all). Staffing gap: orders 2 short (reported by two workers during a
# rebalance), returns 1 spare, payments 3 short.
FLOOR = [
    series("support_chat_wait_seconds_bucket", "0+4x60", instance="w1", queue="orders",
           le="120.0"),
    series("support_chat_wait_seconds_count", "0+5x60", instance="w1", queue="orders"),
    series("support_chats_missed_total", "0+1x60", instance="w1", queue="orders"),
    series("support_chats_requested_total", "0+10x60", instance="w1", queue="orders"),
    series("support_chat_wait_seconds_bucket", "0+2x60", instance="w2", queue="returns",
           le="120.0"),
    series("support_chat_wait_seconds_count", "0+2x60", instance="w2", queue="returns"),
    series("support_chats_requested_total", "0+10x60", instance="w2", queue="returns"),
    series("support_chats_missed_total", "0+1x60", instance="w2", queue="payments"),
    series("support_chats_requested_total", "0+2x60", instance="w2", queue="payments"),
    series("support_staffing_gap_agents", "2x60", instance="w1", queue="orders"),
    series("support_staffing_gap_agents", "2x60", instance="w2", queue="orders"),
    series("support_staffing_gap_agents", "-1x60", instance="w2", queue="returns"),
    series("support_staffing_gap_agents", "3x60", instance="w2", queue="payments"),
]
LIVE = "supportpulse-live-floor"


def test_chat_service_level_is_within_target_over_accepted_and_abandoned(tmp_path: Path) -> None:
    sl = "Chat service level (30m)"
    promtool_cases(FLOOR, [
        # 30 minutes: (4 + 2) × 30 within ÷ ((5 + 2) × 30 accepted + (1 + 1) × 30 abandoned)
        {"expr": expr(LIVE, sl), "exp_samples": [{"labels": "{}", "value": 6 / 9}]},
        {"expr": expr(LIVE, sl, queue="orders"), "exp_samples": [
            {"labels": "{}", "value": 4 / 6}]},
        # No chat abandoned: no missed series, still 100 %.
        {"expr": expr(LIVE, sl, queue="returns"), "exp_samples": [
            {"labels": "{}", "value": 1}]},
        # Nobody accepted, one abandoned a minute: 0 %, not empty.
        {"expr": expr(LIVE, sl, queue="payments"), "exp_samples": [
            {"labels": "{}", "value": 0}]},
    ], tmp_path)


def test_abandoned_agents_short_and_missed_per_queue(tmp_path: Path) -> None:
    promtool_cases(FLOOR, [
        # 15 minutes: (1 + 1) abandoned ÷ (10 + 10 + 2) requested a minute.
        {"expr": expr(LIVE, "Abandoned (15m)"), "exp_samples": [
            {"labels": "{}", "value": 2 / 22}]},
        # Spare agents in returns do not cancel the shortage elsewhere; max per queue first.
        {"expr": expr(LIVE, "Agents short"), "exp_samples": [{"labels": "{}", "value": 5}]},
        {"expr": expr(LIVE, "Agents short", queue="returns"), "exp_samples": [
            {"labels": "{}", "value": 0}]},
        # The Queues table's "Missed 15m" (query H): 0 for a queue that never missed a chat.
        {"expr": expr(LIVE, "Queues", 7), "exp_samples": [
            {"labels": '{queue="orders"}', "value": 15},
            {"labels": '{queue="payments"}', "value": 15},
            {"labels": '{queue="returns"}', "value": 0},
        ]},
    ], tmp_path)


def test_live_floor_breaches_projected_is_the_30m_sum_over_queues(tmp_path: Path) -> None:
    promtool_cases(TRAFFIC, [
        {"expr": expr(LIVE, "Breaches projected (30m)"),
         "exp_samples": [{"labels": "{}", "value": 7}]},
    ], tmp_path)


# Engagement gauges of two workers (issue 15): 30d only. Worker 1: three customers, two of them
# contacted; five EUR orders (one as a guest) worth 200, two of them by a contacted repeat buyer;
# worker 2: one not-contacted customer with one USD guest order of 30. No repeat series on
# worker 2 and no guest="yes" series for the contacted segment at all (counts may be missing).
ENGAGEMENT = [
    series("support_window_customers", "3x60", instance="w1", window="30d", segment="all"),
    series("support_window_customers", "2x60", instance="w1", window="30d",
           segment="contacted"),
    series("support_window_customers", "1x60", instance="w1", window="30d",
           segment="not_contacted"),
    series("support_window_customers", "1x60", instance="w2", window="30d", segment="all"),
    series("support_window_customers", "1x60", instance="w2", window="30d",
           segment="not_contacted"),
    series("support_window_repeat_customers", "1x60", instance="w1", window="30d",
           segment="all"),
    series("support_window_repeat_customers", "1x60", instance="w1", window="30d",
           segment="contacted"),
    series("support_window_orders", "4x60", instance="w1", window="30d", segment="all",
           guest="no", currency="EUR"),
    series("support_window_orders", "1x60", instance="w1", window="30d", segment="all",
           guest="yes", currency="EUR"),
    series("support_window_orders", "3x60", instance="w1", window="30d", segment="contacted",
           guest="no", currency="EUR"),
    series("support_window_orders", "1x60", instance="w1", window="30d",
           segment="not_contacted", guest="no", currency="EUR"),
    series("support_window_orders", "1x60", instance="w1", window="30d",
           segment="not_contacted", guest="yes", currency="EUR"),
    series("support_window_orders", "1x60", instance="w2", window="30d", segment="all",
           guest="yes", currency="USD"),
    series("support_window_orders", "1x60", instance="w2", window="30d",
           segment="not_contacted", guest="yes", currency="USD"),
    series("support_window_revenue", "200x60", instance="w1", window="30d", segment="all",
           currency="EUR"),
    series("support_window_revenue", "150x60", instance="w1", window="30d",
           segment="contacted", currency="EUR"),
    series("support_window_revenue", "50x60", instance="w1", window="30d",
           segment="not_contacted", currency="EUR"),
    series("support_window_revenue", "30x60", instance="w2", window="30d", segment="all",
           currency="USD"),
    series("support_window_revenue", "30x60", instance="w2", window="30d",
           segment="not_contacted", currency="USD"),
]
QUALITY = "supportpulse-quality"


def window_samples(values: dict[str, float], currency: str | None = None) -> list[Any]:
    extra = f', currency="{currency}"' if currency else ""
    return [{"labels": f'{{window="30d", segment="{segment}"{extra}}}', "value": value}
            for segment, value in values.items()]


def test_engagement_panels_are_the_hand_computed_metrics(tmp_path: Path) -> None:
    table, values = "Engagement by segment", "Average order value by segment"
    promtool_cases(ENGAGEMENT, [
        {"expr": expr(QUALITY, table, 0), "exp_samples": window_samples(
            {"all": 4, "contacted": 2, "not_contacted": 2})},
        # Purchase frequency: all 6 orders ÷ 4 customers, contacted 3 ÷ 2, not 3 ÷ 2.
        {"expr": expr(QUALITY, table, 1), "exp_samples": window_samples(
            {"all": 6 / 4, "contacted": 3 / 2, "not_contacted": 3 / 2})},
        # Repeat purchase rate: 1 of 4, 1 of 2, and 0 of 2 (no series: 0, not missing).
        {"expr": expr(QUALITY, table, 2), "exp_samples": window_samples(
            {"all": 1 / 4, "contacted": 1 / 2, "not_contacted": 0})},
        # Guest checkout rate: 2 of 6 orders, 0 of 3 (no series), 2 of 3.
        {"expr": expr(QUALITY, table, 3), "exp_samples": window_samples(
            {"all": 2 / 6, "contacted": 0, "not_contacted": 2 / 3})},
        # Average order value per currency: EUR 200 ÷ 5, 150 ÷ 3, 50 ÷ 2; USD 30 ÷ 1 (no
        # contacted USD orders: no row).
        {"expr": expr(QUALITY, values, 0), "exp_samples": [
            *window_samples({"all": 40, "contacted": 50, "not_contacted": 25}, "EUR"),
            *window_samples({"all": 30, "not_contacted": 30}, "USD"),
        ]},
        {"expr": expr(QUALITY, "Repeat purchase rate by segment"), "exp_samples":
            window_samples({"all": 1 / 4, "contacted": 1 / 2, "not_contacted": 0})},
        {"expr": expr(QUALITY, "Orders per customer by segment"), "exp_samples":
            window_samples({"all": 6 / 4, "contacted": 3 / 2, "not_contacted": 3 / 2})},
    ], tmp_path)
