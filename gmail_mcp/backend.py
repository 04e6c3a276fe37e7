"""The storage interface both mail backends implement (Gmail API, local Maildir): raw messages in, raw drafts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

SYSTEM_LABELS = frozenset({"INBOX", "UNREAD", "DRAFT", "SENT", "SPAM", "TRASH", "STARRED", "IMPORTANT"})
"""Gmail's system label ids; a backend maps them to its own notion (Maildir: folders and flags)."""


@dataclass(frozen=True)
class RawMessage:
    """A message as stored: the RFC 822 bytes plus what the store knows about it."""

    id: str
    thread_id: str
    labels: tuple[str, ...]
    """Label *names* (system labels in upper case: INBOX, UNREAD, DRAFT; user labels as named)."""
    raw: bytes
    internal_date: datetime
    """When the store received it (timezone-aware, UTC)."""
    rebuilt: bool = False
    """True when `raw` was rebuilt from Gmail's part tree rather than read as stored (see `gmail_payload`)."""


@dataclass(frozen=True)
class Changes:
    """New inbox messages since a cursor (ids oldest first) and the cursor to use next time."""

    message_ids: list[str]
    cursor: str
    full_sync: bool
    """True when the cursor was missing or too old and `fallback_query` was used instead."""
    thread_ids: dict[str, str] = field(default_factory=dict)
    """Message id -> thread id, for the messages whose thread the listing already named (no fetch needed)."""


@dataclass(frozen=True)
class DraftRecord:
    id: str
    message: RawMessage


class MailBackend(Protocol):
    """What the Gmail tools need from a mailbox. Every method may raise `gmail_mcp.errors.MailError` subclasses."""

    async def address(self) -> str:
        """The mailbox owner's address, lower-cased."""
        ...

    async def changes(self, cursor: str | None, *, fallback_query: str, limit: int) -> Changes:
        """Messages added to INBOX after `cursor` (read state does not matter), at most `limit`.

        A missing or expired cursor falls back to `search(fallback_query)` and returns a fresh cursor.
        """
        ...

    async def search(self, query: str, *, limit: int, page_token: str | None = None) -> tuple[list[str], str | None]:
        """Message ids matching a Gmail-style query (newest first) and the next page token."""
        ...

    async def fetch(self, message_id: str) -> RawMessage:
        """One message with its raw bytes; `MessageNotFoundError` when it does not exist."""
        ...

    async def fetch_thread(self, thread_id: str) -> list[RawMessage]:
        """Every message of a thread, drafts included, oldest first."""
        ...

    async def create_draft(self, thread_id: str | None, raw: bytes) -> DraftRecord:
        """Store `raw` (RFC 822 bytes) as a draft in `thread_id`."""
        ...

    async def list_drafts(self, *, limit: int) -> list[DraftRecord]:
        """Drafts, newest first."""
        ...

    async def draft_id(self, message_id: str) -> str:
        """The draft id of a draft message found in a thread (Gmail's draft and message ids differ)."""
        ...

    async def modify(self, message_ids: list[str], *, add: list[str], remove: list[str]) -> list[str]:
        """Add/remove labels by name on many messages; creates missing user labels and returns their names.

        Removing UNREAD marks read. Unknown message ids raise `MessageNotFoundError` before anything changes.
        """
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class WaitsForMail(Protocol):
    """A backend that can watch its inbox (IMAP IDLE) instead of being asked again and again."""

    async def wait_for_mail(self, cursor: str, seconds: float) -> bool | None:
        """Wait until INBOX may hold mail beyond `cursor` or `seconds` pass: True (mail may have come), False (time
        ran out), None (the server cannot watch: nothing was waited). Cancelling the call ends the wait."""
        ...
