"""The configuration shipped inside the package (DESIGN invariant 11).

The default SLA policy and the forecast baseline are package data, read with
`importlib.resources`, so a checkout, a wheel, the image, compose and k8s run the same files; no
path relative to a source tree. What is in force is named by `ConfigSource.name`, which the
worker logs at start and `supportpulse check-config` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from stream.domain.sla_policy import PolicyBook, parse_policy_text

POLICY = "sla-policy.yaml"
FORECAST = "forecast.yaml"
# The two words a file setting takes besides a path.
SHIPPED: Literal["shipped"] = "shipped"
NONE: Literal["none"] = "none"
FileSetting = Literal["shipped", "none"] | Path


@dataclass(frozen=True)
class ConfigSource:
    """A configuration file in force: where it comes from and its text."""

    name: str
    text: str


def shipped_file(filename: str) -> Traversable:
    """Where the package keeps `filename`; read it through this, never by a source-tree path."""
    return resources.files("stream").joinpath("data", filename)


def shipped_text(filename: str) -> str:
    return shipped_file(filename).read_text(encoding="utf-8")


def shipped_source(filename: str) -> ConfigSource:
    try:
        version = metadata.version("supportpulse")
    except metadata.PackageNotFoundError:  # imported from a source tree that is not installed
        version = "source tree"
    return ConfigSource(f"shipped {filename} (supportpulse {version})", shipped_text(filename))


def source(setting: FileSetting, filename: str) -> ConfigSource | None:
    """The file a setting names: the shipped one, none, or a path (read as UTF-8)."""
    if setting == SHIPPED:
        return shipped_source(filename)
    if setting == NONE:
        return None
    assert isinstance(setting, Path)
    return ConfigSource(str(setting), setting.read_text(encoding="utf-8"))


def shipped_policy() -> PolicyBook:
    """The shipped SLA policy, parsed (tests, benchmarks and tools use it too)."""
    found = shipped_source(POLICY)
    return parse_policy_text(found.text, found.name)
