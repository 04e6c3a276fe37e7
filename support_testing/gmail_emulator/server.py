"""Serving the Gmail emulator on loopback (tests, benchmarks, `python -m support_testing.gmail_emulator`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from support_core.embedded import READY_TIMEOUT, serve_on_loopback
from support_testing.gmail_emulator.app import GmailEmulator


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: GmailEmulator, host: str = "127.0.0.1", port: int = 0, *, ready_timeout: float = READY_TIMEOUT
) -> AsyncIterator[str]:
    """Serve `emulator` on `host:port` (0 picks a free port) in this event loop and yield `http://host:port`.

    Point the Google client at it with `client_options={"api_endpoint": url + "/"}` and credentials whose
    `token_uri` is `url + "/token"`.
    """
    async with serve_on_loopback(
        emulator.app, name="Gmail emulator", host=host, port=port, ready_timeout=ready_timeout
    ) as url:
        yield url
