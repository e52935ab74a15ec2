"""What input is accepted at all: message size and how far ahead of the clock an event may be."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IntakeSettings(BaseModel):
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
