"""Fault injection: a queue of misbehaviours that API requests consume in order, with counters of what was served."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

from support_testing.gmail_emulator.errors import ApiError

FaultKind = Literal["status", "delay"]
RateLimitReason = Literal["userRateLimitExceeded", "rateLimitExceeded"]
TOKEN_METHOD = "oauth2.token"
"""The method name of the token endpoint: only faults queued with `method=TOKEN_METHOD` reach it."""

_DEFAULTS: dict[int, tuple[str, str]] = {
    429: ("rateLimitExceeded", "Too many concurrent requests for user."),
    500: ("backendError", "Internal error encountered."),
    502: ("backendError", "Bad gateway."),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "Deadline exceeded."),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour. `delay` holds the reply back and then answers normally; `status` replaces the answer."""

    kind: FaultKind
    status: int = 200
    reason: str = ""
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0
    method: str | None = None

    def describe(self) -> str:
        if self.kind == "delay":
            return f"delay {self.seconds:g}s"
        return f"HTTP {self.status} {self.reason}"

    def error(self) -> ApiError:
        return ApiError(self.status, self.message, self.reason)


class FaultPlan:
    """Faults queued in order; each API request takes the first one meant for its method (or none).

    A fault queued without `method` is taken by the next Gmail API request of any method (never by the token
    endpoint); with `method` (e.g. "users.messages.list", or `TOKEN_METHOD`) only by a request of that method.
    `served` counts what was handed out, by `Fault.describe()`; `served_total` is their sum.
    """

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self.served: Counter[str] = Counter()

    def _add(self, fault: Fault, n: int) -> None:
        if n < 0:
            raise ValueError("the number of faults cannot be negative")
        self._queue.extend([fault] * n)

    def http_status(
        self,
        status: int,
        n: int = 1,
        *,
        reason: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
    ) -> None:
        """The next `n` requests get `status` with Google's error body (default reason and message per status)."""
        if not 400 <= status <= 599:
            raise ValueError(f"a fault status is an HTTP error (4xx or 5xx), not {status}")
        default_reason, default_message = _DEFAULTS.get(status, ("backendError", "Error."))
        fault = Fault(
            "status",
            status=status,
            reason=reason or default_reason,
            message=message or default_message,
            retry_after=retry_after,
            method=method,
        )
        self._add(fault, n)

    def too_many_requests(self, n: int = 1, *, retry_after: float | None = None, method: str | None = None) -> None:
        """The next `n` requests get 429 RESOURCE_EXHAUSTED (reason `rateLimitExceeded`), optionally Retry-After."""
        self.http_status(429, n, retry_after=retry_after, method=method)

    def rate_limited(
        self, n: int = 1, *, reason: RateLimitReason = "userRateLimitExceeded", method: str | None = None
    ) -> None:
        """The next `n` requests get 403 with a rate-limit reason (the client retries these, unlike other 403s)."""
        text = "User-rate limit exceeded." if reason == "userRateLimitExceeded" else "Rate Limit Exceeded"
        self.http_status(403, n, reason=reason, message=text, method=method)

    def server_error(self, status: int = 500, n: int = 1, *, method: str | None = None) -> None:
        """The next `n` requests get a 5xx (500 INTERNAL, 503 UNAVAILABLE, ...)."""
        if not 500 <= status <= 599:
            raise ValueError(f"a server error is a 5xx status, not {status}")
        self.http_status(status, n, method=method)

    def delay(self, seconds: float, n: int = 1, *, method: str | None = None) -> None:
        """The next `n` requests are answered normally, but only after `seconds`; a client that hangs up first (its
        timeout) gets nothing, and its request is not logged (`GmailEmulator.requests`)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self._add(Fault("delay", seconds=seconds, method=method), n)

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def served_total(self) -> int:
        return sum(self.served.values())

    def take(self, method: str) -> Fault | None:
        """The first queued fault meant for `method`, removed from the queue and counted as served."""
        for index, fault in enumerate(self._queue):
            if fault.method == method or (fault.method is None and method != TOKEN_METHOD):
                del self._queue[index]
                self.served[fault.describe()] += 1
                return fault
        return None
