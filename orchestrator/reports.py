"""What `once` and `run` print about each message: a table row for people, or one JSON object for scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.ledger import LedgerEntry
    from orchestrator.pipeline import Outcome

__all__ = ["JSON_FIELDS", "message_json", "outcome_cells", "table"]

JSON_FIELDS = (
    "mailbox",
    "message_id",
    "rfc822_message_id",
    "sender",
    "verdict",
    "reason",
    "category",
    "language",
    "state",
    "draft_id",
    "tools",
    "error",
)
"""The keys of every `--json` object, in this order (a value is null when it is not known)."""


def outcome_cells(outcome: Outcome, *, sender: bool) -> tuple[str, ...]:
    """One message as the demo's table shows it: sender, verdict (reason), category, language, tools, draft."""
    verdict = f"{outcome.verdict.value if outcome.verdict else '?'} ({outcome.reason})"
    tools = ",".join(dict.fromkeys(outcome.tools)) + (" +review" if outcome.flagged else "")
    who = (outcome.sender or "?")[:34] if sender else outcome.message_id[:34]
    draft = f"draft {outcome.draft_id}" if outcome.draft_id else ""
    return (who, verdict[:34], outcome.category or "", outcome.language or "", tools[:46], draft)


def table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _state(outcome: Outcome) -> str:
    if outcome.draft_id:
        return "done"
    return "alerted" if outcome.verdict is not None and outcome.verdict.value == "INTERNAL_ALERT" else "ignored"


def message_json(outcome: Outcome | None, entry: LedgerEntry | None = None) -> str:
    """One line of JSON for a message: what this run learnt (`outcome`) and what the ledger holds (`entry`), the
    ledger winning for state, tools and error; at least one of the two must be given."""
    if outcome is None and entry is None:
        raise ValueError("message_json needs an outcome or a ledger entry")
    record: dict[str, Any] = dict.fromkeys(JSON_FIELDS)
    if outcome is not None:
        record |= {
            "mailbox": outcome.mailbox,
            "message_id": outcome.message_id,
            "rfc822_message_id": outcome.rfc_message_id,
            "sender": outcome.sender,
            "verdict": outcome.verdict.value if outcome.verdict else None,
            "reason": outcome.reason or None,
            "category": outcome.category,
            "language": outcome.language,
            "state": _state(outcome),
            "draft_id": outcome.draft_id,
            "tools": list(outcome.tools),
        }
    if entry is not None:
        record |= {
            "mailbox": entry.mailbox,
            "message_id": entry.message_id,
            "verdict": entry.verdict.value if entry.verdict else record["verdict"],
            "reason": entry.reason or record["reason"],
            "category": entry.category or record["category"],
            "language": entry.language or record["language"],
            "state": entry.state,
            "draft_id": entry.draft_id,
            "tools": list(entry.tools),
            "error": entry.error,
        }
    return json.dumps(record, ensure_ascii=False)
