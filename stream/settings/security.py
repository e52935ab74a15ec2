"""Kafka TLS/SASL and Redis authentication (mapped into faust and every aiokafka and Redis client
in `stream/security.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from stream.settings.values import empty_is_unset


class SecuritySettings(BaseModel):
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

    @field_validator("kafka_sasl_password", "redis_password", mode="before")
    @classmethod
    def _passwords_unset(cls, value: object) -> object:
        return empty_is_unset(value)

    @model_validator(mode="after")
    def _security(self) -> Self:
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
