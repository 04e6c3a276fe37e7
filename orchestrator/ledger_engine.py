"""Where the ledger lives: a SQLite file or a PostgreSQL URL, the engine for it, and its errors as one-line advice."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy.exc
import tenacity
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from orchestrator.errors import ConfigError, LedgerError

__all__ = ["Backend", "Location", "connect_timeout", "create", "explain", "is_url", "parse_location"]

Backend = Literal["sqlite", "postgresql"]
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
connect_timeout = 10
"""Seconds to wait for a PostgreSQL server to answer a new connection."""


@dataclass(frozen=True)
class Location:
    """A parsed ledger location: `path` for SQLite, `url` for PostgreSQL; `description` never holds a password."""

    backend: Backend
    path: Path | None
    url: URL | None
    description: str


def is_url(location: str | Path) -> bool:
    """Whether `location` is a URL (scheme://...) rather than a file path."""
    return isinstance(location, str) and re.match(r"^[A-Za-z][\w+.-]*://", location) is not None


def parse_location(location: str | Path) -> Location:
    """A path -> SQLite; postgresql://, postgres:// or postgresql+psycopg:// -> PostgreSQL (needs psycopg)."""
    if not is_url(location):
        path = Path(location).expanduser()  # "~/..." as written in a .env file
        return Location("sqlite", path, None, str(path))
    try:
        url = make_url(str(location))
    except sqlalchemy.exc.ArgumentError:
        raise ConfigError(
            "The ledger URL cannot be parsed: write it as postgresql://user:password@host:5432/db"
        ) from None
    if url.drivername not in _SCHEMES:
        raise ConfigError(
            f"The ledger URL scheme {url.drivername!r} is not supported: give a file path (SQLite) "
            "or a postgresql://user:password@host:5432/database URL"
        )
    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError("A PostgreSQL ledger needs the psycopg driver: pip install 'shopify-support-agent[postgres]'")
    url = url.set(drivername="postgresql+psycopg")
    return Location("postgresql", None, url, url.render_as_string(hide_password=True))


def create(location: Location, busy_timeout: float) -> Engine:
    """The engine (connection pool) for `location`; for SQLite the file is made first (folders too, mode 0600)."""
    if location.url is not None:
        return create_engine(
            location.url,
            pool_size=5,
            max_overflow=15,
            pool_timeout=busy_timeout,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": connect_timeout,
                "options": f"-c statement_timeout={int(busy_timeout * 1000)}",
                "application_name": "support-agent ledger",
            },
        )
    assert location.path is not None
    path = location.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise LedgerError(
            f"Cannot create the ledger {path} ({exc.strerror or exc}): make it and its folder writable by this user, "
            "or give the daemon a ledger path it can write"
        ) from None
    engine = create_engine(
        URL.create("sqlite", database=str(path)),  # not a string: a path may hold ? or %
        pool_size=5,
        max_overflow=35,
        pool_timeout=busy_timeout,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def prepare(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's `begin` below says BEGIN, not the driver
        mode = _wal(dbapi_connection, busy_timeout)
        if str(mode).lower() != "wal":
            raise LedgerError(
                f"The ledger {path} cannot use write-ahead logging (journal mode {mode!r}): put it on a local "
                "filesystem (not a network share) where SQLite's WAL mode works"
            )
        dbapi_connection.execute("PRAGMA synchronous=FULL")

    @event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ledger_write") else "BEGIN")

    return engine


def _wal(connection: sqlite3.Connection, busy_timeout: float) -> str:
    """Switch to write-ahead logging; the journal mode it got. While another connection is switching a new file
    over, SQLite answers "database is locked" at once, without waiting (its busy handler is not used for this),
    so several workers started together on a new ledger failed now and then (1 start in 20 of 6 at once, measured):
    that answer is retried for up to `busy_timeout` seconds, with short growing pauses (tenacity)."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_locked),
        stop=tenacity.stop_after_delay(busy_timeout),
        wait=tenacity.wait_random_exponential(multiplier=0.01, max=0.5),
        reraise=True,
    )
    return str(retrying(lambda: connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]))


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@contextlib.contextmanager
def explain(location: Location, busy_timeout: float) -> Iterator[None]:
    """Turn database errors into a one-line `LedgerError` that names the file or server and the fix."""
    try:
        yield
    except sqlalchemy.exc.TimeoutError:
        raise LedgerError(
            f"The ledger {location.description} had no free connection for {busy_timeout:g} s: fewer concurrent "
            "workers, or look for stuck ones"
        ) from None
    except (sqlalchemy.exc.DBAPIError, sqlite3.Error) as exc:
        original = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
        text = " ".join(str(original).split())
        if location.url is not None:
            raise LedgerError(_postgres_advice(location.url, text, busy_timeout)) from None
        raise LedgerError(_sqlite_advice(location.description, text, busy_timeout)) from None


def _sqlite_advice(path: str, text: str, busy_timeout: float) -> str:
    if "locked" in text or "busy" in text:
        advice = f"another process held it for over {busy_timeout:g} s; try again, and look for a stuck one"
    elif re.search("readonly|unable to open|disk I/O|permission|disk is full", text):
        advice = "make the file, its -wal and -shm files and its folder writable by this user (and free space)"
    else:
        name = Path(path).name
        advice = (
            f"it is damaged or not a ledger; move it aside (with {name}-wal and -shm beside it) and a new "
            "one is made on the next start, which picks up the mailbox's unread mail again"
        )
    return f"The ledger {path} cannot be used ({text}): {advice}"


def _postgres_advice(url: URL, text: str, busy_timeout: float) -> str:
    if url.password:
        text = text.replace(str(url.password), "***")
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    where = f"{server}/{url.database or ''}"
    if re.search(r"password authentication failed|no password supplied|authentication failed|role .* does not", text):
        return (
            f"PostgreSQL at {where} refused the login of user {url.username!r} ({text}): fix the user and password "
            "in the ledger URL, or grant that user access (pg_hba.conf)"
        )
    if re.search(r"database .* does not exist", text):
        return (
            f"The ledger database {url.database!r} does not exist on PostgreSQL at {server}: create it "
            f"(createdb {url.database}) or fix the database name in the ledger URL"
        )
    if re.search(r"connection refused|timeout expired|could not translate|no route|network is unreachable|"
                 r"could not connect|connection failed|server closed the connection", text, re.IGNORECASE):  # fmt: skip
        return (
            f"Cannot reach PostgreSQL at {where} ({text}): start the server, or fix the host and port in the ledger "
            f"URL (waited {connect_timeout} s)"
        )
    if "statement timeout" in text or "lock timeout" in text:
        return (
            f"The ledger database {where} took over {busy_timeout:g} s for one statement ({text}): another "
            "session holds its rows; look for a stuck one"
        )
    return f"The ledger database {where} cannot be used ({text}): check the server's log and the ledger URL"
