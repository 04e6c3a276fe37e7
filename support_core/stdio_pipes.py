"""Serving an MCP server over stdio without worker threads: JSON-RPC lines on the stdin/stdout pipes, read and
written by the event loop itself.

The SDK's `stdio_server` wraps stdin and stdout as anyio files, which hands every line read and every line
written to a worker thread (two thread hops per tool call, and the wake-ups that go with them). When both are
pipes or sockets, which is how every MCP host spawns a server, `pipe_streams` reads and writes them with asyncio
pipe transports instead and gives the server the same pair of streams, under the same contract:
- one JSON-RPC message per line, UTF-8 (undecodable bytes replaced), no limit on a line's length;
- a line that is not a JSON-RPC message goes into the read stream as the exception, and serving goes on;
- end of input ends the read stream (a last line without its newline is still read);
- while serving, fd 0 reads the null device and fd 1 writes to stderr, so a stray `print` or a child process
  cannot corrupt the protocol; both are given back on exit.
Anything else (a file, a terminal, another event loop than asyncio) falls back to the SDK's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer
from mcp.shared.message import SessionMessage
from mcp.types import jsonrpc_message_adapter

logger = logging.getLogger(__name__)

Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]

LINE_CHUNK = 256 * 1024
"""Bytes looked through for a newline at a time; longer lines are read in pieces (input is paused beyond twice
this much unread data)."""


def is_pipe(fd: int) -> bool:
    """Whether `fd` is a pipe or a socket (what asyncio's pipe transports accept without surprises)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def serve_stdio(server: MCPServer) -> None:
    """Run `server` on this process's stdin/stdout until the client closes stdin: thread-free when both are
    pipes (see the module's docstring), else with the SDK's own stdio transport."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio): the SDK's transport works everywhere
        await server.run_stdio_async()
        return
    if not (is_pipe(0) and is_pipe(1)):
        await server.run_stdio_async()
        return
    # MCPServer has no public "run on these streams"; its own `run_stdio_async` is exactly this call with the
    # SDK's stdio streams. Should a later SDK rename that attribute, serving falls back to its own transport (and
    # tests/support_core/test_stdio_pipes.py, which checks that no worker thread serves a call, says so).
    lowlevel = getattr(server, "_lowlevel_server", None)
    if lowlevel is None or not hasattr(lowlevel, "create_initialization_options"):
        await server.run_stdio_async()
        return
    async with pipe_streams() as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


@contextlib.contextmanager
def _claimed(fd: int, diversion: Callable[[], int]) -> Iterator[int]:
    """A private duplicate of `fd` (close-on-exec, never 0-2) for the protocol, while `fd` itself points at
    `diversion()`; on exit `fd` is the protocol's again (and blocking, as it was)."""
    private = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    try:
        blocking = os.get_blocking(private)
        diverted = diversion()
        try:
            os.dup2(diverted, fd)
        finally:
            os.close(diverted)
        try:
            yield private
        finally:
            with contextlib.suppress(OSError):
                os.set_blocking(private, blocking)
            os.dup2(private, fd)
    finally:
        os.close(private)


def _null_input() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _stderr_output() -> int:
    try:
        return os.dup(2)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


class _PipeWriter(asyncio.BaseProtocol):
    """The protocol of the stdout pipe: `write` returns once the pipe took the bytes or has room for more."""

    def __init__(self) -> None:
        self._transport: asyncio.WriteTransport | None = None
        self._paused = False
        self._lost = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def write(self, data: bytes) -> None:
        """`BrokenPipeError` once the reader has gone."""
        if self._lost or self._transport is None or self._transport.is_closing():
            raise BrokenPipeError("the MCP client closed stdout")
        self._transport.write(data)
        while self._paused and not self._lost:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self._lost:
            raise BrokenPipeError("the MCP client closed stdout")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()  # after what is still buffered has been written


async def _next_line(reader: asyncio.StreamReader) -> bytes:
    """The next line with its newline; at end of input the unterminated rest, then b""."""
    pieces: list[bytes] = []
    while True:
        try:
            pieces.append(await reader.readuntil(b"\n"))
        except asyncio.IncompleteReadError as end:
            pieces.append(end.partial)
        except asyncio.LimitOverrunError as long:  # a line longer than LINE_CHUNK: take what is there, go on
            pieces.append(await reader.readexactly(long.consumed))
            continue
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


async def _read_messages(
    reader: asyncio.StreamReader, send: MemoryObjectSendStream[SessionMessage | Exception]
) -> None:
    async with send:
        while line := await _next_line(reader):
            try:
                message = jsonrpc_message_adapter.validate_json(line.decode("utf-8", "replace"), by_name=False)
            except ValueError as exc:  # pydantic's ValidationError: the server answers it and serves on
                await send.send(exc)
                continue
            await send.send(SessionMessage(message))


async def _write_messages(writer: _PipeWriter, receive: MemoryObjectReceiveStream[SessionMessage]) -> None:
    async with receive:
        broken = False
        async for session_message in receive:
            if broken:  # nobody reads any more: drop the rest rather than block the server's shutdown
                continue
            text = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
            try:
                await writer.write(text.encode() + b"\n")
            except (BrokenPipeError, ConnectionError):
                logger.debug("The MCP client stopped reading stdout")
                broken = True


@contextlib.asynccontextmanager
async def pipe_streams(stdin_fd: int = 0, stdout_fd: int = 1) -> AsyncIterator[Streams]:
    """(read stream, write stream) of `SessionMessage`s over the pipes `stdin_fd`/`stdout_fd`, as the SDK's
    `stdio_server` yields them; both descriptors are diverted while serving (see the module's docstring)."""
    loop = asyncio.get_running_loop()
    read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
    with _claimed(stdin_fd, _null_input) as input_fd, _claimed(stdout_fd, _stderr_output) as output_fd:
        reader = asyncio.StreamReader(limit=LINE_CHUNK)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(input_fd), "rb", buffering=0)
        )
        writer = _PipeWriter()
        try:
            await loop.connect_write_pipe(lambda: writer, os.fdopen(os.dup(output_fd), "wb", buffering=0))
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_write_messages, writer, write_receive)
                reading = anyio.CancelScope()
                tasks.start_soon(_read_messages_until, reading, reader, read_send)
                try:
                    yield read_receive, write_send
                finally:
                    reading.cancel()  # the server is done: stop waiting for input
                    write_send.close()  # the writer ends once it has written what the server sent
        finally:
            read_transport.close()
            writer.close()


async def _read_messages_until(
    scope: anyio.CancelScope, reader: asyncio.StreamReader, send: MemoryObjectSendStream[SessionMessage | Exception]
) -> None:
    with scope:
        await _read_messages(reader, send)
