"""Holding a request back, as a slow server would, until its client hangs up: the emulators' `delay` faults.

A client that times out closes its connection and never reads the late answer, so the emulator stops waiting then
instead of holding the request (and, at shutdown, the server's grace period) for the rest of the delay.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request

__all__ = ["stall"]


async def stall(request: Request, seconds: float) -> bool:
    """Wait `seconds` before answering `request` (whose body has been read); False, as soon as it happens, when
    the client hangs up first: nobody is left to answer."""
    hung_up = False
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            nonlocal hung_up
            while (await request.receive())["type"] != "http.disconnect":
                pass  # an empty end of a body already read: keep listening
            hung_up = True
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch)
        await anyio.sleep(seconds)
        tasks.cancel_scope.cancel()
    return not hung_up
