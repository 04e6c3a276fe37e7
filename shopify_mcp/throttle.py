"""Client-side view of Shopify's GraphQL cost bucket, so requests wait for capacity instead of being throttled."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

DEFAULT_ESTIMATE = 50.0
"""Assumed cost of an operation not seen before (Shopify reports the real cost with every answer)."""


@dataclass
class BucketState:
    maximum: float
    available: float
    restore_rate: float
    observed_at: float


class CostThrottle:
    """Tracks `extensions.cost.throttleStatus` and spends the bucket locally before each request.

    Each operation's last requested cost is remembered; a request waits until the projected bucket holds that
    much. Concurrent requests reserve capacity under a lock, so a burst is spread out rather than sent at once
    and answered with THROTTLED; the bucket state an answer reports is taken less what the requests still under
    way have reserved (Shopify has not charged those yet), so a burst of cheap queries is not over-admitted.
    Until an operation's cost is known, its first request goes alone (a probe) and the others wait for its
    answer, so even a cold start does not fire a burst blind.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = anyio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._state: BucketState | None = None
        self._estimates: dict[str, float] = {}
        self._lock = anyio.Lock(fast_acquire=True)
        """Held while a request waits for capacity; taken without a trip round the event loop when nobody holds it
        (the usual case: the bucket has room), which saves a loop iteration per request."""
        self._probing: set[str] = set()
        self._learned: dict[str, anyio.Event] = {}
        self._in_flight: dict[str, list[float]] = {}
        """Points reserved by requests sent and not yet settled, per operation (oldest first)."""
        self.waited_seconds = 0.0

    def estimate(self, operation: str) -> float:
        return self._estimates.get(operation, DEFAULT_ESTIMATE)

    def _projected(self, now: float) -> float:
        state = self._state
        assert state is not None
        return min(state.maximum, state.available + (now - state.observed_at) * state.restore_rate)

    async def acquire(self, operation: str) -> None:
        """Wait until the bucket is projected to hold this operation's cost, then reserve it.

        Every `acquire` must be followed by `settle(operation)` once the request has an answer (or failed).
        """
        while operation not in self._estimates:
            if operation not in self._probing:
                self._probing.add(operation)
                break
            await self._learned.setdefault(operation, anyio.Event()).wait()
        async with self._lock:
            if self._state is None:
                self._in_flight.setdefault(operation, []).append(0.0)
                return
            cost = min(self.estimate(operation), self._state.maximum)
            now = self._clock()
            available = self._projected(now)
            if available < cost and self._state.restore_rate > 0:
                wait = (cost - available) / self._state.restore_rate
                self.waited_seconds += wait
                await self._sleep(wait)
                now = self._clock()
                available = self._projected(now)
            self._state.available = available - cost
            self._state.observed_at = now
            self._in_flight.setdefault(operation, []).append(cost)

    def _others_in_flight(self, operation: str) -> float:
        """Points reserved by the requests still under way besides the one answering now (taken to be the oldest of
        its operation): Shopify's answer does not count those it has not received yet."""
        total = sum(sum(costs) for costs in self._in_flight.values())
        mine = self._in_flight.get(operation) or [0.0]
        return max(total - mine[0], 0.0)

    def settle(self, operation: str) -> None:
        """The request for `operation` is over: drop its reservation and release the requests waiting on a probe of
        its cost."""
        reserved = self._in_flight.get(operation)
        if reserved:
            reserved.pop(0)
        if operation in self._probing:
            self._probing.discard(operation)
            event = self._learned.pop(operation, None)
            if event is not None:
                event.set()

    def observe(self, operation: str, cost: dict[str, Any] | None) -> None:
        """Learn from a response's `extensions.cost` (absent on some errors)."""
        if not isinstance(cost, dict):
            return
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._estimates[operation] = float(requested)
        status = cost.get("throttleStatus")
        if not isinstance(status, dict):
            return
        try:
            self._state = BucketState(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]) - self._others_in_flight(operation),
                restore_rate=float(status["restoreRate"]),
                observed_at=self._clock(),
            )
        except (KeyError, TypeError, ValueError):
            return

    def wait_after_throttle(self, operation: str) -> float:
        """Seconds until the bucket can pay for `operation` again, after a THROTTLED answer."""
        if self._state is None or self._state.restore_rate <= 0:
            return 1.0
        missing = self.estimate(operation) - self._projected(self._clock())
        return max(missing / self._state.restore_rate, 0.05)
