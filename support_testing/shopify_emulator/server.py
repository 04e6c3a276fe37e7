"""Serving the Shopify emulator on loopback (tests, benchmarks, `python -m support_testing.shopify_emulator`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from shopify_mcp.emulator.app import ShopifyEmulator  # the sandbox's, or the test peer that extends it
from support_core.embedded import READY_TIMEOUT, serve_on_loopback


@contextlib.asynccontextmanager
async def serve_emulator(
    emulator: ShopifyEmulator, host: str = "127.0.0.1", port: int = 0, *, ready_timeout: float = READY_TIMEOUT
) -> AsyncIterator[str]:
    """Serve `emulator` on `host:port` (0 picks a free port) in this event loop and yield `http://host:port`."""
    async with serve_on_loopback(
        emulator.app, name="Shopify emulator", host=host, port=port, ready_timeout=ready_timeout
    ) as url:
        yield url
