"""The shared retry helper: which failures are retried, how long it waits, what it logs and how it gives up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio.lowlevel
import pytest

from support_core.retry import (
    RetriesExhausted,
    RetryNotice,
    RetryPolicy,
    TransientError,
    call_with_retries,
    retry_after_seconds,
)

pytestmark = pytest.mark.anyio
LOG = logging.getLogger("tests.retry")


class Sleeps:
    """Records the waits asked for and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await anyio.lowlevel.checkpoint()


class Flaky:
    """An attempt that raises the given failures in turn, then returns "ok"."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


async def test_transient_failures_are_retried_with_capped_full_jitter() -> None:
    flaky = Flaky(*[TransientError("HTTP 503") for _ in range(9)])
    sleeps = Sleeps()
    result = await call_with_retries(
        flaky, RetryPolicy(base=1.0, max_delay=8.0, attempts=10), label="x", logger=LOG, sleep=sleeps
    )
    assert result == "ok" and flaky.calls == 10
    bounds = [min(8.0, 2.0 ** (n - 1)) for n in range(1, 10)]
    assert all(0 <= wait <= bound for wait, bound in zip(sleeps.calls, bounds, strict=True))
    assert len(set(sleeps.calls)) > 1, "jitter should vary the waits"


async def test_an_attempt_given_as_a_lambda_is_awaited_and_retried() -> None:
    """Callers pass `lambda: self._attempt(...)`: a plain function returning a coroutine, not a coroutine function."""
    flaky = Flaky(TransientError("HTTP 503"))
    sleeps = Sleeps()
    assert (
        await call_with_retries(lambda: flaky(), RetryPolicy(attempts=2), label="x", logger=LOG, sleep=sleeps) == "ok"
    )
    assert flaky.calls == 2 and len(sleeps.calls) == 1


async def test_the_servers_retry_after_wins_but_is_capped() -> None:
    flaky = Flaky(TransientError("HTTP 429", retry_after=2.5), TransientError("HTTP 429", retry_after=120))
    sleeps = Sleeps()
    await call_with_retries(
        flaky, RetryPolicy(base=0.01, max_delay=8.0, attempts=3), label="x", logger=LOG, sleep=sleeps
    )
    assert sleeps.calls == [2.5, 8.0]


async def test_a_real_wait_lasts_as_long_as_retry_after_says() -> None:
    flaky = Flaky(TransientError("HTTP 429", retry_after=0.2))
    started = anyio.current_time()
    await call_with_retries(flaky, RetryPolicy(base=5.0, max_delay=5.0, attempts=2), label="x", logger=LOG)
    assert 0.2 <= anyio.current_time() - started < 2, "Retry-After, not the 5 s backoff, sets the wait"


async def test_other_errors_are_not_retried() -> None:
    flaky = Flaky(PermissionError("scope missing"))
    sleeps = Sleeps()
    with pytest.raises(PermissionError, match="scope missing"):
        await call_with_retries(flaky, RetryPolicy(attempts=5), label="x", logger=LOG, sleep=sleeps)
    assert flaky.calls == 1 and sleeps.calls == []


async def test_giving_up_reports_the_attempts_and_the_last_problem() -> None:
    flaky = Flaky(TransientError("HTTP 500"), TransientError("ConnectError", detail="ConnectError: refused"))
    with pytest.raises(RetriesExhausted) as raised:
        await call_with_retries(flaky, RetryPolicy(base=0, attempts=2), label="x", logger=LOG, sleep=Sleeps())
    assert flaky.calls == 2
    assert (raised.value.attempts, raised.value.problem, raised.value.detail) == (
        2,
        "ConnectError",
        "ConnectError: refused",
    )
    assert str(raised.value) == "2 attempts failed (last: ConnectError)"


async def test_one_attempt_means_no_retry() -> None:
    flaky = Flaky(TransientError("HTTP 503"))
    sleeps = Sleeps()
    with pytest.raises(RetriesExhausted, match="1 attempt failed"):
        await call_with_retries(flaky, RetryPolicy(attempts=1), label="x", logger=LOG, sleep=sleeps)
    assert flaky.calls == 1 and sleeps.calls == []


async def test_each_retry_is_logged_at_warning_and_reported_to_the_hook(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tests.retry")
    notices: list[RetryNotice] = []
    flaky = Flaky(TransientError("HTTP 503"), TransientError("THROTTLED", retry_after=1.5))
    await call_with_retries(
        flaky, RetryPolicy(attempts=4), label="Shopify ShopInfo", logger=LOG, sleep=Sleeps(), on_retry=notices.append
    )
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert caplog.records[1].getMessage() == "Shopify ShopInfo failed (THROTTLED); retry 2/3 in 1.50 s"
    assert [(n.problem, n.attempt, n.attempts) for n in notices] == [("HTTP 503", 1, 4), ("THROTTLED", 2, 4)]
    assert notices[1].delay == 1.5


async def test_only_the_problem_is_logged_never_the_detail(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tests.retry")
    flaky = Flaky(TransientError("ReadTimeout", detail="ReadTimeout: https://hooks.example/t?key=s3cr3t"))
    await call_with_retries(flaky, RetryPolicy(attempts=2), label="Ticket T-1", logger=LOG, sleep=Sleeps())
    assert "ReadTimeout" in caplog.text and "s3cr3t" not in caplog.text


async def test_cancellation_is_not_retried() -> None:
    calls = 0

    async def slow() -> None:
        nonlocal calls
        calls += 1
        await anyio.sleep(10)

    with anyio.move_on_after(0.05):
        await call_with_retries(slow, RetryPolicy(attempts=5), label="x", logger=LOG)
    assert calls == 1


NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (None, None),
        ("soon", None),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("Tue, 24 Nov 2026 10:00:30 GMT", 30.0),
        ("Tue, 24 Nov 2026 09:59:00 GMT", 0.0),  # already past: go now
    ],
)
def test_retry_after_header_in_seconds_or_as_a_date(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == expected


@pytest.mark.parametrize("values", [{"attempts": 0}, {"base": -1.0}, {"max_delay": -0.5}])
def test_a_policy_that_cannot_work_is_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**values)
