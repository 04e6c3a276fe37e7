"""One logged-in IMAP connection, reused, run in worker threads, re-opened with backoff; and an IDLE waiter.

Why imapclient and not aioimaplib: imapclient is the mature, widely used client (parsed FETCH responses, modified
UTF-7 folder names, Gmail's X-GM-* attributes, IDLE, UIDPLUS, STARTTLS) and is synchronous, which fits the shape
the Maildir backend already has (blocking work in `anyio.to_thread` under one lock). aioimaplib would avoid the
threads but leaves response parsing to the caller, and its IDLE handling needs its own task juggling; the one thing
async would buy us (a long IDLE without a thread) is covered here by a second connection used only for IDLE.

After login the working connection ENABLEs QRESYNC, or CONDSTORE when that is all the server has (RFC 7162,
RFC 5161), so that SELECT reports HIGHESTMODSEQ and `imap_index` can fetch only the flags that changed and learn
expunged UIDs from VANISHED; a server with neither is read the plain way. The IDLE connection enables nothing.

Every socket operation is bounded by `timeout` seconds (GMAIL_TIMEOUT). A dropped connection, a timeout or a
refused TCP connection closes the connection and is retried with full-jitter backoff (support_core.retry, on
tenacity); a refused login or a NO/BAD answer is not retried.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError  # type: ignore[import-untyped]

from gmail_mcp.errors import MailboxUnavailableError, MailError
from support_core.retry import RetriesExhausted, RetryPolicy, TransientError, call_with_retries

__all__ = ["ImapConnection", "ImapEndpoint", "ImapLoginError", "enable_modseqs"]

T = TypeVar("T")
logger = logging.getLogger(__name__)
_DROPPED = (IMAPClientAbortError, OSError, ssl.SSLError, socket.timeout, EOFError)


class ImapLoginError(MailError):
    """The server refused the user name and password (not retried)."""


@dataclass(frozen=True)
class ImapEndpoint:
    """Where and how to log in. `tls`: implicit (TLS from the first byte), starttls, or none (loopback only)."""

    host: str
    port: int
    user: str
    password: str
    tls: str = "implicit"
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None

    def __repr__(self) -> str:  # never the password
        return f"ImapEndpoint({self.host}:{self.port}, tls={self.tls}, user=…)"

    def open(self) -> Any:
        """A logged-in `IMAPClient` (times as timezone-aware datetimes)."""
        context = self.ssl_context or ssl.create_default_context()
        client = IMAPClient(
            self.host, port=self.port, ssl=self.tls == "implicit", ssl_context=context, timeout=self.timeout
        )
        try:
            _no_delay(client)
            if self.tls == "starttls":
                client.starttls(context)
            client.normalise_times = False
            client.login(self.user, self.password)
        except LoginError as exc:
            _close_quietly(client)
            raise ImapLoginError(
                f"The IMAP server {self.host} refused the login for the configured user ({_short(exc)}): check "
                "GMAIL_IMAP_USER and the password (Gmail, Outlook and Fastmail need an app password)."
            ) from None
        except BaseException:
            _close_quietly(client)
            raise
        return client


class ImapConnection:
    """A connection opened on first use and kept; `run(job)` calls `job(client)` in a worker thread, one at a time."""

    def __init__(self, endpoint: ImapEndpoint, policy: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self._lock = threading.Lock()
        self._client: Any = None
        self._capabilities: frozenset[str] = frozenset()
        self._enabled: frozenset[str] = frozenset()

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities after login (upper case), empty before the first call."""
        return self._capabilities

    @property
    def enabled(self) -> frozenset[str]:
        """The extensions ENABLEd on the current connection: {"CONDSTORE", "QRESYNC"}, {"CONDSTORE"} or none."""
        return self._enabled

    async def run(self, job: Callable[[Any], T], *, label: str) -> T:
        async def attempt() -> T:
            return await anyio.to_thread.run_sync(self._locked, job)

        try:
            return await call_with_retries(attempt, self.policy, label=f"IMAP {label}", logger=logger)
        except RetriesExhausted as exc:
            raise MailboxUnavailableError(
                f"The IMAP server {self.endpoint.host}:{self.endpoint.port} did not answer ({exc.detail}) after "
                f"{exc.attempts_text}: check GMAIL_IMAP_HOST, GMAIL_IMAP_PORT, GMAIL_IMAP_TLS and the network."
            ) from None

    def _locked(self, job: Callable[[Any], T]) -> T:
        with self._lock:
            try:
                if self._client is None:
                    self._enabled = frozenset()
                    self._client = self.endpoint.open()
                    self._capabilities = frozenset(_text(c).upper() for c in self._client.capabilities())
                    self._enabled = enable_modseqs(self._client, self._capabilities)
                return job(self._client)
            except _DROPPED as exc:
                self._drop()
                raise TransientError(type(exc).__name__, detail=_short(exc)) from None
            except IMAPClientError as exc:
                raise MailboxUnavailableError(f"The IMAP server refused a command: {_short(exc)}") from None

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _close_quietly(client)

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                client, self._client = self._client, None
                if client is not None:
                    try:
                        client.logout()
                    except (*_DROPPED, IMAPClientError):
                        _close_quietly(client)

        await anyio.to_thread.run_sync(close)


IDLE_SLICE = 1.0
"""Seconds between looks at whether an IDLE wait was cancelled (the server's answers end a slice at once)."""


class IdleWaiter:
    """A second connection that sits in IDLE on INBOX until mail beyond a known UID arrives, or a time passes.

    It is separate from the working connection so a wait never holds up other calls. `wait` returns True when
    INBOX may have new mail (the caller then looks), False when the time ran out, and None when the server has no
    IDLE (the caller answers at once).
    """

    def __init__(self, endpoint: ImapEndpoint) -> None:
        self.endpoint = endpoint
        self._lock = threading.Lock()
        self._client: Any = None

    async def wait(self, last_uid: int, seconds: float) -> bool | None:
        """Cancelling it returns at once; the thread leaves IDLE within `IDLE_SLICE` seconds (DONE is sent)."""
        cancelled = threading.Event()
        try:
            return await anyio.to_thread.run_sync(self._wait, last_uid, seconds, cancelled, abandon_on_cancel=True)
        finally:
            cancelled.set()

    def _wait(self, last_uid: int, seconds: float, cancelled: threading.Event) -> bool | None:
        import time

        with self._lock:
            try:
                if self._client is None:
                    self._client = self.endpoint.open()
                client = self._client
                if b"IDLE" not in client.capabilities():
                    return None
                status = client.select_folder("INBOX", readonly=True)
                if int(status.get(b"UIDNEXT", 0)) - 1 > last_uid:
                    return True
                deadline = time.monotonic() + seconds
                client.idle()
                try:
                    while (left := deadline - time.monotonic()) > 0 and not cancelled.is_set():
                        for response in client.idle_check(timeout=min(left, IDLE_SLICE)):
                            if len(response) > 1 and response[1] in (b"EXISTS", b"RECENT"):
                                return True
                    return False
                finally:
                    client.idle_done()
            except (*_DROPPED, IMAPClientError) as exc:
                logger.warning("IMAP IDLE stopped (%s); answering without waiting", type(exc).__name__)
                client, self._client = self._client, None
                if client is not None:
                    _close_quietly(client)
                return True

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                client, self._client = self._client, None
                if client is not None:
                    _close_quietly(client)

        await anyio.to_thread.run_sync(close)


def enable_modseqs(client: Any, capabilities: frozenset[str]) -> frozenset[str]:
    """ENABLE QRESYNC (which brings CONDSTORE along) or CONDSTORE; what the server says it enabled."""
    wanted = next((name for name in ("QRESYNC", "CONDSTORE") if name in capabilities), None)
    if wanted is None or "ENABLE" not in capabilities:
        return frozenset()
    try:
        enabled = {_text(name).upper() for name in client.enable(wanted)}
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:  # a server may list it and still refuse: read that mailbox the plain way
        logger.info("IMAP ENABLE %s refused (%s); reading without mod-sequences", wanted, _short(exc))
        return frozenset()
    return frozenset(enabled | ({"CONDSTORE"} if "QRESYNC" in enabled else set()))


def _no_delay(client: Any) -> None:
    """Turn Nagle's algorithm off: imapclient writes most commands as their line, then the CRLF on its own, and with
    Nagle the CRLF waited for the server's ACK of the line (a round trip, or a delayed ACK of up to 40 ms) before the
    server could even read the command. Each command is a write and then a wait for the answer: nothing to batch."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket: nothing to turn off
        client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _close_quietly(client: Any) -> None:
    try:
        client.shutdown()
    except (*_DROPPED, IMAPClientError, AttributeError):
        pass


def _text(value: object) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


def _short(exc: BaseException) -> str:
    text = _text(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
