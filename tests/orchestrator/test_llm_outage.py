"""The outage pause on the LLM endpoint (`orchestrator.llm_outage`), with the real `openai` client against the OpenAI
emulator on loopback, and a hand-driven clock for the pause: no test sleeps through one."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.api import HealthState, probe_llm
from orchestrator.config import DEFAULT_CONFIG, Secrets, load_config
from orchestrator.errors import ConfigError, LLMAuthError, LLMError, LLMOutputError, LLMUnavailableError
from orchestrator.llm import LLM
from orchestrator.llm_outage import MAX_PAUSE, OutageBreaker
from orchestrator.models import RouterDecision
from orchestrator.runner import build_llm
from support_testing.clock import HandClock
from support_testing.openai_emulator import (
    EMULATOR_API_KEY,
    OpenAIEmulator,
    SwappableEmulator,
    serve_emulator,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

PAUSE = 60.0
SPANISH = "Hola, ¿dónde está mi pedido #1001? Gracias"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


LLMFactory = Callable[..., AbstractAsyncContextManager[LLM]]


@pytest.fixture
def llm_with(loopback: SwappableEmulator, emulator: OpenAIEmulator, clock: HandClock) -> LLMFactory:
    """An `LLM` on the emulator with the test's clock and a 60 s pause; keyword arguments override the defaults."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[LLM]:
        options: dict[str, Any] = {
            "api_key": EMULATOR_API_KEY,
            "base_url": loopback.url,
            "timeout": 5.0,
            "max_retries": 0,
            "outage_pause": PAUSE,
            "clock": clock,
        }
        async with LLM(**(options | overrides)) as llm:
            yield llm

    return factory


async def route(llm: LLM) -> RouterDecision:
    decision, _usage = await llm.parse(system="You route support mail.", user=SPANISH, output=RouterDecision)
    return decision


def outage(emulator: OpenAIEmulator, kind: str, n: int = 1) -> str:
    """Make the next `n` requests fail as `kind`; returns what the error message says about it."""
    if kind == "timeout":
        emulator.faults.timeout(n)
        return "did not answer within"
    status = int(kind)
    emulator.faults.http_status(status, n, retry_after=0.01)
    return f"HTTP {status}"


async def pause_then_wait_it_out(llm: LLM, emulator: OpenAIEmulator, clock: HandClock, *, status: int) -> None:
    """One outage (HTTP `status`), then the whole pause gone by: the next call is the trial."""
    emulator.faults.http_status(status, 1)
    with pytest.raises(LLMUnavailableError, match=f"HTTP {status}"):
        await route(llm)
    clock.advance(PAUSE)


def pause_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "orchestrator.llm_outage" and r.levelname == "WARNING"]


@pytest.mark.parametrize("kind", ["timeout", "429", "500", "503"])
async def test_an_outage_pauses_the_endpoint_then_one_answer_ends_the_pause(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.INFO, logger="orchestrator")
    retries = 0 if kind == "timeout" else 1  # the pause starts after the client's own retries
    said = outage(emulator, kind, n=retries + 1)
    async with llm_with(timeout=0.2, max_retries=retries) as llm:
        with pytest.raises(LLMUnavailableError, match=said):
            await route(llm)
        assert len(emulator.faults) == 0, "the call and its retry were sent"
        assert llm.paused
        for elapsed in (0, 30, 29.5):  # 59.5 s into the pause: still refused, with no request
            clock.advance(elapsed)
            with pytest.raises(LLMUnavailableError, match=r"paused for another \d+s after an outage") as caught:
                await route(llm)
            assert said in str(caught.value), "the refusal says what failed"
            assert "outage_pause_seconds" in str(caught.value), "... and how to change the pause"
        assert "another 1s" in str(caught.value)
        clock.advance(0.5)
        assert (await route(llm)).order_number == "#1001", "the first call after the pause is tried, and answered"
        assert not llm.paused
        await route(llm)
    assert len(emulator.requests) == retries + 3 and [r.status for r in emulator.requests][-2:] == [200, 200]
    assert len(pause_warnings(caplog)) == 1
    assert said in pause_warnings(caplog)[0] and "60s" in pause_warnings(caplog)[0]
    back = [r.getMessage() for r in caplog.records if r.levelname == "INFO" and "answers again" in r.getMessage()]
    assert back == [f"The LLM endpoint {llm.endpoint} answers again (after 60s of outage)."]


async def test_during_a_pause_no_request_reaches_the_endpoint(llm_with: LLMFactory, emulator: OpenAIEmulator) -> None:
    emulator.faults.http_status(500, 1)
    async with llm_with() as llm:
        with pytest.raises(LLMUnavailableError, match="HTTP 500"):
            await route(llm)
        for _ in range(20):
            with pytest.raises(LLMUnavailableError, match="paused") as caught:
                await llm.chat(messages=[{"role": "user", "content": "hello"}])
            assert caught.value.status == 500, "the refusal keeps the outage's status"
        assert probe_llm(llm, HealthState())["paused"] is True, "/health shows the pause"
    assert len(emulator.requests) == 1


async def test_a_failed_trial_starts_a_new_pause(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.http_status(503, 2)
    async with llm_with() as llm:
        with pytest.raises(LLMUnavailableError, match="HTTP 503"):
            await route(llm)
        clock.advance(PAUSE)
        with pytest.raises(LLMUnavailableError, match="HTTP 503"):
            await route(llm)  # the trial: sent, and failed
        assert len(emulator.requests) == 2
        clock.advance(PAUSE - 1)  # a new pause, counted from the trial
        with pytest.raises(LLMUnavailableError, match="another 1s"):
            await route(llm)
        clock.advance(1)
        await route(llm)
    assert len(emulator.requests) == 3
    warnings = pause_warnings(caplog)
    assert len(warnings) == 2 and "Still unavailable after the pause" in warnings[1]


async def test_an_unreachable_endpoint_pauses_and_is_tried_when_it_comes_back(clock: HandClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    emulator = OpenAIEmulator()
    url = f"http://127.0.0.1:{port}/v1"
    async with LLM(api_key=EMULATOR_API_KEY, base_url=url, max_retries=0, outage_pause=PAUSE, clock=clock) as llm:
        with pytest.raises(LLMUnavailableError, match="Could not connect"):
            await route(llm)
        async with serve_emulator(emulator, port=port):
            with pytest.raises(LLMUnavailableError, match=r"paused .* Could not connect"):
                await route(llm)  # up again, but the pause holds
            assert emulator.requests == []
            clock.advance(PAUSE)
            assert (await route(llm)).category == "ShippingDelivery"
    assert len(emulator.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("refusal", LLMOutputError),
        ("malformed_json", LLMOutputError),
        ("wrong key", LLMAuthError),
        ("400", LLMUnavailableError),  # an email too long for the model: that request's problem, not the endpoint's
        ("unknown model", LLMUnavailableError),
    ],
)
async def test_answers_that_are_errors_never_pause(
    llm_with: LLMFactory,
    emulator: OpenAIEmulator,
    caplog: pytest.LogCaptureFixture,
    answer: str,
    error: type[LLMError],
) -> None:
    options: dict[str, Any] = {}
    if answer == "refusal":
        emulator.faults.refusal(3)
    elif answer == "malformed_json":
        emulator.faults.malformed_json(3)
    elif answer == "wrong key":
        options["api_key"] = "sk-wrong"
    elif answer == "400":
        emulator.faults.http_status(400, 3)
    else:
        options["router_model"] = "gpt-nonexistent"
    async with llm_with(**options) as llm:
        for _ in range(3):
            with pytest.raises(error) as caught:
                await route(llm)
            assert "paused" not in str(caught.value)
        assert not llm.paused
    assert len(emulator.requests) == 3, "every call reached the endpoint"
    assert pause_warnings(caplog) == []


async def test_any_answer_to_the_trial_ends_the_pause(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock
) -> None:
    """A trial answered with a rejected key: the endpoint is up (the key is the problem), so calls go to it again."""
    async with llm_with() as llm:
        await pause_then_wait_it_out(llm, emulator, clock, status=502)
        emulator.api_key = "sk-rotated"
        with pytest.raises(LLMAuthError):
            await route(llm)
        with pytest.raises(LLMAuthError):
            await route(llm)
    assert [r.kind for r in emulator.requests] == ["http_502", "unauthorized", "unauthorized"]


async def test_zero_disables_the_pause(
    llm_with: LLMFactory, emulator: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.http_status(500, 3)
    async with llm_with(outage_pause=0) as llm:
        for _ in range(3):
            with pytest.raises(LLMUnavailableError, match=r"HTTP 500 \(1 attempt\)"):
                await route(llm)
        assert not llm.paused
        await route(llm)
    assert len(emulator.requests) == 4
    assert pause_warnings(caplog) == []


@pytest.mark.parametrize(("asked", "paused"), [(300, 300), (86_400, MAX_PAUSE), (5, PAUSE)])
async def test_a_longer_retry_after_lengthens_the_pause_up_to_an_hour(
    llm_with: LLMFactory,
    emulator: OpenAIEmulator,
    clock: HandClock,
    caplog: pytest.LogCaptureFixture,
    asked: float,
    paused: float,
) -> None:
    """An exhausted quota answers 429 with a long Retry-After: trying every minute would only be refused again."""
    emulator.faults.http_status(429, 1, retry_after=asked)
    async with llm_with() as llm:
        with pytest.raises(LLMUnavailableError, match="HTTP 429") as caught:
            await route(llm)
        assert caught.value.retry_after == asked
        clock.advance(paused - 1)
        with pytest.raises(LLMUnavailableError, match=r"paused for another 1s"):
            await route(llm)
        clock.advance(1)
        assert (await route(llm)).order_number == "#1001", "tried again once the wait asked for is over"
    assert len(emulator.requests) == 2
    [warning] = pause_warnings(caplog)
    assert f"for {paused:g}s" in warning and (f"asked to wait {asked:g}s" in warning) == (asked > PAUSE)


async def test_retry_after_in_milliseconds_or_as_a_date_is_read_as_the_client_reads_it() -> None:
    from orchestrator.llm import _retry_after

    assert _retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert _retry_after({"retry-after": "120"}) == 120
    assert 3590 < (_retry_after({"retry-after": format_datetime(datetime.now(UTC) + timedelta(hours=1))}) or 0) <= 3600
    assert _retry_after({"retry-after": "soon"}) is None and _retry_after({}) is None


async def test_only_one_call_tries_the_endpoint_after_a_pause(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock
) -> None:
    """Several messages in flight at once: one trial goes out, the others fail fast instead of queueing behind it."""
    emulator.faults.http_status(500, 1)
    results: list[RouterDecision | LLMError] = []

    async def call(llm: LLM) -> None:
        try:
            results.append(await route(llm))
        except LLMError as exc:
            results.append(exc)

    async with llm_with() as llm:
        with pytest.raises(LLMUnavailableError):
            await route(llm)
        clock.advance(PAUSE)
        emulator.latency = 0.3  # the trial is still in flight while the others call
        async with anyio.create_task_group() as tasks:
            for _ in range(6):
                tasks.start_soon(call, llm)
        answered = [r for r in results if isinstance(r, RouterDecision)]
        refused = [r for r in results if isinstance(r, LLMUnavailableError)]
        assert (len(answered), len(refused)) == (1, 5)
        assert all("while another call tries it again" in str(r) for r in refused)
        emulator.latency = 0
        await route(llm)  # closed again: everyone's calls go through
    assert len(emulator.requests) == 3


async def test_calls_in_flight_when_the_pause_starts_log_it_once_and_do_not_extend_it(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.timeout(4)
    async with llm_with(timeout=0.3) as llm:

        async def late_failure(delay: float) -> None:
            with pytest.raises(LLMUnavailableError, match="did not answer"):
                await route(llm)
            clock.advance(delay)  # the clock moves on between the failures

        async with anyio.create_task_group() as tasks:
            for _ in range(4):
                tasks.start_soon(late_failure, 10)
        assert len(pause_warnings(caplog)) == 1
        clock.advance(PAUSE - 40)  # 60 s after the first failure, not after the last
        await route(llm)


async def test_a_trial_cut_off_decides_nothing(
    llm_with: LLMFactory, emulator: OpenAIEmulator, clock: HandClock
) -> None:
    """A trial cancelled (shutdown, a deadline) must not leave the endpoint paused for good: the next call tries."""
    async with llm_with() as llm:
        await pause_then_wait_it_out(llm, emulator, clock, status=500)
        emulator.latency = 5
        with anyio.move_on_after(0.2) as scope:
            await route(llm)
        assert scope.cancelled_caught
        emulator.latency = 0
        assert llm.paused, "no answer yet"
        assert (await route(llm)).order_number == "#1001"
        assert not llm.paused


def test_the_breaker_refuses_a_pause_that_is_not_a_duration() -> None:
    for pause in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="0 or more"):
            OutageBreaker("http://llm.test/v1", pause)


def test_the_pause_is_configured_in_the_engine_section(tmp_path: Path) -> None:
    assert load_config().engine.outage_pause_seconds == 60
    path = tmp_path / "shop.toml"
    path.write_text("[engine]\noutage_pause_seconds = 0\n", encoding="utf-8")
    assert load_config(path).engine.outage_pause_seconds == 0
    for bad, said in (("-5", "greater than or equal to 0"), ("inf", "finite number"), ('"soon"', "valid number")):
        path.write_text(f"[engine]\noutage_pause_seconds = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=f"shop.toml: engine.outage_pause_seconds: .*{said}"):
            load_config(path)
    assert "outage_pause_seconds = 60" in DEFAULT_CONFIG.read_text("utf-8"), "the defaults file documents it"


@pytest.mark.parametrize("pause", [0, 60])
async def test_build_llm_passes_the_configured_pause(
    loopback: SwappableEmulator, emulator: OpenAIEmulator, tmp_path: Path, pause: int
) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(f"[engine]\nmode = 'llm'\noutage_pause_seconds = {pause}\n", encoding="utf-8")
    given = {"OPENAI_API_KEY": EMULATOR_API_KEY, "OPENAI_BASE_URL": loopback.url}
    llm = build_llm(Secrets(_env_file=None, **given), load_config(path))  # type: ignore[arg-type]
    assert llm is not None
    emulator.faults.http_status(500, 6, retry_after=0.01)  # the client's own retries (2) first: 3 requests a call
    async with llm:
        for _ in range(2):
            with pytest.raises(LLMUnavailableError):
                await route(llm)
    assert len(emulator.requests) == (6 if pause == 0 else 3)
