"""The daemon's durable memory: one row per mailbox message, so processing is idempotent and restartable.

One code path on SQLAlchemy Core 2 serves both backends: a SQLite file (the embedded default, stdlib sqlite3) and
PostgreSQL (psycopg 3). Each statement is written once and compiled per dialect (`ON CONFLICT DO NOTHING`,
`RETURNING`, window functions); `with_for_update(skip_locked=True)` becomes `FOR UPDATE SKIP LOCKED` on
PostgreSQL and nothing on SQLite, where `BEGIN IMMEDIATE` already serialises writers. The engine pools
connections (pre-ping and a connect timeout on PostgreSQL, a busy timeout on SQLite, a statement timeout).

Why a sync engine in anyio worker threads rather than asyncpg/aiosqlite: every transaction is short (a few rows,
no waiting on the network in between), so a thread per call costs little; the async drivers would add greenlet
to run the same SQLAlchemy code, and aiosqlite is itself a thread per connection. Threads keep one code path.
"""

# State machine. `claim` takes a message; every other write needs that live claim.
#
#   new ──claim──> claimed ──record_draft──> drafted ──finish──> done
#                  claimed ──finish──> ignored | alerted     (drafted ──finish──> ignored | alerted also allowed)
#   claimed ──fail──> failed ──backoff over, claim──> claimed             (no draft yet: processed again)
#   drafted ──fail──> drafted ──backoff over, claim──> drafted            (the draft exists: the claim says
#                                                                          so with its draft_id; only finish it)
#   claimed | drafted ──fail with attempts >= max_attempts──> needs_human
#   claimed | drafted with an expired lease (a crashed worker) ──claim──> taken over (logged)
#
# `record_draft` is written before labels and mark-read, and `claim` hands a message with a draft out only to be
# finished, so a crash after it never drafts again. Tasks and processes may share one ledger: a claim is one
# transaction (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE; SQLite: BEGIN IMMEDIATE), and every
# write first checks, in its own transaction, that the worker still holds the claim (PostgreSQL: the row locked
# FOR UPDATE), so a message is never handed to two live workers. Each row carries its mailbox.

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio.to_thread
import sqlalchemy.exc
from sqlalchemy import Connection, RowMapping, func, select

from orchestrator.errors import LedgerError, LostClaimError
from orchestrator.ledger_engine import create, explain, parse_location
from orchestrator.ledger_schema import cursors, messages, migrate
from orchestrator.ledger_sql import (
    advance_cursor,
    claim_rows,
    cursor_number,
    insert_seen,
    live_row,
    read_entries,
    write_record,
)
from orchestrator.ledger_stats import period, query_stats
from orchestrator.ledger_types import STATES, Claim, Engine, FinalState, LedgerEntry, Record, State, clean
from orchestrator.stats import Stats

__all__ = ["Claim", "Engine", "FinalState", "Ledger", "LedgerEntry", "LedgerError", "LostClaimError", "Record", "State"]

logger = logging.getLogger(__name__)

_M = messages.c
_Change = Callable[[RowMapping, float], dict[str, Any]]


def _check_mailbox(mailbox: str) -> None:
    if not mailbox:
        raise ValueError("a mailbox needs a name (e.g. 'default')")


def _roll_back(conn: Connection) -> None:
    """Roll back, also after a failed COMMIT: never keep a write lock that other processes wait on."""
    with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError, sqlite3.Error):
        conn.rollback()
    with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError, sqlite3.Error):
        driver = conn.connection.driver_connection
        if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
            driver.execute("ROLLBACK")


class Ledger:
    """Every message's state, decisions, tools, timings, tokens and draft, per mailbox, in SQLite or PostgreSQL."""

    backend: Literal["sqlite", "postgresql"]
    path: Path | None
    """The SQLite file; None for PostgreSQL."""
    description: str
    """The path, or the URL with any password replaced by ***: for messages."""
    commits: int
    """Write transactions that changed the ledger, committed by this object (migrations at open not counted)."""

    def __init__(
        self,
        location: str | Path,
        *,
        lease_seconds: float = 300,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 30.0,
    ) -> None:
        self._location = parse_location(location)
        self.backend = self._location.backend
        self.path = self._location.path
        self.description = self._location.description
        self.lease_seconds = lease_seconds
        self.busy_timeout = busy_timeout
        self.commits = 0
        self._clock = clock
        self._engine: sqlalchemy.Engine | None = None
        self._lock = threading.Lock()

    async def __aenter__(self) -> Ledger:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect (a SQLite file is made: folders, mode 0600), check, and bring the schema up to date."""
        await anyio.to_thread.run_sync(self._open)

    async def aclose(self) -> None:
        """Close every pooled connection; a later `open()` reopens."""
        await anyio.to_thread.run_sync(self._close)

    # --- the mailbox side ---------------------------------------------------------------------------------

    async def record_seen(
        self, mailbox: str, message_ids: Sequence[str], thread_ids: Sequence[str | None], *, cursor: str | None = None
    ) -> list[str]:
        """Add unknown messages as `new` (known ones untouched), and the poll's `cursor` in the same transaction."""
        _check_mailbox(mailbox)
        if len(message_ids) != len(thread_ids):
            raise ValueError(f"{len(message_ids)} message ids but {len(thread_ids)} thread ids")
        if any(not message_id for message_id in message_ids):
            raise ValueError("a message id is empty")
        if cursor is not None:
            cursor_number(cursor)
        pairs: dict[str, str | None] = {}
        for message_id, thread_id in zip(message_ids, thread_ids, strict=True):
            pairs.setdefault(message_id, thread_id)
        added = await anyio.to_thread.run_sync(self._record_seen, mailbox, pairs, cursor)
        logger.debug("Ledger: %d of %d listed messages are new", len(added), len(message_ids))
        return added

    async def get_cursor(self, mailbox: str) -> str | None:
        """The mailbox's cursor stored last, or None before its first poll."""
        query = select(cursors.c.cursor).where(cursors.c.mailbox == mailbox)
        return await anyio.to_thread.run_sync(self._read, lambda conn: conn.execute(query).scalar())

    async def set_cursor(self, mailbox: str, cursor: str) -> bool:
        """Store the cursor if it is ahead of the stored one; False (and nothing stored) if it would go back."""
        _check_mailbox(mailbox)
        cursor_number(cursor)
        return await anyio.to_thread.run_sync(self._write_cursor, mailbox, cursor)

    # --- claims -------------------------------------------------------------------------------------------

    async def claim(self, mailbox: str, worker: str, *, limit: int) -> list[Claim]:
        """Take up to `limit` of the mailbox's messages in one transaction, oldest first: unheld `drafted` ones
        (their draft_id set: finish only), then new, failed past their backoff, or with an expired lease."""
        _check_mailbox(mailbox)
        if not worker:
            raise ValueError("a worker needs a name")
        return await anyio.to_thread.run_sync(self._claim, mailbox, worker, max(0, limit))

    async def renew(self, claim: Claim) -> Claim:
        """Extend the lease by `lease_seconds` from now: the claim with its new end; LostClaimError if not held."""
        changes = await self._change(claim, lambda row, now: {"lease_until": now + self.lease_seconds}, None)
        return replace(claim, lease_until=float(changes["lease_until"]))

    # --- what happened to the message ---------------------------------------------------------------------

    async def record_draft(self, claim: Claim, *, draft_id: str, draft_message_id: str, record: Record) -> None:
        """The draft now exists (state `drafted`): write this before labelling and marking read."""

        def change(row: RowMapping, now: float) -> dict[str, Any]:
            if row["draft_id"] not in (None, draft_id):
                raise ValueError(
                    f"message {claim.message_id} already has draft {row['draft_id']}: it must not get another"
                )
            return {"state": "drafted", "draft_id": draft_id, "draft_message_id": draft_message_id}

        await self._change(claim, change, record)

    async def finish(self, claim: Claim, *, state: FinalState, record: Record | None = None) -> None:
        """Close the message after its labels and mark-read: `done` (drafted), `ignored` or `alerted`."""
        if state not in ("done", "ignored", "alerted"):
            raise ValueError(f"finish() takes done, ignored or alerted, not {state!r}")

        def change(row: RowMapping, now: float) -> dict[str, Any]:
            if state == "done" and row["state"] != "drafted":
                raise ValueError(f"message {claim.message_id} has no recorded draft: it cannot be done")
            return {"state": state, "claimed_by": None, "lease_until": None, "finished_at": now}

        await self._change(claim, change, record)

    async def fail(
        self,
        claim: Claim,
        *,
        error: str,
        max_attempts: int,
        backoff: Callable[[int], float],
        record: Record | None = None,
    ) -> State:
        """Release the message after a failed attempt; returns failed/drafted (retry after backoff) or needs_human."""

        def change(row: RowMapping, now: float) -> dict[str, Any]:
            values: dict[str, Any] = {"error": clean(error), "claimed_by": None, "lease_until": None}
            if row["attempts"] >= max_attempts:
                return values | {"state": "needs_human", "next_attempt_at": None, "finished_at": now}
            retry_at = now + max(0.0, backoff(row["attempts"]))
            return values | {"state": "drafted" if row["state"] == "drafted" else "failed", "next_attempt_at": retry_at}

        state: State = (await self._change(claim, change, record))["state"]
        logger.info("Ledger: an attempt failed; message now %s", state)
        return state

    # --- reading ------------------------------------------------------------------------------------------

    async def get(self, mailbox: str, message_id: str) -> LedgerEntry | None:
        """The message's row, or None if the ledger has never seen it in that mailbox."""
        found = await self._entries([_M.mailbox == mailbox, _M.message_id == message_id])
        return found[0] if found else None

    async def counts_by_state(self, mailbox: str | None = None) -> dict[State, int]:
        """How many messages (of `mailbox`, or all) are in each state (every state listed, zeros included)."""
        query = select(_M.state, func.count()).where(*period(None, mailbox)).group_by(_M.state)
        rows = await anyio.to_thread.run_sync(self._read, lambda conn: conn.execute(query).all())
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    async def entries(self, since: datetime | None = None, *, mailbox: str | None = None) -> list[LedgerEntry]:
        """Every message (of `mailbox`, or all), oldest first; with `since` (timezone-aware), only those updated
        at or after it."""
        if since is not None and since.tzinfo is None:
            raise ValueError("entries(since=...) needs a timezone-aware datetime, e.g. datetime.now(UTC)")
        return await self._entries(period(since, mailbox))

    async def mailboxes(self) -> list[str]:
        """Every mailbox with a message or a cursor in the ledger, sorted."""
        query = select(_M.mailbox).union(select(cursors.c.mailbox))
        names = await anyio.to_thread.run_sync(self._read, lambda conn: list(conn.execute(query).scalars()))
        return sorted(names)

    async def stats(self, since: datetime | None = None, *, mailbox: str | None = None) -> Stats:
        """The numbers of `support-agent stats` for messages updated since `since` (None: all time) of `mailbox`
        (None: every mailbox), computed in SQL."""
        if since is not None and since.tzinfo is None:
            raise ValueError("stats(since=...) needs a timezone-aware datetime, e.g. datetime.now(UTC)")
        return await anyio.to_thread.run_sync(self._read, lambda conn: query_stats(conn, since, mailbox))

    # --- in worker threads --------------------------------------------------------------------------------

    def _open(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            with explain(self._location, self.busy_timeout):
                engine = create(self._location, self.busy_timeout)
            self._engine = engine
        try:
            with self._transaction(write=True) as conn:
                if self.backend == "sqlite":
                    problems = [row for row in conn.exec_driver_sql("PRAGMA quick_check").scalars() if row != "ok"]
                    if problems:
                        raise sqlite3.DatabaseError("; ".join(problems[:3]))
                migrate(conn, self.description)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One short transaction on a pooled connection (SQLite writes: BEGIN IMMEDIATE); rolled back on any error."""
        engine = self._engine
        if engine is None:
            raise LedgerError(f"The ledger {self.description} is not open: call `await ledger.open()` first")
        with explain(self._location, self.busy_timeout), engine.connect() as conn:
            if write:
                conn.execution_options(ledger_write=True)
            elif self.backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot for several queries
            conn.begin()
            try:
                yield conn
                conn.commit()
            except BaseException:
                _roll_back(conn)
                raise

    def _committed(self) -> None:
        with self._lock:
            self.commits += 1

    def _read(self, query: Callable[[Connection], Any]) -> Any:
        with self._transaction(write=False) as conn:
            return query(conn)

    async def _entries(self, where: list[Any]) -> list[LedgerEntry]:
        result: list[LedgerEntry] = await anyio.to_thread.run_sync(self._read, lambda conn: read_entries(conn, where))
        return result

    def _record_seen(self, mailbox: str, pairs: dict[str, str | None], cursor: str | None) -> list[str]:
        with self._transaction(write=True) as conn:
            added = insert_seen(conn, mailbox, pairs, self._clock())
            moved = cursor is not None and advance_cursor(conn, mailbox, cursor)
        if added or moved:
            self._committed()
        return [message_id for message_id in pairs if message_id in added]

    def _write_cursor(self, mailbox: str, cursor: str) -> bool:
        with self._transaction(write=True) as conn:
            moved = advance_cursor(conn, mailbox, cursor)
        if moved:
            self._committed()
        return moved

    def _claim(self, mailbox: str, worker: str, limit: int) -> list[Claim]:
        with self._transaction(write=True) as conn:
            now = self._clock()
            claims, taken_over = claim_rows(conn, mailbox, worker, limit, now, now + self.lease_seconds)
        if claims:
            self._committed()
        if taken_over:
            logger.warning("Ledger: %d messages taken over from workers whose lease had expired", taken_over)
        return claims

    async def _change(self, claim: Claim, change: _Change, record: Record | None) -> dict[str, Any]:
        if record is not None:
            record.check()
        changes: dict[str, Any] = await anyio.to_thread.run_sync(self._apply, claim, change, record)
        if record is not None:
            record.written()  # committed: the next write adds only what is new
        return changes

    def _apply(self, claim: Claim, change: _Change, record: Record | None) -> dict[str, Any]:
        """Check that the claim is still live (the row locked), then write `change(row, now)` and the record."""
        with self._transaction(write=True) as conn:
            now = self._clock()
            row = live_row(conn, claim, now, self.description)
            changes = change(row, now)
            write_record(conn, row, record, changes, now)
        self._committed()
        return changes
