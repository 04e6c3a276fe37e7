"""Escalation tickets: the `TicketSink` interface, the `ListableTicketSink` one (stores that can list what they
hold), and the local sink (a SQLite file, listable).

Customer addresses are in `support_core`'s normal form (`TicketRequest` normalises them; the local sink's email
filter uses the same form). The webhook and Zendesk sinks, and `build_ticket_sink`, are in `ticket_sinks`; the
PostgreSQL store the local sink becomes when SHOPIFY_TICKET_DB is a `postgresql://` URL is in `ticket_store_pg`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from shopify_mcp.errors import InvalidInputError, TicketSinkError
from shopify_mcp.inputs import normalise_customer_email
from support_core.categories import TICKET_CATEGORIES, TicketCategory
from support_core.store import (
    Priority,
    SinkName,
    Ticket,
    TicketList,
    TicketRequest,
    TicketStatus,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ListableTicketSink",
    "LocalTicketSink",
    "Priority",
    "Ticket",
    "TicketCategory",
    "TicketList",
    "TicketRequest",
    "TicketSink",
    "TicketStatus",
    "make_ticket",
    "new_ticket_id",
]

SCHEMA_VERSION = 2
"""1: the first table. 2: `category` is one of `TICKET_CATEGORIES`; older free-text categories become `Other`
(the old text is kept at the start of the summary, `[damaged] ...`)."""


def new_ticket_id() -> str:
    """A random ticket id for remote sinks: `T-` plus 12 hex digits."""
    return f"T-{uuid.uuid4().hex[:12]}"


def make_ticket(request: TicketRequest, *, ticket_id: str, sink: SinkName, **extra: Any) -> Ticket:
    """The ticket `request` becomes, with its id, sink and creation time (now unless `extra` says otherwise)."""
    fields = {**request.model_dump(), "id": ticket_id, "sink": sink, "created_at": datetime.now(UTC), **extra}
    return Ticket.model_validate(fields)


class TicketSink(ABC):
    """Where escalation tickets go. `create` stores or delivers one ticket, or raises `TicketSinkError`."""

    @abstractmethod
    async def create(self, request: TicketRequest) -> Ticket:
        """Store or deliver the ticket and return it with its id."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most sinks hold nothing of their own
        """Release what the sink holds. The shared `httpx.AsyncClient` belongs to the caller and stays open."""


class ListableTicketSink(TicketSink):
    """A sink that keeps its tickets and can list them (`list_tickets`): the local SQLite file or PostgreSQL.

    Both number tickets `T-000042` in creation order, keep customer addresses in `support_core`'s normal form, and
    store every `create` as a new ticket (no deduplication: escalating twice makes two tickets)."""

    location: str
    """Where the tickets are, for messages: a file path, or `PostgreSQL host:port/database` (never a password)."""

    async def list(self, status: str | None = None, limit: int = 50, email: str | None = None) -> TicketList:
        """Tickets newest first, optionally only one status ('open'/'closed') or one customer's email (compared in
        `support_core`'s normal form, as stored; a malformed one is an `InvalidInputError`)."""
        if status not in (None, "open", "closed"):
            raise InvalidInputError(f"Unknown ticket status {status!r}: use 'open', 'closed' or nothing for all")
        limit = max(1, min(500, limit))
        email = normalise_customer_email(email) if email and email.strip() else None
        return await self._page(status, limit, email)

    @abstractmethod
    async def _page(self, status: str | None, limit: int, email: str | None) -> TicketList:
        """Up to `limit` tickets, newest first, with the number matching; arguments already checked."""


# --- Local SQLite -----------------------------------------------------------------------------------------

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tickets (seq INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, status TEXT "
    "NOT NULL, category TEXT NOT NULL, customer_email TEXT NOT NULL, customer_name TEXT, summary TEXT NOT NULL, "
    "priority TEXT NOT NULL, order_number TEXT, source TEXT)",
    "CREATE INDEX IF NOT EXISTS tickets_by_email ON tickets (customer_email, seq)",
)
_TO_VERSION_2 = (
    "UPDATE tickets SET summary = substr('[' || category || '] ' || summary, 1, 4000), category = 'Other' "
    f"WHERE category NOT IN ({', '.join('?' * len(TICKET_CATEGORIES))})"
)
_COLUMNS = ("created_at", "status", *TicketRequest.model_fields)


class LocalTicketSink(ListableTicketSink):
    """Tickets in a SQLite file (WAL mode); one short connection per call in a worker thread, so concurrent tasks
    and other processes can share the file (a writer waits up to `busy_timeout` seconds for another's lock)."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.busy_timeout = busy_timeout
        self._ready = False
        self._init_lock = threading.Lock()

    async def create(self, request: TicketRequest) -> Ticket:
        ticket = await anyio.to_thread.run_sync(self._insert, request)
        logger.info("Ticket %s (%s) created in the local sink", ticket.id, ticket.category)
        return ticket

    async def _page(self, status: str | None, limit: int, email: str | None) -> TicketList:
        return await anyio.to_thread.run_sync(self._select, status, limit, email)

    def _insert(self, request: TicketRequest) -> Ticket:
        self._prepare()
        created_at = datetime.now(UTC)
        values = {**request.model_dump(), "created_at": created_at.isoformat(), "status": "open"}
        sql = f"INSERT INTO tickets ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        with self._connection() as conn:
            seq = conn.execute(sql, [values[column] for column in _COLUMNS]).lastrowid
        return make_ticket(request, ticket_id=f"T-{seq:06d}", sink="local", created_at=created_at)

    def _select(self, status: str | None, limit: int, email: str | None) -> TicketList:
        self._prepare()
        filters = {"status": status, "customer_email": email}
        where = " AND ".join(f"{column} = ?" for column, value in filters.items() if value) or "1"
        args = [value for value in filters.values() if value]
        columns = f"printf('T-%06d', seq) AS id, {', '.join(_COLUMNS)}"
        with self._connection() as conn:
            conn.execute("BEGIN")  # one snapshot for the count and the page
            total = conn.execute(f"SELECT COUNT(*) FROM tickets WHERE {where}", args).fetchone()[0]
            query = f"SELECT {columns} FROM tickets WHERE {where} ORDER BY seq DESC LIMIT ?"
            rows = conn.execute(query, [*args, limit]).fetchall()
            conn.execute("COMMIT")
        return TicketList(tickets=[Ticket.model_validate({**dict(row), "sink": "local"}) for row in rows], total=total)

    def _prepare(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            except OSError as exc:
                raise TicketSinkError(
                    f"Cannot create the ticket database {self.path} ({exc.strerror or exc}): make its folder "
                    "writable by this user, or point SHOPIFY_TICKET_DB at a writable path"
                ) from None
            with self._connection() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise TicketSinkError(
                        f"The ticket database {self.path} was written by a newer support-agent (schema {version}): "
                        "upgrade this one, or point SHOPIFY_TICKET_DB at another file"
                    )
                if version < SCHEMA_VERSION:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(_TO_VERSION_2, TICKET_CATEGORIES)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            self._ready = True

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            yield conn
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        finally:
            if conn is not None:
                conn.close()  # an open transaction is rolled back

    def _explain(self, exc: sqlite3.Error) -> TicketSinkError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            advice = f"another process held it for over {self.busy_timeout:g} s; try again, and look for a stuck one"
        elif re.search("readonly|unable to open|disk I/O|permission", text):
            advice = "make the file and its folder writable by this user, or point SHOPIFY_TICKET_DB elsewhere"
        else:
            advice = "it is not a usable SQLite file; move it aside (a new one is made on the next ticket)"
        return TicketSinkError(f"The ticket database {self.path} cannot be used ({text}): {advice}")
