"""The settings CONTRACT §6 names: brokers, Redis, the worker's HTTP address, the app id, the data
directory, the SLA policy, the queues, the business time zone and the API token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from stream.settings.values import empty_is_unset, existing_file, file_word, split_csv
from stream.shipped import SHIPPED, FileSetting

# Label values for `queue` come from configuration, never from events (invariant 8).
DEFAULT_QUEUES = ("orders", "returns", "payments", "general")


class EssentialSettings(BaseModel):
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

    @field_validator("kafka_bootstrap", "queues", mode="before")
    @classmethod
    def _essential_csv(cls, value: object) -> object:
        return split_csv(value)

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

    @field_validator("sla_policy_file", mode="before")
    @classmethod
    def _policy_word(cls, value: object) -> object:
        return file_word(value, cls.model_fields["sla_policy_file"].default)

    @field_validator("sla_policy_file")
    @classmethod
    def _policy_exists(cls, value: FileSetting) -> FileSetting:
        return existing_file(value)

    @field_validator("api_token", mode="before")
    @classmethod
    def _token_unset(cls, value: object) -> object:
        return empty_is_unset(value)

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

    @property
    def broker_url(self) -> str:
        return ";".join(f"kafka://{server}" for server in self.kafka_bootstrap)
