"""The daemon's durable memory: one SQLite row per mailbox message, so processing is idempotent and restartable."""

# State machine. `claim` / `claim_drafted` take a message; every other write needs that live claim.
#
#   new ──claim──> claimed ──record_draft──> drafted ──finish──> done
#                  claimed ──finish──> ignored | alerted     (drafted ──finish──> ignored | alerted also allowed)
#   claimed ──fail──> failed ──backoff over, claim──> claimed             (no draft yet: processed again)
#   drafted ──fail──> drafted ──backoff over, claim_drafted──> drafted    (the draft exists: only finish it)
#   claimed | drafted ──fail with attempts >= max_attempts──> needs_human
#   claimed | drafted with an expired lease (a crashed worker) ──claim | claim_drafted──> taken over
#
# `record_draft` is written before labels and mark-read, and `claim` never returns a message with a draft, so a
# crash after it never drafts again. Tasks and processes may share one file: every write is one short
# `BEGIN IMMEDIATE` transaction, so a message is never handed to two live workers.

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio.to_thread

from orchestrator.errors import LedgerError, LostClaimError
from orchestrator.ledger_schema import (
    STATES,
    Claim,
    Engine,
    FinalState,
    LedgerEntry,
    State,
    connect,
    entry_from_row,
    explain,
)
from orchestrator.models import CATEGORIES, Category, Verdict

__all__ = ["Claim", "Ledger", "LedgerEntry", "LedgerError", "LostClaimError", "State"]

logger = logging.getLogger(__name__)

_Change = Callable[[sqlite3.Row], dict[str, Any]]
_SECRET = re.compile(r"\b(?:shp(?:at|ca|ss|pa)_|sk-)[\w-]+|\b(?:Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_INSERT = "INSERT OR IGNORE INTO messages (message_id, thread_id, first_seen_at, updated_at) VALUES (?, ?, ?, ?)"


def _clean(text: str, limit: int = 1000) -> str:
    """One line of error text without tokens or email addresses, at most `limit` characters."""
    text = " ".join(_ADDRESS.sub("<address>", _SECRET.sub("<secret>", text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cursor_number(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValueError(f"A mailbox cursor is a decimal number (Gmail history id, Maildir sequence), not {cursor!r}")
    return int(cursor)


class Ledger:
    """Every message's state, decisions, tools, timings, tokens and draft, in a SQLite file (WAL, fsync on commit)."""

    def __init__(
        self,
        path: Path,
        *,
        lease_seconds: float = 300,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.lease_seconds = lease_seconds
        self.busy_timeout = busy_timeout
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def __aenter__(self) -> Ledger:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Create or open the file (folders made, mode 0600), check it, and bring its schema up to date."""
        await anyio.to_thread.run_sync(self._open)

    async def aclose(self) -> None:
        """Close the file; a later `open()` reopens it."""
        await anyio.to_thread.run_sync(self._close)

    # --- the mailbox side ---------------------------------------------------------------------------------

    async def record_seen(
        self, message_ids: Sequence[str], thread_ids: Sequence[str | None], *, cursor: str | None = None
    ) -> list[str]:
        """Add unknown messages as `new` (known ones untouched), and the poll's `cursor` in the same transaction."""
        if len(message_ids) != len(thread_ids):
            raise ValueError(f"{len(message_ids)} message ids but {len(thread_ids)} thread ids")
        if any(not message_id for message_id in message_ids):
            raise ValueError("a message id is empty")
        added = await anyio.to_thread.run_sync(
            self._record_seen, list(zip(message_ids, thread_ids, strict=True)), cursor
        )
        logger.debug("Ledger: %d of %d listed messages are new", len(added), len(message_ids))
        return added

    async def get_cursor(self) -> str | None:
        """The mailbox cursor stored last, or None before the first poll."""
        row = await anyio.to_thread.run_sync(self._read_one, "SELECT value FROM meta WHERE key = 'cursor'", ())
        return None if row is None else str(row[0])

    async def set_cursor(self, cursor: str) -> bool:
        """Store the cursor if it is ahead of the stored one; False (and nothing stored) if it would go back."""
        return await anyio.to_thread.run_sync(self._write_cursor, cursor)

    # --- claims -------------------------------------------------------------------------------------------

    async def claim(self, worker: str, *, limit: int) -> list[Claim]:
        """Take up to `limit` messages, oldest first: new, failed past their backoff, or with an expired lease."""
        return await anyio.to_thread.run_sync(self._claim, worker, limit, False)

    async def claim_drafted(self, worker: str, *, limit: int) -> list[Claim]:
        """Take up to `limit` unheld `drafted` messages (a crash or failure after the draft) to finish only."""
        return await anyio.to_thread.run_sync(self._claim, worker, limit, True)

    async def renew(self, message_id: str, worker: str) -> float:
        """Extend the caller's lease by `lease_seconds` from now and return its new end (clock seconds)."""
        changes = await self._change(message_id, worker, lambda row: {"lease_until": self._lease_end()})
        return float(changes["lease_until"])

    # --- what happened to the message ---------------------------------------------------------------------

    async def record_decision(self, message_id: str, worker: str, *, verdict: Verdict, reason: str) -> None:
        """The gatekeeper's verdict and the rule that decided it."""
        values = {"verdict": Verdict(verdict).value, "reason": _clean(reason, 300)}
        await self._change(message_id, worker, lambda row: values)

    async def record_route(
        self,
        message_id: str,
        worker: str,
        *,
        category: Category,
        language: str,
        confidence: float,
        engine: Engine,
    ) -> None:
        """The router's category, language and confidence, and the engine (`llm`/`offline`) that decided."""
        if category not in CATEGORIES or engine not in ("llm", "offline") or not 0.0 <= confidence <= 1.0:
            raise ValueError(f"invalid route: {category!r}, engine {engine!r}, confidence {confidence!r}")
        values = {"category": category, "language": language, "confidence": confidence, "engine": engine}
        await self._change(message_id, worker, lambda row: values)

    async def record_draft(
        self, message_id: str, worker: str, *, draft_id: str, draft_message_id: str, engine: Engine | None = None
    ) -> None:
        """The draft now exists (state `drafted`): write this before labelling and marking read."""

        def change(row: sqlite3.Row) -> dict[str, Any]:
            if row["draft_id"] not in (None, draft_id):
                raise ValueError(f"message {message_id} already has draft {row['draft_id']}: it must not get another")
            values = {"state": "drafted", "draft_id": draft_id, "draft_message_id": draft_message_id}
            return values | ({"engine": engine} if engine else {})

        await self._change(message_id, worker, change)

    async def finish(self, message_id: str, worker: str, *, state: FinalState) -> None:
        """Close the message after its labels and mark-read: `done` (drafted), `ignored` or `alerted`."""

        def change(row: sqlite3.Row) -> dict[str, Any]:
            if state not in ("done", "ignored", "alerted"):
                raise ValueError(f"finish() takes done, ignored or alerted, not {state!r}")
            if state == "done" and row["state"] != "drafted":
                raise ValueError(f"message {message_id} has no recorded draft: it cannot be done")
            return {"state": state, "claimed_by": None, "lease_until": None, "finished_at": self._clock()}

        await self._change(message_id, worker, change)

    async def fail(
        self, message_id: str, worker: str, *, error: str, max_attempts: int, backoff: Callable[[int], float]
    ) -> str:
        """Release the message after a failed attempt; returns failed/drafted (retry after backoff) or needs_human."""

        def change(row: sqlite3.Row) -> dict[str, Any]:
            values: dict[str, Any] = {"error": _clean(error), "claimed_by": None, "lease_until": None}
            if row["attempts"] >= max_attempts:
                return values | {"state": "needs_human", "next_attempt_at": None, "finished_at": self._clock()}
            retry_at = self._clock() + max(0.0, backoff(row["attempts"]))
            state = "drafted" if row["state"] == "drafted" else "failed"
            return values | {"state": state, "next_attempt_at": retry_at}

        state = str((await self._change(message_id, worker, change))["state"])
        logger.info("Ledger: an attempt failed; message now %s", state)
        return state

    async def add_tool_call(self, message_id: str, worker: str, tool: str, *, error: str | None = None) -> None:
        """Append a tool call (and its error text, if it failed) to the message's record."""

        def change(row: sqlite3.Row) -> dict[str, Any]:
            values = {"tools": json.dumps([*json.loads(row["tools"]), tool])}
            if error is None:
                return values
            errors = [*json.loads(row["tool_errors"]), {"tool": tool, "error": _clean(error, 500)}]
            return values | {"tool_errors": json.dumps(errors)}

        await self._change(message_id, worker, change)

    async def add_usage(self, message_id: str, worker: str, prompt: int, completion: int, *, calls: int = 1) -> None:
        """Add one LLM call's (or `calls` calls') token counts."""
        await self._change(
            message_id,
            worker,
            lambda row: {
                "tokens_prompt": row["tokens_prompt"] + prompt,
                "tokens_completion": row["tokens_completion"] + completion,
                "llm_calls": row["llm_calls"] + calls,
            },
        )

    async def add_timing(self, message_id: str, worker: str, stage: str, ms: float) -> None:
        """Add `ms` milliseconds to a stage (fetch, gatekeeper, router, agent, draft, label, …)."""

        def change(row: sqlite3.Row) -> dict[str, Any]:
            timings = json.loads(row["timings"])
            timings[stage] = round(timings.get(stage, 0.0) + ms, 3)
            return {"timings": json.dumps(timings)}

        await self._change(message_id, worker, change)

    # --- reading ------------------------------------------------------------------------------------------

    async def get(self, message_id: str) -> LedgerEntry | None:
        """The message's row, or None if the ledger has never seen it."""
        row = await anyio.to_thread.run_sync(
            self._read_one, "SELECT * FROM messages WHERE message_id = ?", (message_id,)
        )
        return None if row is None else entry_from_row(row)

    async def pending_drafts(self) -> list[LedgerEntry]:
        """Messages `drafted` but not finished: after a crash they are finished (`claim_drafted`), never redrafted."""
        return await self._entries("state = 'drafted'", ())

    async def counts_by_state(self) -> dict[State, int]:
        """How many messages are in each state (every state listed, zeros included)."""
        rows = await anyio.to_thread.run_sync(self._read_all, "SELECT state, COUNT(*) FROM messages GROUP BY state", ())
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        counts.update({row[0]: row[1] for row in rows})
        return counts

    async def entries(self, since: datetime | None = None) -> list[LedgerEntry]:
        """Every message, oldest first; with `since` (timezone-aware), only those updated at or after it."""
        if since is None:
            return await self._entries("1", ())
        if since.tzinfo is None:
            raise ValueError("entries(since=...) needs a timezone-aware datetime, e.g. datetime.now(UTC)")
        return await self._entries("updated_at >= ?", (since.timestamp(),))

    # --- in worker threads --------------------------------------------------------------------------------

    def _open(self) -> None:
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.path, self.busy_timeout)

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One short transaction on the shared connection; rolled back on any error."""
        with self._lock, explain(self.path, self.busy_timeout):
            if self._conn is None:
                raise LedgerError(f"The ledger {self.path} is not open: call `await ledger.open()` first")
            conn = self._conn
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read_one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._transaction("BEGIN") as conn:
            row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
            return row

    def _read_all(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._transaction("BEGIN") as conn:
            return conn.execute(sql, args).fetchall()

    async def _entries(self, where: str, args: tuple[Any, ...]) -> list[LedgerEntry]:
        sql = f"SELECT * FROM messages WHERE {where} ORDER BY first_seen_at, message_id"
        return [entry_from_row(row) for row in await anyio.to_thread.run_sync(self._read_all, sql, args)]

    def _record_seen(self, pairs: list[tuple[str, str | None]], cursor: str | None) -> list[str]:
        with self._transaction() as conn:
            now = self._clock()
            added = [mid for mid, tid in pairs if conn.execute(_INSERT, (mid, tid, now, now)).rowcount == 1]
            if cursor is not None:
                self._advance_cursor(conn, cursor)
            return added

    def _write_cursor(self, cursor: str) -> bool:
        with self._transaction() as conn:
            return self._advance_cursor(conn, cursor)

    @staticmethod
    def _advance_cursor(conn: sqlite3.Connection, cursor: str) -> bool:
        number = _cursor_number(cursor)
        row = conn.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
        if row is not None and _cursor_number(row[0]) >= number:
            return False
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('cursor', ?)", (str(number),))
        return True

    def _claim(self, worker: str, limit: int, drafted: bool) -> list[Claim]:
        if not worker:
            raise ValueError("a worker needs a name")
        if drafted:
            where = "state = 'drafted' AND COALESCE(lease_until, 0) <= :now AND COALESCE(next_attempt_at, 0) <= :now"
        else:
            where = (
                "draft_id IS NULL AND (state = 'new' OR (state = 'failed' AND next_attempt_at <= :now) "
                "OR (state = 'claimed' AND lease_until <= :now))"
            )
        with self._transaction() as conn:
            now = self._clock()
            select = f"SELECT message_id, claimed_by FROM messages WHERE {where} ORDER BY first_seen_at, message_id"
            rows = conn.execute(f"{select} LIMIT :limit", {"now": now, "limit": max(0, limit)}).fetchall()
            lease_until = self._lease_end()
            claims = []
            for row in rows:
                taken = conn.execute(
                    "UPDATE messages SET state = ?, claimed_by = ?, lease_until = ?, attempts = attempts + 1, "
                    "next_attempt_at = NULL, updated_at = ? WHERE message_id = ? "
                    "RETURNING message_id, thread_id, attempts, draft_id, draft_message_id",
                    ("drafted" if drafted else "claimed", worker, lease_until, now, row["message_id"]),
                ).fetchone()
                claims.append(Claim(worker=worker, lease_until=lease_until, **dict(taken)))
        taken_over = sum(1 for row in rows if row["claimed_by"] is not None)
        if taken_over:
            logger.warning("Ledger: %d messages taken over from workers whose lease had expired", taken_over)
        return claims

    def _lease_end(self) -> float:
        return self._clock() + self.lease_seconds

    async def _change(self, message_id: str, worker: str, change: _Change) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self._apply, message_id, worker, change)

    def _apply(self, message_id: str, worker: str, change: _Change) -> dict[str, Any]:
        """Check that `worker` still holds a live claim on the message, then write `change(row)`."""
        with self._transaction() as conn:
            now = self._clock()
            row = conn.execute("SELECT * FROM messages WHERE message_id = ?", (message_id,)).fetchone()
            if row is None:
                raise LostClaimError(f"Message {message_id} is not in the ledger {self.path}: claim it first")
            if (
                row["claimed_by"] != worker
                or row["state"] not in ("claimed", "drafted")
                or (row["lease_until"] or 0) <= now
            ):
                raise LostClaimError(
                    f"Worker {worker!r} no longer holds message {message_id} (state {row['state']}, held by "
                    f"{row['claimed_by']!r}): its lease expired or another worker took it; leave the message alone"
                )
            changes = change(row)
            values = changes | {"updated_at": now}
            assignments = ", ".join(f"{column} = :{column}" for column in values)
            conn.execute(f"UPDATE messages SET {assignments} WHERE message_id = :id", values | {"id": message_id})
            return changes
