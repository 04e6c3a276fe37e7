"""In-process httpx transport to the emulator that enforces the client's read timeout, as a socket would."""

from __future__ import annotations

import anyio
import httpx


class EmulatorTransport(httpx.ASGITransport):
    """`httpx.ASGITransport` ignores timeouts; this one raises `httpx.ReadTimeout` when the app answers too late.

    So a `faults.delay(...)` longer than the client's timeout looks exactly like a slow Shopify, in-process.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read")
        if read is None:
            return await super().handle_async_request(request)
        try:
            with anyio.fail_after(read):
                return await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout(f"the emulator did not answer within {read:g} s", request=request) from None
