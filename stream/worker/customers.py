"""Distinct customers per local day in Redis HyperLogLogs: the contact rate's two counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import redis.asyncio

from stream.domain.commerce import ContactRecord

KEEP_SECONDS = 3 * 86400


class CustomerDays:
    def __init__(self, client: redis.asyncio.Redis, app_id: str, tz: ZoneInfo) -> None:
        self.client = client
        self.app_id = app_id
        self.tz = tz

    def _key(self, kind: str, at: datetime) -> str:
        return f"{self.app_id}:customers-{kind}:{at.astimezone(self.tz).date().isoformat()}"

    async def record(
        self, seen: Sequence[tuple[str, datetime]], contacts: Sequence[ContactRecord]
    ) -> bool:
        """Add a batch's customers; False when Redis is away.

        PFADD is idempotent, so replays after a crash cannot inflate the counts. One PFADD per
        day and kind for the whole batch, not two commands per customer.
        """
        days: dict[str, set[str]] = {}
        for customer, at in seen:
            days.setdefault(self._key("seen", at), set()).add(customer)
        for contact in contacts:
            days.setdefault(self._key("contacted", contact.at), set()).add(contact.customer_id)
        pipe = self.client.pipeline(transaction=False)
        for key, customers in days.items():
            pipe.pfadd(key, *sorted(customers))
            pipe.expire(key, KEEP_SECONDS)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            return False
        return True

    async def contact_rate(self, now: datetime) -> float | None:
        """Contacted ÷ seen today (capped at 1: HyperLogLogs are estimates); None when nobody
        was seen. Raises what redis-py raises."""
        seen = await self.client.pfcount(self._key("seen", now))
        contacted = await self.client.pfcount(self._key("contacted", now))
        return min(1.0, contacted / seen) if seen else None
