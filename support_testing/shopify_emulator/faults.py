"""Fault injection for the emulator: a queue of misbehaviours, one consumed by each GraphQL request."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

DROP_SECONDS = 30.0
"""How long a 'dropped' request hangs: longer than any client timeout used with the emulator."""

FaultKind = Literal["throttle", "status", "delay"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour. `delay` holds the reply back and then answers normally; the others replace the answer."""

    kind: FaultKind
    status: int = 200
    retry_after: float | None = None
    body: Any = None
    seconds: float = 0.0

    def describe(self) -> str:
        if self.kind == "status":
            return f"HTTP {self.status}"
        if self.kind == "delay":
            return f"delay {self.seconds:g}s"
        return "THROTTLED"


class FaultPlan:
    """Faults queued in order; each GraphQL request takes the next one (or none when the queue is empty).

    >>> plan = FaultPlan()
    >>> plan.http_status(429, 1, retry_after=2)
    >>> plan.http_status(500, 2)
    >>> [f.describe() if f else "none" for f in (plan.next(), plan.next(), plan.next(), plan.next())]
    ['HTTP 429', 'HTTP 500', 'HTTP 500', 'none']
    """

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()

    def _add(self, fault: Fault, n: int) -> None:
        if n < 0:
            raise ValueError("the number of faults cannot be negative")
        self._queue.extend([fault] * n)

    def throttle(self, n: int = 1) -> None:
        """The next `n` requests get Shopify's THROTTLED answer (HTTP 200, errors[0].extensions.code)."""
        self._add(Fault("throttle"), n)

    def http_status(self, status: int, n: int = 1, *, retry_after: float | None = None, body: Any = None) -> None:
        """The next `n` requests get `status` (429, 500, 502, 503, ...) with an optional Retry-After and body."""
        if not 400 <= status <= 599:
            raise ValueError(f"a fault status is an HTTP error (4xx or 5xx), not {status}")
        self._add(Fault("status", status=status, retry_after=retry_after, body=body), n)

    def delay(self, seconds: float, n: int = 1) -> None:
        """The next `n` requests are answered normally, but only after `seconds`; a client that hangs up first (its
        timeout) gets nothing, and its request is not logged (`ShopifyEmulator.requests`)."""
        self._add(Fault("delay", seconds=seconds), n)

    def drop(self, n: int = 1, *, seconds: float = DROP_SECONDS) -> None:
        """The next `n` requests hang (a delay longer than any client timeout), like a dropped connection."""
        self.delay(seconds, n)

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def next(self) -> Fault | None:
        return self._queue.popleft() if self._queue else None
