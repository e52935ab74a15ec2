"""Orders and their attribution to support contacts (stream/domain/commerce.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from stream.settings.values import split_csv


class CommerceSettings(BaseModel):
    currencies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["EUR", "USD", "GBP", "CZK", "PLN"],
        description="ISO 4217 codes kept as `currency` label values; others become `other`.",
    )
    attribution_window_seconds: float = Field(
        default=5 * 86400.0,
        gt=0,
        description="An order counts as assisted after a contact within this window.",
    )

    @field_validator("currencies", mode="before")
    @classmethod
    def _currencies_csv(cls, value: object) -> object:
        return split_csv(value)

    def currency_label(self, currency: str | None) -> str:
        return currency if currency in self.currencies else "other"
