"""Per-queue staffing targets are validated settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stream.settings import Settings


def test_per_queue_targets_parse_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTPULSE_STAFFING_QUEUE_TARGETS",
                       '{"orders": {"target_ratio": 0.9, "within_seconds": 30}}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.staffing_queue_targets == {"orders": {"target_ratio": 0.9,
                                                          "within_seconds": 30}}


@pytest.mark.parametrize("value", [
    {"orders": {"target": 0.9}},
    {"orders": {"target_ratio": 1.2}},
    {"orders": {"within_seconds": -5}},
])
def test_bad_per_queue_targets_are_rejected(value: dict[str, dict[str, float]]) -> None:
    with pytest.raises(ValidationError, match="orders"):
        Settings(_env_file=None, staffing_queue_targets=value)  # type: ignore[call-arg]
