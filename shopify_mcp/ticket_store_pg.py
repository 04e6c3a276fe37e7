"""The local ticket sink in PostgreSQL (SHOPIFY_TICKET_DB=postgresql://...): one table that every replica of the
server shares, with the same ticket ids, listing and rules as the SQLite file.

psycopg 3 is an optional dependency (`pip install 'shopify-support-agent[postgres]'`), imported only when a store is
made. Messages name the server as `host:port/database`, never the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import anyio

from shopify_mcp.errors import ConfigError, TicketSinkError
from shopify_mcp.tickets import ListableTicketSink, make_ticket
from support_core.store import Ticket, TicketList, TicketRequest

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

__all__ = ["INSTALL_HINT", "TABLE", "PostgresTicketStore", "describe_postgres_url", "import_psycopg"]

TABLE = "escalation_tickets"
INSTALL_HINT = "pip install 'shopify-support-agent[postgres]'"
_CREATE_LOCK = 0x5449434B455453  # "TICKETS": the advisory lock that serialises creating the table
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created_at "
    "TIMESTAMPTZ NOT NULL, status TEXT NOT NULL, category TEXT NOT NULL, customer_email TEXT NOT NULL, "
    "customer_name TEXT, summary TEXT NOT NULL, priority TEXT NOT NULL, order_number TEXT, source TEXT)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_by_email ON {TABLE} (customer_email, seq)",
)
_COLUMNS = ("created_at", "status", *TicketRequest.model_fields)


def describe_postgres_url(url: str) -> str:
    """`PostgreSQL host:port/database` for messages: no user, password or query string."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2] or "localhost (Unix socket)"
    if "," not in hosts and not hosts.endswith("]") and ":" not in hosts.rpartition("]")[2]:
        hosts += ":5432"
    database = unquote(parts.path.lstrip("/")) or "(the user's database)"
    return f"PostgreSQL {hosts}/{database}"


def import_psycopg() -> Any:
    """The `psycopg` module, or a one-line `ConfigError` saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            f"SHOPIFY_TICKET_DB is a PostgreSQL URL but psycopg is not installed: {INSTALL_HINT}"
        ) from None
    return psycopg


def _reason(exc: Exception) -> str:
    """psycopg's message on one line, without libpq's prefix and hints ('Is the server running...')."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0].strip()
    first = first.removeprefix("connection failed:").strip()
    return " ".join(first.split())[:300]


class PostgresTicketStore(ListableTicketSink):
    """Tickets in the PostgreSQL table `escalation_tickets`, created when missing (safe when replicas start at once).

    Ids are `T-` and the row's sequence number (`T-000042`), unique across every replica since the database hands
    them out. One short connection per call in a worker thread, like the SQLite sink: `connect_timeout` bounds
    reaching the server, `statement_timeout` each statement (a lock held elsewhere, an overloaded server)."""

    def __init__(self, url: str, *, connect_timeout: float = 10.0, statement_timeout: float = 10.0) -> None:
        self._psycopg = import_psycopg()
        self._url = url
        self.location = describe_postgres_url(url)
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._ready = False

    async def create(self, request: TicketRequest) -> Ticket:
        ticket = await anyio.to_thread.run_sync(self._insert, request)
        logger.info("Ticket %s (%s) created in PostgreSQL", ticket.id, ticket.category)
        return ticket

    async def _page(self, status: str | None, limit: int, email: str | None) -> TicketList:
        return await anyio.to_thread.run_sync(self._select, status, limit, email)

    async def probe(self) -> str:
        """What `diagnose` reports: the server's version and whether this user can create and read tickets. Writes
        nothing. Raises `TicketSinkError` (one line) when the database cannot be used."""
        return await anyio.to_thread.run_sync(self._probe)

    def _insert(self, request: TicketRequest) -> Ticket:
        self._prepare()
        created_at = datetime.now(UTC)
        values = {**request.model_dump(), "created_at": created_at, "status": "open"}
        sql = f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING seq"
        with self._connection() as conn, conn.transaction():
            row = conn.execute(sql, [values[column] for column in _COLUMNS]).fetchone()
        assert row is not None
        return make_ticket(request, ticket_id=f"T-{row[0]:06d}", sink="local", created_at=created_at)

    def _select(self, status: str | None, limit: int, email: str | None) -> TicketList:
        self._prepare()
        filters = {"status": status, "customer_email": email}
        conditions = [f"{column} = %s" for column, value in filters.items() if value]
        where = " AND ".join(conditions) or "TRUE"
        args: list[object] = [value for value in filters.values() if value]
        # One statement, so one snapshot: the count (a window over every match, taken before LIMIT) and the page.
        query = (
            f"SELECT seq, {', '.join(_COLUMNS)}, COUNT(*) OVER () AS total FROM {TABLE} WHERE {where} "
            "ORDER BY seq DESC LIMIT %s"
        )
        from psycopg.rows import dict_row

        with self._connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(query, [*args, limit]).fetchall()
        tickets = [
            Ticket.model_validate(
                {
                    **{column: row[column] for column in _COLUMNS},
                    "id": f"T-{row['seq']:06d}",
                    "created_at": row["created_at"].astimezone(UTC),
                    "sink": "local",
                }
            )
            for row in rows
        ]
        return TicketList(tickets=tickets, total=rows[0]["total"] if rows else 0)

    def _prepare(self) -> None:
        """Create the table and its index unless they exist. Replicas starting together queue on an advisory lock:
        concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on PostgreSQL's catalog."""
        if self._ready:
            return
        with self._connection() as conn:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE]).fetchone()
            if not (exists and exists[0]):
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", [_CREATE_LOCK])
                    for statement in _SCHEMA:
                        conn.execute(statement)
                logger.info("Created the ticket table %s in %s", TABLE, self.location)
        self._ready = True

    def _probe(self) -> str:
        with self._connection() as conn:
            version = conn.info.parameter_status("server_version") or "?"
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL, has_schema_privilege(current_schema(), 'CREATE'), current_user",
                [TABLE],
            ).fetchone()
            assert row is not None
            exists, may_create, user = row[0], row[1], row[2]
            if not exists:
                if not may_create:
                    raise TicketSinkError(
                        f"{self.location}: the table {TABLE} does not exist and user {user} may not create it "
                        "(PostgreSQL 15+ lets only the owner create in schema public): create it once as the "
                        f"owner, or GRANT CREATE ON SCHEMA public TO {user}"
                    )
                return f"{self.location} (server {version}; table {TABLE} will be created with the first ticket)"
            rights = conn.execute(
                "SELECT has_table_privilege(%s, 'INSERT'), has_table_privilege(%s, 'SELECT')", [TABLE, TABLE]
            ).fetchone()
            if not (rights and rights[0] and rights[1]):
                raise TicketSinkError(
                    f"{self.location}: user {user} may not insert into or read the table {TABLE}: "
                    f"GRANT INSERT, SELECT ON {TABLE} TO {user}"
                )
            count = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()
        total = count[0] if count else 0
        return f"{self.location} (server {version}; {total} ticket{'s' if total != 1 else ''} in {TABLE})"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(
                self._url,
                connect_timeout=max(2, math.ceil(self.connect_timeout)),  # libpq: whole seconds, at least 2
                application_name="shopify-mcp",
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise TicketSinkError(
                f"The ticket database {self.location} cannot be reached ({_reason(exc)}): check that PostgreSQL "
                "is running there and the host, port, database, user and password in SHOPIFY_TICKET_DB"
            ) from None
        try:
            with conn:
                milliseconds = str(max(1, round(self.statement_timeout * 1000)))
                conn.execute("SELECT set_config('statement_timeout', %s, false)", [milliseconds])
                yield conn
        except psycopg.Error as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> TicketSinkError:
        state = getattr(exc, "sqlstate", None) or ""
        if state == "42501":
            advice = "grant this user INSERT and SELECT on the table (and CREATE on the schema to create it)"
        elif state == "57014":
            advice = (
                f"a statement took over {self.statement_timeout:g} s; try again, and look for a lock held elsewhere"
            )
        elif state.startswith(("08", "57P")):
            advice = "the connection was lost; check that PostgreSQL is up and try again"
        else:
            advice = f"check the table {TABLE} and this user's rights on it"
        return TicketSinkError(f"The ticket database {self.location} failed ({_reason(exc)}): {advice}")
