"""The shop's local time: it shapes the daily curve and the shifts, never the timestamps (UTC).

The simulation counts seconds from `start`; these helpers turn them into local hours, weekdays
and calendar days of the configured timezone, DST changes included.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class LocalTime:
    __slots__ = ("_offsets", "start_epoch", "tz")

    def __init__(self, tz: ZoneInfo, start_epoch: float) -> None:
        self.tz = tz
        self.start_epoch = start_epoch
        self._offsets: dict[int, int] = {}

    def _offset(self, epoch: float) -> int:
        # Offsets change only on quarter-hour boundaries in real zones; caching per quarter hour
        # keeps zoneinfo off the hot path.
        bucket = int(epoch // 900)
        off = self._offsets.get(bucket)
        if off is None:
            dt = datetime.fromtimestamp(bucket * 900, self.tz)
            delta = dt.utcoffset()
            off = int(delta.total_seconds()) if delta is not None else 0
            if len(self._offsets) > 512:  # lookups move forward with the clock
                self._offsets.clear()
            self._offsets[bucket] = off
        return off

    def hour_weekday(self, t: float) -> tuple[float, int]:
        """Local hour of the day (fractional) and weekday (Monday = 0) at simulated second `t`."""
        epoch = self.start_epoch + t
        local = epoch + self._offset(epoch)
        day = math.floor(local / 86400)
        # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        return (local - day * 86400) / 3600.0, (day + 3) % 7

    def day_ordinal(self, t: float) -> int:
        """The proleptic ordinal of the local calendar day at simulated second `t`."""
        return datetime.fromtimestamp(self.start_epoch + t, self.tz).date().toordinal()

    def at(self, day_ordinal: int, hour: float) -> float:
        """Simulated second of `hour` o'clock on a local calendar day (DST-aware)."""
        midnight = datetime.fromordinal(day_ordinal).replace(tzinfo=self.tz)
        wall = midnight + timedelta(hours=hour)  # wall-clock arithmetic on purpose
        return wall.timestamp() - self.start_epoch
