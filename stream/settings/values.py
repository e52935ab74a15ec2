"""How the text of a `SUPPORTPULSE_*` variable becomes a value, where a plain type is not enough.

Shared by the settings groups: comma-separated lists, the words `shipped`/`none` of a file
setting, and empty variables meaning "not set" (compose's `${NAME:-}`, an empty k8s Secret key).
"""

from __future__ import annotations

from pathlib import Path

from stream.shipped import NONE, SHIPPED, FileSetting


def split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def file_word(value: object, default: object) -> object:
    """`none`, `None` and `NONE` alike; an empty variable means "not set" (the default)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return default
        if word in (SHIPPED, NONE):
            return word
    return value


def existing_file(value: FileSetting) -> FileSetting:
    # No silent fallback (invariant 11): a configured file that is not there is an error.
    if isinstance(value, Path) and not value.is_file():
        raise ValueError(f"{value}: no such file (a path, 'shipped' or 'none')")
    return value


def empty_is_unset(value: object) -> object:
    # An empty secret must not turn a route on with an empty signing key, nor require an empty
    # bearer token.
    if isinstance(value, str) and not value.strip():
        return None
    return value
