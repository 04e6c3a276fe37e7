"""The listening socket every HTTP server here takes first (`bind_socket`): its connections must not wait on Nagle.

A response written in two parts (uvicorn writes the head, then the body) on a socket with Nagle's algorithm on waits
for the client's delayed ACK of the first part: 40 ms on every request of a kept-alive connection, which is how
Streamable HTTP tool calls came to take ~44 ms each. asyncio switches Nagle off only on sockets whose protocol says
TCP, and accepted connections take the listening socket's.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from support_core.loopback import bind_socket

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_connections_accepted_on_the_bound_socket_have_nagle_off(host: str) -> None:
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        sock = bind_socket(host, 0)
    except Exception as exc:  # a machine without an IPv6 loopback address
        pytest.skip(f"cannot bind {host}: {exc}")
    assert sock.proto == socket.IPPROTO_TCP
    seen: list[int] = []
    done = asyncio.Event()

    def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = writer.get_extra_info("socket")
        seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        done.set()

    sock.listen()
    server = await asyncio.start_server(handler, sock=sock)
    async with server:
        port = sock.getsockname()[1]
        _reader, writer = await asyncio.open_connection(host, port)
        await asyncio.wait_for(done.wait(), 10)
        writer.close()
    assert seen and seen[0] != 0, "TCP_NODELAY is off on the accepted connection"
