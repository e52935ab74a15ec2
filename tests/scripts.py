"""Modules that are scripts, not packages (grafana/, benchmarks/), loaded by path for tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(relative: str, name: str | None = None) -> ModuleType:
    """The module at ROOT/relative, registered in sys.modules (dataclasses need that)."""
    name = name or "supportpulse_" + relative.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
