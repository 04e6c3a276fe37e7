"""Serving the OpenAI-compatible emulator on loopback (tests, benchmarks, python -m support_testing.openai_emulator)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

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
