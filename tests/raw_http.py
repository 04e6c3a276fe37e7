"""HTTP/1.1 over a raw loopback socket, for what an HTTP client library will not do: trickle a request, hold a
connection open without sending anything, and see exactly what the server answers and when it hangs up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import anyio.abc


@dataclass
class Exchange:
    """What the server sent until it closed the connection, and how many seconds that took."""

    data: bytes
    seconds: float

    @property
    def status(self) -> int:
        """The status code of the first response (0 when the server answered nothing)."""
        line = self.data.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0

    @property
    def body(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[2]


async def connect(url: str) -> anyio.abc.SocketStream:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return await anyio.connect_tcp(parts.hostname, parts.port)


async def trickle(url: str, parts: Sequence[bytes], *, pause: float, within: float = 10.0) -> Exchange:
    """Send `parts` one at a time, `pause` seconds apart, while reading until the server closes the connection
    (or `within` seconds pass: then `TimeoutError`)."""
    started = time.perf_counter()
    received = bytearray()
    with anyio.fail_after(within):
        async with await connect(url) as stream, anyio.create_task_group() as tasks:

            async def send_slowly() -> None:
                for part in parts:
                    try:
                        await stream.send(part)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                        return  # the server hung up: that is what the tests wait for
                    await anyio.sleep(pause)

            tasks.start_soon(send_slowly)
            try:
                while True:
                    received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass
            tasks.cancel_scope.cancel()
    return Exchange(bytes(received), time.perf_counter() - started)


@asynccontextmanager
async def idle_connections(url: str, count: int) -> AsyncIterator[list[anyio.abc.SocketStream]]:
    """`count` connections that are open and send nothing, closed on exit."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(await connect(url)) for _ in range(count)]
