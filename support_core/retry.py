"""Retries of calls to remote services (Shopify, the ticket sinks, Gmail): one policy and one loop, on tenacity.

An attempt that fails in a way worth repeating raises `TransientError`; anything else it raises goes to the caller
at once. Before each retry the helper waits either a random time between 0 and `min(max_delay, base * 2**(n-1))`
("full jitter", so that many clients failing together do not come back together), or what the server asked for
(`Retry-After`, or Shopify's cost bucket), capped at `max_delay`. When every attempt has failed it raises
`RetriesExhausted`, which each package turns into its own readable error. Each retry is logged once at WARNING
with what the caller described (an operation name, a status, an exception's type: never a token or a body).

Why tenacity and not stamina: stamina is a thin, opinionated layer over tenacity, and its opinions are not ours.
Its backoff adds a bounded jitter to a fixed exponential delay instead of full jitter; it instruments every retry
through process-wide hooks (Prometheus counters on the global registry as soon as prometheus-client is importable,
which it is here, and structlog or logging); its switch for tests is global state; and it bounds total time with
a default we would have to override everywhere. tenacity gives us exactly the parts we need (full-jitter
exponential waits, attempt limits, a per-failure wait strategy for Retry-After, a before-sleep hook, an injectable
async sleep), is typed, and is the more widely used of the two (stamina itself depends on it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

from support_core.errors import SupportAgentError

__all__ = [
    "RetriesExhausted",
    "RetryNotice",
    "RetryPolicy",
    "TransientError",
    "call_with_retries",
    "retry_after_seconds",
]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in all (1: no retry), waits growing from `base` seconds, none over `max_delay`."""

    base: float = 0.5
    max_delay: float = 30.0
    attempts: int = 5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"a retry policy needs at least one attempt, not {self.attempts}")
        if self.base < 0 or self.max_delay < 0:
            raise ValueError("retry delays cannot be negative")


class TransientError(Exception):
    """Raised by one attempt that failed in a way worth repeating (429, 5xx, a timeout, a dropped connection).

    `problem` is logged and ends up in the final error: keep it to a status, a code or an exception's type name.
    `detail` (default: `problem`) is for the final error only. `retry_after` is the wait the server asked for.
    """

    def __init__(self, problem: str, *, retry_after: float | None = None, detail: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.detail = detail or problem
        self.retry_after = retry_after


class RetriesExhausted(SupportAgentError):
    """Every attempt failed with a `TransientError`; `problem` and `detail` are those of the last one."""

    def __init__(self, last: TransientError, attempts: int) -> None:
        self.last = last
        self.attempts = attempts
        self.problem = last.problem
        self.detail = last.detail
        super().__init__(f"{self.attempts_text} failed (last: {last.problem})")

    @property
    def attempts_text(self) -> str:
        """ "1 attempt" or "4 attempts", for messages."""
        return f"{self.attempts} attempt{'' if self.attempts == 1 else 's'}"


@dataclass(frozen=True)
class RetryNotice:
    """What the retry hook is told before each wait: `attempt` (1-based) of `attempts` failed with `problem`."""

    label: str
    problem: str
    attempt: int
    attempts: int
    delay: float


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or malformed.

    A date in the past means "now" (0). The cap is the policy's `max_delay`, applied when waiting.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _FullJitterOrRetryAfter(wait_base):
    """tenacity's full-jitter exponential wait, unless the failure carries the server's own wait (then capped)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._jitter = wait_random_exponential(multiplier=policy.base, max=policy.max_delay)
        self._cap = policy.max_delay

    def __call__(self, retry_state: RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome is not None else None
        if isinstance(failure, TransientError) and failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self._cap)
        return self._jitter(retry_state)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    label: str,
    logger: logging.Logger,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> T:
    """Await `attempt()` until it returns, raises something other than `TransientError`, or `policy` gives up.

    Before each retry, logs `"{label} failed ({problem}); retry n/m in s"` at WARNING on `logger` and calls
    `on_retry` (for counters). `label` names what is being tried ("Shopify ShopInfo"): keep secrets out of it.
    Raises `RetriesExhausted` when the last attempt failed transiently.
    """

    def before_sleep(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        problem = failure.problem if isinstance(failure, TransientError) else type(failure).__name__
        notice = RetryNotice(label, problem, state.attempt_number, policy.attempts, state.upcoming_sleep)
        logger.warning(
            "%s failed (%s); retry %d/%d in %.2f s", label, problem, notice.attempt, policy.attempts - 1, notice.delay
        )
        if on_retry is not None:
            on_retry(notice)

    try:  # the usual case, a first attempt that works, skips building tenacity's machinery
        return await attempt()
    except TransientError as failure:
        if policy.attempts == 1:
            raise RetriesExhausted(failure, 1) from failure
        first: list[TransientError] = [failure]

    retrying = AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.attempts),
        wait=_FullJitterOrRetryAfter(policy),
        retry=retry_if_exception_type(TransientError),
        before_sleep=before_sleep,
        reraise=True,
    )

    async def one() -> T:  # a coroutine function, so tenacity awaits it (a lambda returning an awaitable it would not)
        if first:  # tenacity's attempt 1 is the one already made: it waits, logs and counts from there as usual
            raise first.pop()
        return await attempt()

    try:
        return await retrying(one)
    except TransientError as last:
        raise RetriesExhausted(last, policy.attempts) from last
