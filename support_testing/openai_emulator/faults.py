"""Fault injection for the OpenAI emulator: a queue of misbehaviours, one consumed by each chat completion request."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

HANG_SECONDS = 30.0
"""How long a `timeout` fault holds the answer back: longer than any client timeout used with the emulator."""

FaultKind = Literal["timeout", "status", "refusal", "malformed_json"]

_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "The request was rejected."),
    408: ("timeout", None, "Request timed out."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in a moment."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}


def error_body(status: int, message: str | None = None) -> dict[str, object]:
    """OpenAI's error JSON for `status`: `{"error": {"message", "type", "param", "code"}}`."""
    kind, code, default = _ERRORS.get(status, ("api_error", None, f"HTTP {status}"))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour. `timeout` holds the answer back `seconds`; `status` replaces it with an HTTP error;
    `refusal` and `malformed_json` replace the script's answer with a refusal or non-JSON content."""

    kind: FaultKind
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0

    def describe(self) -> str:
        if self.kind == "status":
            return f"HTTP {self.status}"
        if self.kind == "timeout":
            return f"timeout {self.seconds:g}s"
        return self.kind


class FaultPlan:
    """Faults queued in order; each chat completion request takes the next one (or none when the queue is empty).

    >>> plan = FaultPlan()
    >>> plan.http_status(429, 1, retry_after=0.1)
    >>> plan.refusal()
    >>> [f.describe() if f else "none" for f in (plan.next(), plan.next(), plan.next())]
    ['HTTP 429', 'refusal', 'none']
    """

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()

    def _add(self, fault: Fault, n: int) -> None:
        if n < 0:
            raise ValueError("the number of faults cannot be negative")
        self._queue.extend([fault] * n)

    def timeout(self, n: int = 1, seconds: float = HANG_SECONDS) -> None:
        """The next `n` requests are answered only after `seconds` (default: longer than any client timeout)."""
        self._add(Fault("timeout", seconds=seconds), n)

    def http_status(self, status: int, n: int = 1, retry_after: float | None = None) -> None:
        """The next `n` requests get `status` (429, 500, 503, ...) with OpenAI's error JSON and optional Retry-After."""
        if not 400 <= status <= 599:
            raise ValueError(f"a fault status is an HTTP error (4xx or 5xx), not {status}")
        self._add(Fault("status", status=status, retry_after=retry_after), n)

    def refusal(self, n: int = 1) -> None:
        """The next `n` requests are answered with a refusal, whatever the script says."""
        self._add(Fault("refusal"), n)

    def malformed_json(self, n: int = 1) -> None:
        """The next `n` requests are answered with content that is not JSON, whatever the script says."""
        self._add(Fault("malformed_json"), n)

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def next(self) -> Fault | None:
        return self._queue.popleft() if self._queue else None
