"""Stage-two signals (DESIGN invariant 5): staffing targets, handle times and the forecast."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from stream.settings.values import existing_file, file_word
from stream.shipped import NONE, FileSetting


class SignalSettings(BaseModel):
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

    @field_validator("forecast_file", mode="before")
    @classmethod
    def _forecast_word(cls, value: object) -> object:
        return file_word(value, cls.model_fields["forecast_file"].default)

    @field_validator("forecast_file")
    @classmethod
    def _forecast_exists(cls, value: FileSetting) -> FileSetting:
        return existing_file(value)
