"""What the live collector reads from the worker's tables (`stream.live.LiveSources`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from stream.domain.partition import GaugeKey, sum_gauges
from stream.worker.state import Tables


class OwnedState:
    def __init__(self, tables: Tables, redis_up: Callable[[], bool | None]) -> None:
        self.tables = tables
        self._redis_up = redis_up

    def gauges(self) -> Counter[GaugeKey]:
        # One sum over every table: tickets of channel chat and live chats share label sets.
        # Per-minute deadline counts are not in here (PartitionState.rollup_counts): merging
        # them on every scrape dominated the scrape time.
        return sum_gauges(
            part for table in self.tables.values() for part in table.ready_partitions()
        )

    def oldest_waiting(self) -> dict[str, datetime]:
        oldest: dict[str, datetime] = {}
        for part in self.tables["chats"].ready_partitions():
            for queue, since in part.oldest_waiting().items():
                if queue not in oldest or since < oldest[queue]:
                    oldest[queue] = since
        return oldest

    def table_keys(self) -> dict[str, int]:
        return {
            name: sum(len(part.values) for part in table.ready_partitions())
            for name, table in self.tables.items()
        }

    def partitions_owned(self) -> int:
        # Input topics are co-partitioned: a worker owns partition p of every input topic, so
        # the count of partition numbers sums to the topic partition count across workers.
        return len({p for t in self.tables.values() for p in t.owned()})

    def redis_up(self) -> bool:
        return bool(self._redis_up())
