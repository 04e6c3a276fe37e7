"""Serving the OpenAI-compatible emulator on loopback (tests, benchmarks, python -m support_testing.openai_emulator)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.types import Receive, Scope, Send

from support_core.embedded import READY_TIMEOUT, serve_on_loopback
from support_testing.openai_emulator.app import OpenAIEmulator


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: OpenAIEmulator, host: str = "127.0.0.1", port: int = 0, *, ready_timeout: float = READY_TIMEOUT
) -> AsyncIterator[str]:
    """Serve `emulator` on `host:port` (0 picks a free port) and yield its base URL, which ends with `/v1`
    (what `openai.AsyncOpenAI(base_url=...)` expects)."""
    async with serve_on_loopback(
        emulator.app, name="OpenAI emulator", host=host, port=port, ready_timeout=ready_timeout
    ) as url:
        yield f"{url}/v1"


class SwappableEmulator:
    """One served socket whose emulator can be replaced: a test module starts one server (uvicorn costs ~0.2 s to
    start and stop) and each test puts a fresh `OpenAIEmulator` behind it, so tests share nothing but the socket."""

    def __init__(self) -> None:
        self.emulator = OpenAIEmulator()
        self.url = ""
        """The base URL, ending with `/v1`, once served."""

    def fresh(self) -> OpenAIEmulator:
        """A new emulator behind the socket (the previous one's requests, faults and script are gone)."""
        self.emulator = OpenAIEmulator()
        return self.emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.emulator.app(scope, receive, send)


@contextlib.asynccontextmanager
async def serve_swappable() -> AsyncIterator[SwappableEmulator]:
    """A `SwappableEmulator` served on loopback."""
    served = SwappableEmulator()
    async with serve_on_loopback(served, name="OpenAI emulator") as url:
        served.url = f"{url}/v1"
        yield served
