"""A small time-to-live cache for answers that change rarely (policies, promotions); never for orders or stock."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Keeps each value for `ttl` seconds; concurrent misses for one key share a single fetch."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._values: dict[str, tuple[float, T]] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        if self._ttl <= 0:
            return await fetch()
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[1]
            value = await fetch()
            self._values[key] = (self._clock() + self._ttl, value)
            return value

    def _fresh(self, key: str) -> tuple[float, T] | None:
        entry = self._values.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry
        return None

    def clear(self) -> None:
        self._values.clear()
