"""The webhook gateway (CONTRACT §7): its own process, sharing the Kafka settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

from stream.settings.values import empty_is_unset


class GatewaySettings(BaseModel):
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

    @field_validator(
        "chatwoot_secret", "zendesk_secret", "zammad_secret", "events_token", mode="before"
    )
    @classmethod
    def _secrets_unset(cls, value: object) -> object:
        # `SUPPORTPULSE_CHATWOOT_SECRET=` must not turn the route on with an empty signing key.
        return empty_is_unset(value)

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
