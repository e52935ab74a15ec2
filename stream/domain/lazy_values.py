"""A partition's values restored from a local snapshot, decoded on first use.

Decoding a stored conversation costs microseconds; a partition with a million open tickets
restored eagerly would spend seconds before it can serve. The snapshot keeps the derived state
(gauges, deadline and retention indexes) next to the raw records, so a restored partition needs
no value decoded until an event, a sweep or the read model touches it (as Kafka Streams reads its
RocksDB store lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Generic, TypeVar

V = TypeVar("V")


class LazyValues(MutableMapping[str, V], Generic[V]):
    """A mapping of key → value over raw encoded values, each decoded once when first read."""

    def __init__(self, raw: dict[str, bytes], decode: Callable[[bytes], V]) -> None:
        self._raw = raw
        self._decode = decode
        self._live: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        try:
            return self._live[key]
        except KeyError:
            pass
        encoded = self._raw.pop(key)  # KeyError for an absent key, as a dict
        value = self._live[key] = self._decode(encoded)
        return value

    def get(self, key: str, default: V | None = None) -> V | None:  # type: ignore[override]
        # The hot path of every event: no exception when the key is already decoded.
        value = self._live.get(key)
        if value is not None:
            return value
        if key in self._raw:
            return self[key]
        return default

    def __setitem__(self, key: str, value: V) -> None:
        self._raw.pop(key, None)
        self._live[key] = value

    def __delitem__(self, key: str) -> None:
        if self._live.pop(key, None) is None:
            del self._raw[key]

    def __contains__(self, key: object) -> bool:
        return key in self._live or key in self._raw

    def __iter__(self) -> Iterator[str]:
        yield from list(self._live)
        yield from list(self._raw)

    def __len__(self) -> int:
        return len(self._live) + len(self._raw)

    @property
    def undecoded(self) -> int:
        return len(self._raw)
