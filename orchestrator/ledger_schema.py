"""The ledger's tables, its versioned migrations and the rows it hands out, for SQLite and PostgreSQL alike.

Version 1 (release 0.1.0, SQLite only, `PRAGMA user_version = 1`): `messages` keyed by message_id with tools,
tool errors and timings as JSON, and `meta` holding the mailbox cursor. Version 2: every row has a `mailbox`
(primary key (mailbox, message_id)); `cursors` per mailbox; one `tool_calls` row per tool call, so tool numbers
are a GROUP BY; `work_ms`, the sum of the stage timings, kept up to date on each write so time to draft
aggregates in SQL (the per-stage JSON stays for detail); `ledger_version` records the version on both backends.

Why a small runner rather than Alembic: three tables, and migrations run inside the daemon when it opens the
ledger, in one transaction, without a script directory, an `alembic.ini` or a separate command to remember.
Concurrent openers are safe: PostgreSQL takes `pg_advisory_xact_lock`, SQLite holds `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    RowMapping,
    Table,
    Text,
    insert,
    select,
    text,
)

from orchestrator.errors import LedgerError
from orchestrator.ledger_types import STATES, LedgerEntry, tool_rows
from orchestrator.models import Verdict

__all__ = ["SCHEMA_VERSION", "cursors", "entry_from_row", "messages", "metadata", "migrate", "tool_calls", "versions"]

metadata = MetaData()
_STATE_LIST = ", ".join(f"'{state}'" for state in STATES)

messages = Table(
    "messages",
    metadata,
    Column("mailbox", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("thread_id", Text),
    Column("state", Text, nullable=False, server_default="new"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_by", Text),
    Column("lease_until", Double),
    Column("next_attempt_at", Double),
    Column("verdict", Text),
    Column("reason", Text),
    Column("category", Text),
    Column("language", Text),
    Column("confidence", Double),
    Column("engine", Text),
    Column("timings", Text, nullable=False, server_default="{}"),
    Column("work_ms", Double),
    Column("tokens_prompt", Integer, nullable=False, server_default="0"),
    Column("tokens_completion", Integer, nullable=False, server_default="0"),
    Column("llm_calls", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("draft_id", Text),
    Column("draft_message_id", Text),
    Column("first_seen_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("finished_at", Double),
    PrimaryKeyConstraint("mailbox", "message_id"),
    CheckConstraint(f"state IN ({_STATE_LIST})", name="messages_state"),
    Index("messages_by_state", "mailbox", "state", "first_seen_at"),
    Index("messages_by_update", "updated_at"),
)
"""`work_ms` is the sum of `timings` (NULL while there are none); times are epoch seconds."""

tool_calls = Table(
    "tool_calls",
    metadata,
    Column("mailbox", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("tool", Text, nullable=False),
    Column("error", Text),
    PrimaryKeyConstraint("mailbox", "message_id", "position"),
)
"""One row per tool call, in call order; `error` is the cleaned error text of a failed call."""

cursors = Table(
    "cursors",
    metadata,
    Column("mailbox", Text, primary_key=True),
    Column("cursor", Text, nullable=False),
)

versions = Table("ledger_version", metadata, Column("version", Integer, nullable=False))

_Migration = Callable[[Connection], None]


def _v1_to_v2(conn: Connection) -> None:
    """Release 0.1.0's single-mailbox file: its rows, draft ids, tools and cursor go to mailbox "default"."""
    if conn.dialect.name != "sqlite":
        raise LedgerError("Schema version 1 exists only as a SQLite file; this database is not a ledger")
    for statement in (
        "DROP INDEX IF EXISTS messages_by_state",
        "DROP INDEX IF EXISTS messages_by_update",
        "ALTER TABLE messages RENAME TO messages_v1",
    ):
        conn.exec_driver_sql(statement)
    metadata.create_all(conn)
    old = conn.execute(text("SELECT * FROM messages_v1 ORDER BY first_seen_at, message_id")).mappings().all()
    for row in old:
        timings = json.loads(row["timings"])
        values = {name: value for name, value in row.items() if name not in ("tools", "tool_errors")}
        values |= {"mailbox": "default", "work_ms": float(sum(timings.values())) if timings else None}
        conn.execute(insert(messages).values(values))
        errors = [(item["tool"], item["error"]) for item in json.loads(row["tool_errors"])]
        calls = tool_rows(json.loads(row["tools"]), errors)
        if calls:
            conn.execute(
                insert(tool_calls),
                [
                    {"mailbox": "default", "message_id": row["message_id"], "position": i, "tool": t, "error": e}
                    for i, (t, e) in enumerate(calls)
                ],
            )
    cursor = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'cursor'").scalar()
    if cursor is not None:
        conn.execute(insert(cursors).values(mailbox="default", cursor=str(cursor)))
    conn.exec_driver_sql("DROP TABLE messages_v1")
    conn.exec_driver_sql("DROP TABLE meta")


MIGRATIONS: dict[int, _Migration] = {2: _v1_to_v2}
"""What takes a ledger from version N-1 to N. A new ledger gets the current tables at once; to change the schema,
add version N+1 here (written against the tables as they are at N, not against `metadata`)."""
SCHEMA_VERSION = max(MIGRATIONS)
_MIGRATION_LOCK = 0x5E_D6E7_1ED6
"""PostgreSQL advisory lock key held while a ledger database is migrated."""


def _found_version(conn: Connection) -> int:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        exists = conn.exec_driver_sql("SELECT to_regclass('ledger_version') IS NOT NULL").scalar()
    else:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_version'"
        ).scalar()
    if exists:
        return int(conn.execute(select(versions.c.version)).scalar() or 0)
    if conn.dialect.name == "sqlite":
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    return 0


def migrate(conn: Connection, description: str) -> int:
    """Bring the ledger from its version (0: new) to `SCHEMA_VERSION` inside the caller's write transaction;
    returns the version found."""
    found = _found_version(conn)
    if found > SCHEMA_VERSION:
        raise LedgerError(
            f"The ledger {description} was written by a newer support-agent (schema {found}, this one knows "
            f"{SCHEMA_VERSION}): upgrade this one, or give it another ledger"
        )
    if found == SCHEMA_VERSION:
        return found
    if found == 0:
        metadata.create_all(conn)
    else:
        for version in range(found + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](conn)
    conn.execute(versions.delete())
    conn.execute(insert(versions).values(version=SCHEMA_VERSION))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")  # release 0.1.0 refuses it, as it should
        tables = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
        missing = set(metadata.tables) - tables
        if missing:
            raise sqlite3.DatabaseError(f"tables {', '.join(sorted(missing))} are missing")
    return found


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def entry_from_row(row: RowMapping, calls: list[tuple[str, str | None]]) -> LedgerEntry:
    """The typed, immutable view of a `messages` row and its `tool_calls` (tool, error) in order."""
    fields = {name: row[name] for name in LedgerEntry.__dataclass_fields__ if name not in ("tools", "tool_errors")}
    for name in ("lease_until", "next_attempt_at", "first_seen_at", "updated_at", "finished_at"):
        fields[name] = _time(fields[name])
    fields["verdict"] = None if fields["verdict"] is None else Verdict(fields["verdict"])
    fields["timings"] = dict(json.loads(fields["timings"]))
    fields["tools"] = tuple(tool for tool, _ in calls)
    fields["tool_errors"] = tuple((tool, error) for tool, error in calls if error is not None)
    return LedgerEntry(**fields)
