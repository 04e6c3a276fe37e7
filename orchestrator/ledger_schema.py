"""The ledger's file: creating and checking it, its schema and migrations, its errors and the rows it hands out."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orchestrator.errors import LedgerError, LostClaimError
from orchestrator.models import Category, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "Claim",
    "Engine",
    "FinalState",
    "LedgerEntry",
    "LedgerError",
    "LostClaimError",
    "State",
    "connect",
    "entry_from_row",
    "explain",
]

State = Literal["new", "claimed", "drafted", "done", "ignored", "alerted", "failed", "needs_human"]
STATES: tuple[State, ...] = ("new", "claimed", "drafted", "done", "ignored", "alerted", "failed", "needs_human")
FinalState = Literal["done", "ignored", "alerted"]
Engine = Literal["llm", "offline"]

_STATE_LIST = ", ".join(f"'{state}'" for state in STATES)

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE messages (message_id TEXT PRIMARY KEY, thread_id TEXT, "
        f"state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ({_STATE_LIST})), "
        "attempts INTEGER NOT NULL DEFAULT 0, claimed_by TEXT, lease_until REAL, next_attempt_at REAL, "
        "verdict TEXT, reason TEXT, category TEXT, language TEXT, confidence REAL, engine TEXT, "
        "tools TEXT NOT NULL DEFAULT '[]', tool_errors TEXT NOT NULL DEFAULT '[]', timings TEXT NOT NULL DEFAULT '{}', "
        "tokens_prompt INTEGER NOT NULL DEFAULT 0, tokens_completion INTEGER NOT NULL DEFAULT 0, "
        "llm_calls INTEGER NOT NULL DEFAULT 0, error TEXT, draft_id TEXT, draft_message_id TEXT, "
        "first_seen_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL)",
        "CREATE INDEX messages_by_state ON messages (state, first_seen_at)",
        "CREATE INDEX messages_by_update ON messages (updated_at)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
}
"""Statements that take a ledger file from version N-1 to N: to change the schema, add version N+1 here."""
SCHEMA_VERSION = max(MIGRATIONS)
_TABLES = {"messages", "meta"}


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Create or open the ledger file (folders made, mode 0600, WAL, fsync on commit), check it and migrate it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise LedgerError(
            f"Cannot create the ledger {path} ({exc.strerror or exc}): make it and its folder writable by this user, "
            "or give the daemon a ledger path it can write"
        ) from None
    conn: sqlite3.Connection | None = None
    try:
        with explain(path, busy_timeout):
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall() if row[0] != "ok"]
            if problems:
                raise sqlite3.DatabaseError("; ".join(problems[:3]))
            conn.execute("BEGIN IMMEDIATE")
            _migrate(conn, path)
            conn.execute("COMMIT")
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


@contextlib.contextmanager
def explain(path: Path, busy_timeout: float) -> Iterator[None]:
    """Turn SQLite errors into a `LedgerError` that names the file and the fix."""
    try:
        yield
    except sqlite3.Error as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            advice = f"another process held it for over {busy_timeout:g} s; try again, and look for a stuck one"
        elif re.search("readonly|unable to open|disk I/O|permission|disk is full", text):
            advice = "make the file, its -wal and -shm files and its folder writable by this user (and free space)"
        else:
            advice = (
                f"it is damaged or not a ledger; move it aside (with {path.name}-wal and -shm beside it) and a new "
                "one is made on the next start, which picks up the mailbox's unread mail again"
            )
        raise LedgerError(f"The ledger {path} cannot be used ({text}): {advice}") from None


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file from its schema version (0: new) to `SCHEMA_VERSION`, inside the caller's transaction."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise LedgerError(
            f"The ledger {path} was written by a newer support-agent (schema {found}, this one knows "
            f"{SCHEMA_VERSION}): upgrade this one, or give it another ledger file"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables >= _TABLES:
        raise sqlite3.DatabaseError(f"tables {', '.join(sorted(_TABLES - tables))} are missing")


@dataclass(frozen=True)
class Claim:
    """A message a worker owns until `lease_until` (clock seconds); `renew` the lease for long work."""

    message_id: str
    thread_id: str | None
    worker: str
    attempts: int
    """Claims so far, this one included; above 1, look for an earlier attempt's draft marker before drafting."""
    lease_until: float
    draft_id: str | None = None
    """Set only by `claim_drafted`: the draft exists, only labels and mark-read remain."""
    draft_message_id: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One message's row: where it is in the state machine, what was decided, and what it cost."""

    message_id: str
    thread_id: str | None
    state: State
    attempts: int
    claimed_by: str | None
    lease_until: datetime | None
    next_attempt_at: datetime | None
    verdict: Verdict | None
    reason: str | None
    category: Category | None
    language: str | None
    confidence: float | None
    engine: Engine | None
    tools: tuple[str, ...]
    """Tool names in the order they were called (a name repeats when called again)."""
    tool_errors: tuple[tuple[str, str], ...]
    """(tool, error text) for each failed tool call, in order."""
    timings: dict[str, float]
    """Stage (fetch, gatekeeper, router, agent, draft, label, …) to milliseconds, summed over attempts."""
    tokens_prompt: int
    tokens_completion: int
    llm_calls: int
    error: str | None
    draft_id: str | None
    draft_message_id: str | None
    first_seen_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def entry_from_row(row: sqlite3.Row) -> LedgerEntry:
    """The typed, immutable view of a `messages` row."""
    fields: dict[str, Any] = dict(zip(row.keys(), tuple(row), strict=True))
    for name in ("lease_until", "next_attempt_at", "first_seen_at", "updated_at", "finished_at"):
        fields[name] = _time(fields[name])
    fields["verdict"] = None if fields["verdict"] is None else Verdict(fields["verdict"])
    fields["tools"] = tuple(json.loads(fields["tools"]))
    fields["tool_errors"] = tuple((item["tool"], item["error"]) for item in json.loads(fields["tool_errors"]))
    fields["timings"] = dict(json.loads(fields["timings"]))
    return LedgerEntry(**fields)
