"""The ledger's statements, each a function of an open transaction: written once, compiled for SQLite or PostgreSQL."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Double,
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.errors import LostClaimError
from orchestrator.ledger_schema import cursors, entry_from_row, messages, tool_calls
from orchestrator.ledger_types import Claim, LedgerEntry, Record, clean, tool_rows
from orchestrator.models import Verdict

__all__ = ["advance_cursor", "claim_rows", "cursor_number", "insert_seen", "live_row", "read_entries", "write_record"]

_M = messages.c
_T = tool_calls.c
_BATCH = 500
"""Rows per INSERT: well under SQLite's limit on bound parameters."""

# The statements every message runs (a claim, then writes under it) are built once with named parameters and only
# executed after that: building a statement and computing its cache key cost more than running it on SQLite.
_NOW = bindparam("now", type_=Double)
_IN_MAILBOX = _M.mailbox == bindparam("key_mailbox")
_ROW = and_(_IN_MAILBOX, _M.message_id == bindparam("key_message_id"))
_LIVE_ROW = select(messages).where(_ROW).with_for_update()
_UPDATE_ROW = update(messages).where(_ROW)
"""SET: the columns named in the parameters."""
_NEXT_POSITION = select(func.coalesce(func.max(_T.position) + 1, 0)).where(
    _T.mailbox == bindparam("key_mailbox"), _T.message_id == bindparam("key_message_id")
)
_INSERT_CALLS = tool_calls.insert()
_DRAFTED = and_(
    _M.state == "drafted",
    func.coalesce(_M.lease_until, 0.0) <= _NOW,
    func.coalesce(_M.next_attempt_at, 0.0) <= _NOW,
)
_FRESH = and_(
    _M.draft_id.is_(None),
    or_(
        _M.state == "new",
        and_(_M.state == "failed", _M.next_attempt_at <= _NOW),
        and_(_M.state == "claimed", _M.lease_until <= _NOW),
    ),
)
_TAKE = (
    update(messages)
    .where(_IN_MAILBOX, _M.message_id.in_(bindparam("key_ids", expanding=True)))
    .values(
        state=bindparam("new_state"),
        claimed_by=bindparam("worker"),
        lease_until=bindparam("until", type_=Double),
        attempts=_M.attempts + 1,
        next_attempt_at=None,
        updated_at=_NOW,
    )
)


@lru_cache(maxsize=64)
def _claimable(drafted: bool, limit: int) -> Select[Any]:
    """Up to `limit` claimable rows of the mailbox (`drafted` ones, or fresh ones), oldest first, skipping locked
    rows."""
    return (
        select(_M.message_id, _M.thread_id, _M.attempts, _M.claimed_by, _M.draft_id, _M.draft_message_id)
        .where(_IN_MAILBOX, _DRAFTED if drafted else _FRESH)
        .order_by(_M.first_seen_at, _M.message_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def cursor_number(cursor: str) -> int:
    """The cursor as a number; ValueError for anything but decimal digits."""
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValueError(f"A mailbox cursor is a decimal number (Gmail history id, Maildir sequence), not {cursor!r}")
    return int(cursor)


def _insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """INSERT with the dialect's ON CONFLICT clause available."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def read_entries(conn: Connection, where: list[ColumnElement[bool]]) -> list[LedgerEntry]:
    """The messages matching `where` with their tool calls, oldest first."""
    rows = conn.execute(select(messages).where(*where).order_by(_M.first_seen_at, _M.mailbox, _M.message_id))
    joined = tool_calls.join(messages, and_(_T.mailbox == _M.mailbox, _T.message_id == _M.message_id))
    calls: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for mailbox, message_id, tool, error in conn.execute(
        select(_T.mailbox, _T.message_id, _T.tool, _T.error)
        .select_from(joined)
        .where(*where)
        .order_by(_T.mailbox, _T.message_id, _T.position)
    ):
        calls.setdefault((mailbox, message_id), []).append((tool, error))
    return [entry_from_row(row, calls.get((row["mailbox"], row["message_id"]), [])) for row in rows.mappings()]


def insert_seen(conn: Connection, mailbox: str, pairs: dict[str, str | None], now: float) -> set[str]:
    """Insert the messages not yet known (message id -> thread id); the ids inserted."""
    rows = [
        {"mailbox": mailbox, "message_id": mid, "thread_id": tid, "first_seen_at": now, "updated_at": now}
        for mid, tid in pairs.items()
    ]
    added: set[str] = set()
    for start in range(0, len(rows), _BATCH):
        insert = _insert(conn, messages).values(rows[start : start + _BATCH]).on_conflict_do_nothing()
        added.update(conn.execute(insert.returning(_M.message_id)).scalars())
    return added


def advance_cursor(conn: Connection, mailbox: str, cursor: str) -> bool:
    """Store the mailbox's cursor if it is ahead of the stored one (the row locked while comparing)."""
    number = cursor_number(cursor)
    insert = _insert(conn, cursors).values(mailbox=mailbox, cursor=str(number)).on_conflict_do_nothing()
    if conn.execute(insert.returning(cursors.c.mailbox)).first() is not None:
        return True
    key = cursors.c.mailbox == mailbox
    stored = conn.execute(select(cursors.c.cursor).where(key).with_for_update()).scalar_one()
    if cursor_number(stored) >= number:
        return False
    conn.execute(update(cursors).where(key).values(cursor=str(number)))
    return True


def claim_rows(
    conn: Connection, mailbox: str, worker: str, limit: int, now: float, lease_until: float
) -> tuple[list[Claim], int]:
    """Hand `worker` up to `limit` messages (drafted ones first, then the rest, oldest first), skipping rows other
    transactions hold; the claims and how many were taken over from an expired lease."""
    claims: list[Claim] = []
    taken_over = 0
    for drafted, state in ((True, "drafted"), (False, "claimed")):
        if len(claims) >= limit:
            break
        rows = conn.execute(_claimable(drafted, limit - len(claims)), {"key_mailbox": mailbox, "now": now}).all()
        if not rows:
            continue
        conn.execute(
            _TAKE,
            {
                "key_mailbox": mailbox,
                "key_ids": [row.message_id for row in rows],
                "new_state": state,
                "worker": worker,
                "until": lease_until,
                "now": now,
            },
        )
        taken_over += sum(1 for row in rows if row.claimed_by is not None)
        claims += [
            Claim(mailbox, row.message_id, row.thread_id, worker, row.attempts + 1, lease_until,
                  row.draft_id, row.draft_message_id)
            for row in rows
        ]  # fmt: skip
    return claims, taken_over


def live_row(conn: Connection, claim: Claim, now: float, description: str) -> RowMapping:
    """The claimed message's row, locked; LostClaimError unless the claim's worker still holds it unexpired."""
    key = {"key_mailbox": claim.mailbox, "key_message_id": claim.message_id}
    row = conn.execute(_LIVE_ROW, key).mappings().first()
    if row is None:
        raise LostClaimError(
            f"Message {claim.message_id} of mailbox {claim.mailbox!r} is not in the ledger {description}: "
            "claim it first"
        )
    if (
        row["claimed_by"] != claim.worker
        or row["state"] not in ("claimed", "drafted")
        or (row["lease_until"] or 0) <= now
    ):
        raise LostClaimError(
            f"Worker {claim.worker!r} no longer holds message {claim.message_id} (state {row['state']}, held "
            f"by {row['claimed_by']!r}): its lease expired or another worker took it; leave the message alone"
        )
    return row


def write_record(conn: Connection, row: RowMapping, record: Record | None, values: dict[str, Any], now: float) -> None:
    """Update the row with `values`, and with the record: its decision and route set, its tool calls appended,
    its timings and tokens added."""
    if record is not None:
        values = _record_values(conn, row, record) | values
    key = {"key_mailbox": row["mailbox"], "key_message_id": row["message_id"]}
    conn.execute(_UPDATE_ROW, values | {"updated_at": now} | key)


def _record_values(conn: Connection, row: RowMapping, record: Record) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(record, name)
        for name in ("category", "language", "confidence", "engine")
        if getattr(record, name) is not None
    }
    if record.verdict is not None:
        values["verdict"] = Verdict(record.verdict).value
    if record.reason is not None:
        values["reason"] = clean(record.reason, 300)
    if record.timings:
        timings: dict[str, float] = json.loads(row["timings"])
        for stage, ms in record.timings.items():
            timings[stage] = round(timings.get(stage, 0.0) + ms, 3)
        values |= {"timings": json.dumps(timings), "work_ms": round(sum(timings.values()), 3)}
    if record.tokens_prompt or record.tokens_completion or record.llm_calls:
        values |= {
            "tokens_prompt": row["tokens_prompt"] + record.tokens_prompt,
            "tokens_completion": row["tokens_completion"] + record.tokens_completion,
            "llm_calls": row["llm_calls"] + record.llm_calls,
        }
    calls = tool_rows(record.tools, record.tool_errors)
    if calls:
        key = {"key_mailbox": row["mailbox"], "key_message_id": row["message_id"]}
        first = conn.execute(_NEXT_POSITION, key).scalar_one()
        conn.execute(
            _INSERT_CALLS,
            [
                {"mailbox": row["mailbox"], "message_id": row["message_id"], "position": first + i, "tool": tool,
                 "error": error}
                for i, (tool, error) in enumerate(calls)
            ],
        )  # fmt: skip
    return values
