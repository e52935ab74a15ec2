"""The one settings object (DESIGN invariant 9).

Every knob is read from `SUPPORTPULSE_*` environment variables or a `.env` file, typed and
validated here, and mapped into `faust.App` in exactly one place (`stream.app.build_app`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stream.shipped import NONE, SHIPPED, FileSetting

# Label values for `queue` come from configuration, never from events (invariant 8).
DEFAULT_QUEUES = ("orders", "returns", "payments", "general")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTPULSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    kafka_bootstrap: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1:9092"],
        description="Kafka bootstrap servers, comma-separated host:port list.",
    )
    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis read-model URL (may contain a password, hence secret).",
    )
    web_host: str = Field(
        default="127.0.0.1",
        description=(
            "HTTP bind address of the worker (/metrics, /healthz, /readyz, /sla/at-risk, /agents)."
        ),
    )
    web_port: int = Field(default=6066, ge=0, le=65535, description="HTTP port of the worker.")
    app_id: str = Field(
        default="supportpulse",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Consumer group and prefix of the worker's internal topics.",
    )
    data_dir: Path = Field(default=Path("./data"), description="Local table data of the worker.")
    # A path, `shipped` (the policy inside the package) or `none` (SLA tracking off, explicitly).
    sla_policy_file: FileSetting = Field(
        default=SHIPPED,
        description=(
            "SLA policies (CONTRACT §3): a path, `shipped` (the policy inside the package) or "
            "`none` (SLA tracking off); a path that does not exist is an error."
        ),
    )
    queues: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_QUEUES),
        description="Queue names allowed as label values; others become `other`.",
    )
    timezone: str = Field(
        default="Europe/Prague",
        description="IANA time zone of the business day (contact rate, calendars).",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token for every worker endpoint but /healthz (secret)."
    )

    # Kafka security (mapped into faust and every aiokafka client in stream/security.py).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for Kafka TLS.")
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="Client certificate for Kafka mutual TLS."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="Client key for Kafka mutual TLS."
    )
    kafka_ssl_check_hostname: bool = Field(
        default=True, description="Verify the broker's host name against its certificate."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism for the SASL protocols."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (secret)."
    )
    # Redis: a password here or in the URL; `rediss://` URLs use TLS with this CA bundle.
    redis_password: SecretStr | None = Field(
        default=None,
        description="Redis password, if not in the URL (secret); a `rediss://` URL uses TLS.",
    )
    redis_ssl_ca_certs: Path | None = Field(default=None, description="CA bundle for Redis TLS.")
    currencies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["EUR", "USD", "GBP", "CZK", "PLN"],
        description="ISO 4217 codes kept as `currency` label values; others become `other`.",
    )
    attribution_window_seconds: float = Field(
        default=5 * 86400.0,
        gt=0,
        description="An order counts as assisted after a contact within this window.",
    )

    # Topics (CONTRACT §1–2 defaults).
    topic_tickets: str = Field(
        default="support.tickets", description="Input topic of ticket events (CONTRACT §1)."
    )
    topic_chats: str = Field(default="support.chats", description="Input topic of chat events.")
    topic_agents: str = Field(
        default="support.agents", description="Input topic of agent presence events."
    )
    topic_commerce: str = Field(
        default="support.commerce",
        description="Input topic of orders, campaigns and self-service sessions.",
    )
    topic_sla: str = Field(
        default="support.sla", description="Output topic of SLA events (CONTRACT §2)."
    )
    topic_staffing: str = Field(
        default="support.staffing", description="Output topic of staffing signals."
    )
    topic_dlq: str = Field(
        default="support.dlq",
        description="Dead-letter topic: rejected input, raw bytes with reason headers.",
    )

    # Stage-two signals (staffing, forecast).
    rollup_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often stage-two signals (staffing, forecast, projection) are recomputed.",
    )
    staffing_target_ratio: float = Field(
        default=0.8, gt=0, lt=1, description="Chat service-level target: this share answered ..."
    )
    staffing_within_seconds: float = Field(
        default=60.0, gt=0, description="... within this many seconds."
    )
    chat_aht_seconds: float = Field(
        default=480.0,
        gt=0,
        description="Chat handle time until one is observed (accept to end, last 60 min).",
    )
    ticket_aht_seconds: float = Field(
        default=600.0, gt=0, description="Ticket handle time of the workload model."
    )
    ticket_occupancy: float = Field(
        default=0.85, gt=0, le=1, description="Share of a ticket agent's time spent on tickets."
    )
    # Per-queue overrides, JSON: {"orders": {"target_ratio": 0.9, "within_seconds": 30,
    # "ticket_aht_seconds": 900}}; keys are fields of stream.domain.signals.StaffingTargets.
    staffing_queue_targets: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description=(
            'Per-queue overrides, JSON: {"orders": {"target_ratio": 0.9, "within_seconds": 30,'
            ' "ticket_aht_seconds": 900}}.'
        ),
    )
    # A baseline profile: a path, `shipped` (the package's normal week) or `none` (the default:
    # the same hour of recent weeks of observed traffic).
    forecast_file: FileSetting = Field(
        default=NONE,
        description=(
            "Baseline weekday x hour x channel profile: a path, `shipped` (the package's normal "
            "week, which the demo uses) or `none` (the mean of the same hour in the last 5 weeks)."
        ),
    )
    forecast_multiplier: float = Field(
        default=1.0, gt=0, description="Multiplies the baseline (Black Friday: 3)."
    )

    partitions: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Partitions of the input topics; internal topics are created to match.",
    )
    # How long closed/ended conversations stay in the tables so late ratings still find their
    # channel/queue; measured in event time so replays expire the same keys (invariant 6).
    state_retention_seconds: float = Field(
        default=3 * 86400.0,
        gt=0,
        description="How long ended conversations stay in the tables, in event time.",
    )
    batch_max: int = Field(default=2000, ge=1, description="Agent batch size.")
    batch_within_seconds: float = Field(default=0.05, gt=0, description="Agent batch wait.")
    commit_interval_seconds: float = Field(
        default=1.0, gt=0, description="Source offset commit interval."
    )
    # How long a fetch may wait for records on the broker (faust hard-codes 1,500 ms; see
    # stream/kafka_consumer.py). It bounds the latency on brokers that do not answer a waiting
    # fetch as soon as records arrive (tansu); shorter means more idle fetches.
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        le=60_000,
        description=(
            "How long a consumer fetch waits on the broker for new records (faust's fixed 1,500 ms "
            "replaced; bounds latency on tansu)."
        ),
    )
    session_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Consumer group session timeout."
    )
    heartbeat_interval_seconds: float = Field(
        default=1.0, gt=0, description="Consumer group heartbeat interval."
    )
    shutdown_timeout_seconds: float = Field(
        default=8.0,
        gt=0,
        description=(
            "After SIGTERM/SIGINT the worker exits within this long even if a clean stop hangs"
            " (e.g. the broker is gone); what it had not flushed is replayed from the log on"
            " restart. A second signal exits at once. Keep it below the orchestrator's grace"
            " period (k8s base: 60 s, compose: 30 s)."
        ),
    )

    # The webhook gateway (CONTRACT §7): its own process, sharing the Kafka settings above.
    gateway_host: str = Field(default="127.0.0.1", description="Gateway HTTP bind address.")
    gateway_port: int = Field(default=6070, ge=0, le=65535, description="Gateway HTTP port.")
    chatwoot_secret: SecretStr | None = Field(
        default=None, description="Chatwoot webhook secret; unset: /webhooks/chatwoot is 404."
    )
    zendesk_secret: SecretStr | None = Field(
        default=None, description="Zendesk webhook signing secret; unset: the route is 404."
    )
    zammad_secret: SecretStr | None = Field(
        default=None, description="Zammad webhook HMAC token; unset: the route is 404."
    )
    events_token: SecretStr | None = Field(
        default=None, description="Bearer token of POST /events; unset: the route is 404."
    )
    gateway_max_skew_seconds: float = Field(
        default=300.0, gt=0, description="A signed timestamp further from now is a replay."
    )
    gateway_delivery_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a request waits for the broker's acknowledgement before a 503.",
    )
    connectors_file: Path | None = Field(
        default=None, description="The connectors file (CONTRACT §7); defaults apply without one."
    )
    max_event_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Larger messages are rejected as `oversized`."
    )
    max_future_seconds: float = Field(
        default=7 * 86400.0,
        gt=0,
        description=(
            "Events further ahead of the worker's clock are rejected as `future_timestamp`."
        ),
    )
    log_level: str = Field(
        default="info",
        pattern=r"^(crit|error|warn|info|debug)$",
        description="crit, error, warn, info or debug.",
    )
    table_standby_replicas: int = Field(
        default=0,
        ge=0,
        le=8,
        description="Standby replicas of the tables: accepted, not implemented yet (issue 18).",
    )

    @field_validator("kafka_bootstrap", "queues", "currencies", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one host:port is required")
        for server in value:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("queues")
    @classmethod
    def _queues(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one queue name is required")
        if "other" in value:
            raise ValueError("'other' is reserved for queues not in this list")
        if len(value) > 200:
            raise ValueError("more than 200 queues would make label sets unbounded")
        return value

    @field_validator("sla_policy_file", "forecast_file", mode="before")
    @classmethod
    def _file_word(cls, value: object, info: ValidationInfo) -> object:
        # `none`, `None` and `NONE` alike; an empty variable means "not set" (the default).
        if isinstance(value, str):
            word = value.strip().lower()
            if not word:
                assert info.field_name is not None
                return cls.model_fields[info.field_name].default
            if word in (SHIPPED, NONE):
                return word
        return value

    @field_validator("sla_policy_file", "forecast_file")
    @classmethod
    def _file_exists(cls, value: FileSetting) -> FileSetting:
        # No silent fallback (invariant 11): a configured file that is not there is an error.
        if isinstance(value, Path) and not value.is_file():
            raise ValueError(f"{value}: no such file (a path, 'shipped' or 'none')")
        return value

    @field_validator(
        "api_token",
        "kafka_sasl_password",
        "redis_password",
        "chatwoot_secret",
        "zendesk_secret",
        "zammad_secret",
        "events_token",
        mode="before",
    )
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        # `SUPPORTPULSE_CHATWOOT_SECRET=` (compose's `${NAME:-}`, an empty k8s Secret key) must
        # not turn a route on with an empty signing key, nor require an empty bearer token.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("connectors_file", mode="before")
    @classmethod
    def _connectors_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("connectors_file")
    @classmethod
    def _connectors_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value}: no such file")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    def queue_label(self, queue: str | None) -> str:
        """The bounded label value for a queue name taken from an event."""
        return queue if queue in self._queue_set else "other"

    @property
    def _queue_set(self) -> frozenset[str]:
        cached: frozenset[str] | None = self.__dict__.get("_queue_set_cache")
        if cached is None:
            cached = frozenset(self.queues)
            self.__dict__["_queue_set_cache"] = cached
        return cached

    @field_validator("staffing_queue_targets")
    @classmethod
    def _queue_targets(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        allowed = {
            "target_ratio",
            "within_seconds",
            "chat_aht_seconds",
            "ticket_aht_seconds",
            "ticket_occupancy",
        }
        for queue, fields in value.items():
            unknown = set(fields) - allowed
            if unknown:
                raise ValueError(
                    f"queue {queue!r}: unknown fields {sorted(unknown)}; allowed: {sorted(allowed)}"
                )
            ratio = fields.get("target_ratio", 0.5)
            if not 0 < ratio < 1 or any(v <= 0 for v in fields.values()):
                raise ValueError(f"queue {queue!r}: values must be > 0 and target_ratio < 1")
        return value

    @model_validator(mode="after")
    def _security(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"SUPPORTPULSE_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                "SUPPORTPULSE_KAFKA_SASL_USERNAME and SUPPORTPULSE_KAFKA_SASL_PASSWORD"
            )
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("set both SUPPORTPULSE_KAFKA_SSL_CERTFILE and _KEYFILE, or neither")
        for path in (
            self.kafka_ssl_cafile,
            self.kafka_ssl_certfile,
            self.kafka_ssl_keyfile,
            self.redis_ssl_ca_certs,
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"{path}: no such file")
        return self

    def currency_label(self, currency: str | None) -> str:
        return currency if currency in self.currencies else "other"

    @property
    def broker_url(self) -> str:
        return ";".join(f"kafka://{server}" for server in self.kafka_bootstrap)

    @property
    def input_topics(self) -> dict[str, str]:
        """Stream name (the `stream` label) → topic name."""
        return {
            "tickets": self.topic_tickets,
            "chats": self.topic_chats,
            "agents": self.topic_agents,
            "commerce": self.topic_commerce,
        }
