"""The changelog codec: what one flush of a partition writes, in order, and how it is read back.

The order is the heart of exactly-once (DESIGN invariant 2): window buckets first (a bucket
guards itself with its own offset; a value written before it would make the replay skip the
event before it is tallied), then the changed values, then the meta record (it marks the batch
as applied on replay: it must come after every value of the batch), then the tombstones (a
deletion carries no offset, so it comes last). A crash may cut the sequence anywhere; recovery
loads each key's latest record and the meta record, then `rebuild()`.

Pure: bytes in, bytes out. `stream/tables.py` only moves these records to and from Kafka, and
the crash-window property tests (tests/unit/test_partition.py) drive this codec directly.
"""

from __future__ import annotations

from typing import Generic

import msgspec

from stream.domain.partition import (
    HOUR_PREFIX,
    META_KEY,
    WINDOW_PREFIX,
    Kind,
    PartitionMeta,
    PartitionState,
    S,
)

Record = tuple[str, bytes | None]  # (key, value); None is a tombstone


class ChangelogCodec(Generic[S]):
    def __init__(self, kind: Kind[S]) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(kind.value_type)
        self._meta_decoder = msgspec.msgpack.Decoder(PartitionMeta)
        self._window_decoder = msgspec.msgpack.Decoder(dict[str, float])

    def records(self, state: PartitionState[S]) -> tuple[list[Record], list[tuple[str, S | None]]]:
        """Drain `state`: the records of one flush in write order, and the changed values
        (None for a deletion) for the read model."""
        puts, deletes = state.drain()
        out: list[Record] = [
            (key, None if window is None else self._encoder.encode(window))
            for key, window in state.drain_windows()
        ]
        out += [(key, self._encoder.encode(value)) for key, value in puts]
        meta = state.meta_if_dirty()
        if meta is not None:
            out.append((META_KEY, self._encoder.encode(meta)))
        out += [(key, None) for key in deletes]
        return out, [*puts, *((key, None) for key in deletes)]

    def decode(self, value: bytes) -> S:
        return self._decoder.decode(value)

    def load_tail(self, state: PartitionState[S], key: str, value: bytes | None) -> None:
        """Apply a key's latest record after a snapshot (call `finish_tail()` after): unlike
        `load`, the state does not start empty, so a tombstone removes what it holds."""
        if key == META_KEY:
            if value is not None:
                state.load_meta(self._meta_decoder.decode(value))
        elif key.startswith((WINDOW_PREFIX, HOUR_PREFIX)):
            state.load_window(key, None if value is None else self._window_decoder.decode(value))
        else:
            state.load_tail(key, None if value is None else self._decoder.decode(value))

    def load(self, state: PartitionState[S], key: str, value: bytes | None) -> None:
        """Apply a key's latest record to a state being recovered (call `rebuild()` after)."""
        if value is None:
            return  # a tombstone: the key is absent, and the state starts empty
        if key == META_KEY:
            state.load_meta(self._meta_decoder.decode(value))
        elif key.startswith((WINDOW_PREFIX, HOUR_PREFIX)):
            state.load_window(key, self._window_decoder.decode(value))
        else:
            state.load(key, self._decoder.decode(value))
