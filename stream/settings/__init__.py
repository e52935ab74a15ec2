"""The one settings object (DESIGN invariant 9).

Every knob is read from `SUPPORTPULSE_*` environment variables or a `.env` file, typed and
validated here, and mapped into `faust.App` in exactly one place (`stream.worker.faust_config`).
The fields are grouped by subject in the modules of this package; `Settings` is their union, so
every variable is still one flat attribute (`settings.kafka_bootstrap`).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.settings.commerce import CommerceSettings
from stream.settings.essentials import DEFAULT_QUEUES, EssentialSettings
from stream.settings.gateway import GatewaySettings
from stream.settings.intake import IntakeSettings
from stream.settings.processing import ProcessingSettings
from stream.settings.security import SecuritySettings
from stream.settings.signals import SignalSettings
from stream.settings.topics import TopicSettings

__all__ = ["DEFAULT_QUEUES", "Settings"]


# pydantic lists inherited fields from the last base to the first: the groups are in the
# reverse of the order of the README's table (and of validation errors).
class Settings(
    IntakeSettings,
    GatewaySettings,
    ProcessingSettings,
    SignalSettings,
    TopicSettings,
    CommerceSettings,
    SecuritySettings,
    EssentialSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTPULSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # Every process reads the log level; the standby replicas are accepted, not implemented.
    # Declared here, after the groups, they keep their place at the end of the table.
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
