"""The outage pause on the LLM endpoint (a circuit breaker): once it is down, stop asking it for a while.

The `openai` client already retries each call (timeouts, connection errors, 408/409/429/5xx, with backoff). A call
that still fails that way shows the endpoint is down or overloaded, and every further call would wait as long again
(timeout x attempts, per message, for the router and again for the agent) before the offline engine answers. So:

- closed (normal): every call goes to the endpoint. One that fails with an outage (`LLMUnavailableError` for a
  timeout, a refused connection, an unreadable answer, HTTP 408/409/429 or 5xx: what the client itself retries)
  starts a pause of `pause` seconds, logged once at WARNING; longer when the endpoint's answer asked for a longer
  wait (Retry-After, e.g. an exhausted quota), up to `MAX_PAUSE` (a wrong or hostile header cannot park the LLM
  for days).
- paused: every call raises `LLMUnavailableError` at once, without touching the network, saying what failed and
  when the endpoint is tried again; callers fall back to the offline engine as for any unavailability.
- trial: the first call after the pause goes through. It is the only one: the calls made while it is in flight fail
  fast too (they do not wait for it: waiting could hold each message for the whole timeout x attempts the pause is
  there to avoid). An answer closes the breaker (logged at INFO); an outage starts a new pause; a trial cut off
  (cancelled) decides nothing, and the next call is the trial.

Only outages count. An answer of any kind shows the endpoint is up and closes a pause: a success, a rejected key
(`LLMAuthError`), an unusable answer (`LLMOutputError`, raised after the call returned), or another HTTP 4xx (a
request too long for the model, an unknown model: that call's problem, not the endpoint's, so one over-long email
cannot pause the LLM for every other message). Calls already in flight when a pause starts may still fail; that
does not extend the pause or log again.

Why our own code, against the project's rule to prefer a maintained library (evaluated, on PyPI):
`pybreaker` 1.4 runs coroutines only through tornado; `aiobreaker` 1.2 is unmaintained since 2021 and mixes
`datetime.now()` with `datetime.utcnow()` (deprecated in 3.12: an error under our warning filter); `purgatory` 3.0
and `circuitbreaker` 2.1 time the pause with `time.time()` / `time.monotonic()` called inside (no injectable clock,
so tests would sleep or patch) and let every concurrent call through after the pause, not one trial; `asyncbreaker`
2.1 (2026, one author, a fork of aiobreaker) uses the wall clock, also lets concurrent calls through half-open, and
wraps a failed trial's error in its own type. Counting failures needs none of their machinery (thresholds over
windows, storage backends, listeners): the client's retries are the threshold, so a single failed call is enough.

State changes only between awaits, on one event loop: no lock is needed (anyio tasks cannot interleave there).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from orchestrator.errors import LLMError, LLMUnavailableError

logger = logging.getLogger(__name__)

DEFAULT_PAUSE = 60.0
"""Seconds the endpoint is not asked after an outage (`[engine] outage_pause_seconds`)."""
MAX_PAUSE = 3600.0
"""The longest pause a Retry-After can ask for."""
OUTAGE_STATUSES = frozenset({408, 409, 429})
"""HTTP statuses below 500 that mean the endpoint (not the request) is in trouble: the ones the client retries."""


def is_outage(error: LLMUnavailableError) -> bool:
    """Whether `error` says the endpoint is down or overloaded (no answer, an unreadable one, 408/409/429, 5xx),
    rather than that it refused this one request (another 4xx)."""
    return error.status is None or error.status in OUTAGE_STATUSES or error.status >= 500


class OutageBreaker:
    """The pause after an outage of one endpoint (see the module docstring). Wrap each call in `attempt()`.

    `pause` is in seconds; 0 disables the pause (every call goes through, as without a breaker). `clock` is a
    monotonic clock in seconds, injected by tests."""

    def __init__(
        self, endpoint: str, pause: float = DEFAULT_PAUSE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not math.isfinite(pause) or pause < 0:
            raise ValueError(f"The outage pause is a number of seconds, 0 or more (0: no pause), not {pause!r}.")
        self.endpoint = endpoint
        self.pause = pause
        self._clock = clock
        self._outage: LLMUnavailableError | None = None
        """The failure that started the current pause; None while the breaker is closed."""
        self._paused_since = 0.0
        self._paused_until = 0.0
        """When the current pause ends: from then on one trial call may go through."""
        self._trial = False
        """A trial call is in flight."""

    @property
    def paused(self) -> bool:
        """Whether an outage is known: calls are refused until the pause ends and a trial call gets an answer."""
        return self._outage is not None

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Around one call to the endpoint: raises `LLMUnavailableError` at once during a pause (the body does not
        run); otherwise runs the body and learns from how it ended. Exceptions pass through unchanged."""
        trial = self._admit()
        try:
            yield
        except LLMUnavailableError as exc:
            if is_outage(exc):
                self._failed(exc, trial=trial)
            else:
                self._answered(trial=trial)
            raise
        except LLMError:  # a rejected key, an unusable answer: the endpoint answered
            self._answered(trial=trial)
            raise
        except BaseException:  # cancelled, or a bug of ours: no news about the endpoint
            if trial:
                self._trial = False
            raise
        else:
            self._answered(trial=trial)

    def _admit(self) -> bool:
        """True when this call is the trial after a pause; raises `LLMUnavailableError` while calls are refused."""
        outage = self._outage
        if outage is None:
            return False
        remaining = self._paused_until - self._clock()
        if remaining > 0:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} is paused for another {math.ceil(remaining)}s after an outage, so "
                "this call was not sent; the endpoint is tried again after that ([engine] outage_pause_seconds sets "
                f"the pause). The outage: {outage}",
                status=outage.status,
            )
        if self._trial:
            raise LLMUnavailableError(
                f"The LLM endpoint {self.endpoint} is paused after an outage while another call tries it again, so "
                f"this call was not sent. The outage: {outage}",
                status=outage.status,
            )
        self._trial = True
        return True

    def _failed(self, error: LLMUnavailableError, *, trial: bool) -> None:
        if trial:
            self._trial = False
        elif self._outage is not None:
            return  # in flight when the pause started: that outage is known already
        if self.pause <= 0:
            return
        now = self._clock()
        if self._outage is None:
            self._paused_since = now
        pause, asked = self.pause, ""
        if error.retry_after is not None and error.retry_after > pause:
            pause = min(error.retry_after, MAX_PAUSE)
            asked = f" (the endpoint asked to wait {error.retry_after:g}s)"
        self._outage, self._paused_until = error, now + pause
        again = "Still unavailable after the pause: pausing" if trial else "Pausing"
        logger.warning("%s %s the LLM for %gs%s; the offline engine answers meanwhile.", error, again, pause, asked)

    def _answered(self, *, trial: bool) -> None:
        if trial:
            self._trial = False
        if self._outage is None:
            return
        self._outage = None
        down = self._clock() - self._paused_since
        logger.info("The LLM endpoint %s answers again (after %.0fs of outage).", self.endpoint, down)
