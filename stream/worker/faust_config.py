"""The one mapping from our settings to faust's (invariant 9), and faust's defaults we undo."""

from __future__ import annotations

from typing import Any

import faust.web.base

from stream.security import faust_credentials, kafka_client_config
from stream.settings import Settings

# faust always mounts a production index page at "/" that no setting turns off and that our
# bearer token would not cover (CONTRACT §5: only /healthz is open). Serve no such page.
faust.web.base.Web.production_blueprints = []


def faust_settings(settings: Settings) -> dict[str, Any]:
    return {
        "broker": settings.broker_url,
        "broker_credentials": faust_credentials(settings),
        "store": "memory://",
        "datadir": str(settings.data_dir),
        "web_enabled": True,
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        "web_port": settings.web_port,
        # CONTRACT §5: faust's own /table and /router pages are off, and so are its debug pages.
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_interval": settings.commit_interval_seconds,
        "broker_session_timeout": settings.session_timeout_seconds,
        "broker_heartbeat_interval": settings.heartbeat_interval_seconds,
        "broker_rebalance_timeout": max(30.0, settings.session_timeout_seconds * 3),
        "table_standby_replicas": settings.table_standby_replicas,
        "producer_linger": 0.005,
        "stream_buffer_maxsize": max(4096, settings.batch_max * 2),
    }


def consumer_config(settings: Settings) -> dict[str, Any]:
    """aiokafka client settings for our own consumers (changelog recovery, tools)."""
    return kafka_client_config(settings)
