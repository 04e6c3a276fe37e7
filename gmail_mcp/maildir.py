"""The local Maildir mailbox: the embedded default, and any IMAP account synced into Maildir (mbsync, offlineimap).

Layout: INBOX is `root/{cur,new,tmp}`; Maildir++ subfolders `.Drafts`, `.Sent`, `.Archive` (and `.Trash`, `.Junk`
when used). A message id is the file's unique name (the part before `:2,`), which stays the same when a mail
client adds flags or moves the file from `new/` to `cur/`. Read state and stars are the `S` and `F` flags in the
file name; user labels and the new-mail journal live in a SQLite file in `root/.support-agent/` and never touch
the message files. Every write is a Maildir-style atomic rename, so a crash never leaves half a message.

Links: the root given (GMAIL_MAILDIR) may be a symbolic link; it is resolved once when the backend opens, and that
folder is used until it closes. Below the root nothing is followed: a symbolic link, FIFO, socket or device in
`cur/` or `new/`, or a linked `cur/`, `new/`, `tmp/` or folder, is skipped with one warning naming it (never its
content) and is never a message; drafts and label changes never write or move anything through a link (they fail
with an error naming it), and a linked state folder or state file is refused. See `maildir_files`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from gmail_mcp.backend import Changes, DraftRecord, RawMessage
from gmail_mcp.errors import ConfigError, InvalidInputError, MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.maildir_drafts import check_draft, with_thread_headers
from gmail_mcp.maildir_files import (
    ARCHIVE,
    DRAFTS,
    INBOX,
    SENT,
    STATE_DIR,
    Entry,
    SpecialFileError,
    deliver_message,
    make_folder,
    new_unique_name,
)
from gmail_mcp.maildir_index import MaildirIndex
from gmail_mcp.maildir_labels import FIXED_LABELS, SYSTEM_NAMES, checked_changes, labels_of
from gmail_mcp.maildir_state import STATE_FILE, MaildirState
from gmail_mcp.query import SearchDocument, parse_query
from support_core.addresses import AddressError, normalise_address

__all__ = ["ARCHIVE", "DRAFTS", "INBOX", "SENT", "STATE_DIR", "MaildirBackend", "deliver_message", "new_unique_name"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

MAX_CURSOR = 2**62


# --- the backend --------------------------------------------------------------------------------------------


class MaildirBackend:
    """`MailBackend` over a local Maildir. See the module docstring for the layout.

    Labels: INBOX (root folder), DRAFT (`.Drafts`), SENT (`.Sent`), TRASH (`.Trash`), SPAM (`.Junk`), UNREAD (no `S`
    flag; never on drafts and sent mail), STARRED (`F` flag), a folder's own name for other Maildir++ folders
    (`.Work.Clients` gives `Work/Clients`, read-only), and user labels from the state file. Removing INBOX archives
    (moves to `.Archive`); adding TRASH or SPAM moves there, removing it moves back to INBOX.

    `changes()` works like Gmail's history: every message first seen in INBOX gets the next number in the
    journal; a cursor is the last number handed out. `journal_window` is how many numbers back a cursor stays
    valid; an older (or missing, or malformed) cursor gives a full sync through `fallback_query`.

    All file and database work runs in worker threads under one lock per instance; several instances and
    processes may share a Maildir (atomic renames for files, SQLite locking for the state file).
    """

    def __init__(
        self,
        root: Path,
        *,
        address: str,
        state_dir: Path | None = None,
        journal_window: int = 10_000,
        busy_timeout: float = 30.0,
    ) -> None:
        try:
            address = normalise_address(address)
        except AddressError as exc:
            raise ConfigError(f"The Maildir backend needs the mailbox owner's address (GMAIL_ADDRESS): {exc}") from None
        if journal_window < 1:
            raise ConfigError("journal_window must be at least 1")
        self.root = Path(root).expanduser()
        self.journal_window = journal_window
        state_path = (state_dir or self.root / STATE_DIR) / STATE_FILE
        self._address = address
        self._state = MaildirState(state_path, busy_timeout=busy_timeout)
        self._index = MaildirIndex(self.root, self._state)
        self._lock = threading.Lock()
        self._opened = False

    @property
    def state_path(self) -> Path:
        return self._state.path

    # --- the MailBackend protocol ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Check and prepare the Maildir now (every other method does it on first use)."""
        await self._run(lambda: None)

    async def address(self) -> str:
        return self._address

    async def changes(self, cursor: str | None, *, fallback_query: str, limit: int) -> Changes:
        _check_limit(limit)
        return await self._run(functools.partial(self._changes, cursor, fallback_query, limit))

    async def search(self, query: str, *, limit: int, page_token: str | None = None) -> tuple[list[str], str | None]:
        _check_limit(limit)
        parsed = parse_query(query, me=self._address)  # a malformed query fails before any I/O
        offset = _parse_page_token(page_token)
        return await self._run(lambda: self._search(parsed.text, limit, offset))

    async def fetch(self, message_id: str) -> RawMessage:
        return await self._run(lambda: self._fetch(message_id))

    async def fetch_thread(self, thread_id: str) -> list[RawMessage]:
        return await self._run(lambda: self._fetch_thread(thread_id))

    async def create_draft(self, thread_id: str | None, raw: bytes) -> DraftRecord:
        check_draft(raw)
        return await self._run(lambda: self._create_draft(thread_id, raw))

    async def list_drafts(self, *, limit: int) -> list[DraftRecord]:
        _check_limit(limit)
        return await self._run(lambda: self._list_drafts(limit))

    async def draft_id(self, message_id: str) -> str:
        return message_id  # a Maildir draft is its message file: one id for both

    async def modify(self, message_ids: list[str], *, add: list[str], remove: list[str]) -> list[str]:
        adding, removing = checked_changes(add, remove)
        fixed = [name for name in (*adding, *removing) if name in FIXED_LABELS]
        if fixed:
            raise InvalidInputError(
                f"{fixed[0]} follows the folder a message is in and cannot be added or removed; "
                "save a draft with create_draft instead"
            )
        return await self._run(lambda: self._modify(list(message_ids), adding, removing))

    async def list_labels(self) -> list[str]:
        """The user labels that exist (created by `modify`), as stored."""
        return await self._run(self._state.label_names)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._close)

    # --- running work in a thread ---------------------------------------------------------------------------

    async def _run(self, job: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(self._locked, job)

    def _locked(self, job: Callable[[], T]) -> T:
        with self._lock:
            try:
                if not self._opened:
                    self._open()
                return job()
            except OSError as exc:
                where = exc.filename or self.root
                raise MailboxUnavailableError(
                    f"The Maildir at {self.root} cannot be used: {exc.strerror or exc} ({where}). Check that the "
                    "folder exists and that this user can read and write it, or set GMAIL_MAILDIR to another folder."
                ) from None

    def _close(self) -> None:
        with self._lock:
            self._state.close()
            self._opened = False

    def _open(self) -> None:
        root = self.root
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise MailboxUnavailableError(
                f"Cannot open the Maildir {root}: {exc.strerror or exc}. Create it, or set GMAIL_MAILDIR to a folder "
                "this user can write."
            ) from None
        if not root.is_dir() or not os.access(root, os.R_OK | os.W_OK | os.X_OK):
            raise MailboxUnavailableError(
                f"The Maildir {root} is not a folder this user can read and write: fix its permissions, or set "
                "GMAIL_MAILDIR to another folder."
            )
        real = root.resolve()  # a linked root is followed here, once; nothing below it ever is
        if real != root.absolute():
            logger.info("The Maildir %s is %s with links followed: using that folder until it closes", root, real)
        self._index.root = real
        for folder in (INBOX, DRAFTS, SENT, ARCHIVE):
            try:
                make_folder(real, folder)
            except SpecialFileError as exc:  # left alone: reading skips it, writing into it fails with its name
                self._index.warn_skipped(exc)
        self._index.clean_tmp()
        self._state.open()
        try:
            self._index.load_journal()
            self._opened = True
            self._index.scan()
            self._index.prune_journal(self.journal_window)
        except BaseException:
            self._opened = False
            self._state.close()
            raise

    # --- reading --------------------------------------------------------------------------------------------

    def _raw_message(self, entry: Entry, raw: bytes, user: Iterable[str]) -> RawMessage:
        thread_id = self._index.threads.thread_of(entry.id)
        if thread_id is None:  # a file that appeared since the last scan
            self._index.scan()
            thread_id = self._index.threads.thread_of(entry.id) or ""
        return RawMessage(
            id=entry.id,
            thread_id=thread_id,
            labels=labels_of(entry, user),
            raw=raw,
            internal_date=entry.internal_date,
        )

    def _fetch(self, message_id: str) -> RawMessage:
        entry, raw = self._index.read(message_id)
        return self._raw_message(entry, raw, self._state.labels([entry.id]).get(entry.id, []))

    def _fetch_thread(self, thread_id: str) -> list[RawMessage]:
        self._index.scan()
        members = self._index.threads.members(thread_id)
        if not members:
            raise MessageNotFoundError(f"Thread {thread_id} does not exist in the Maildir")
        labels = self._state.labels(members)
        messages: list[RawMessage] = []
        for message_id in members:
            try:
                entry, raw = self._index.read(message_id)
            except MessageNotFoundError:
                continue  # deleted between the scan and the read
            messages.append(self._raw_message(entry, raw, labels.get(message_id, [])))
        messages.sort(key=lambda message: (message.internal_date, message.id))
        return messages

    def _document(self, entry: Entry, user: Iterable[str]) -> SearchDocument:
        headers = self._index.headers(entry.id)
        return SearchDocument(
            folder=entry.location,
            labels=frozenset(labels_of(entry, user)),
            date=entry.internal_date,
            from_=headers.from_,
            to=" ".join(filter(None, (headers.to, headers.cc, headers.bcc))),
            cc=headers.cc,
            subject=headers.subject,
            message_id=headers.message_id,
            body=functools.partial(self._index.body, entry),
        )

    def _search(self, query: str, limit: int, offset: int) -> tuple[list[str], str | None]:
        parsed = parse_query(query, me=self._address)
        entries = self._index.scan()
        labels = self._state.labels()
        newest_first = sorted(entries.values(), key=lambda entry: (entry.mtime, entry.id), reverse=True)
        matching = [e.id for e in newest_first if parsed.matches(self._document(e, labels.get(e.id, ())))]
        page = matching[offset : offset + limit]
        following = offset + limit
        return page, (str(following) if following < len(matching) else None)

    def _changes(self, cursor: str | None, fallback_query: str, limit: int) -> Changes:
        entries = self._index.scan()
        base, last = self._state.bounds()
        floor = max(base, last - self.journal_window)
        position = _parse_cursor(cursor)
        if position is not None and position > last:
            # a cursor from a journal that numbered higher (the state file was rebuilt while the clock was
            # behind): number new mail above it so the caller's cursor never has to go back
            self._state.advance_to(position)
            return self._full_sync(fallback_query, limit, str(position))
        if position is None or position < floor:
            return self._full_sync(fallback_query, limit, str(last))
        ids: list[str] = []
        rescanned = False
        while len(ids) < limit:
            rows = self._state.entries_after(position, max(2 * limit, 100))
            if not rows:
                break
            for seq, message_id in rows:
                entry = entries.get(message_id)
                if entry is None and not rescanned:  # journaled by another process after our scan
                    entries, rescanned = self._index.scan(), True
                    entry = entries.get(message_id)
                position = seq
                if entry is not None and entry.folder == INBOX:
                    ids.append(message_id)
                    if len(ids) >= limit:
                        break
        return Changes(message_ids=ids, cursor=str(position), full_sync=False)

    def _full_sync(self, query: str, limit: int, cursor: str) -> Changes:
        ids, _ = self._search(query, limit, 0)
        return Changes(message_ids=list(reversed(ids)), cursor=cursor, full_sync=True)

    def _list_drafts(self, limit: int) -> list[DraftRecord]:
        entries = self._index.scan()
        drafts = sorted(
            (entry for entry in entries.values() if entry.location == "DRAFT"),
            key=lambda entry: (entry.mtime, entry.id),
            reverse=True,
        )[:limit]
        labels = self._state.labels(entry.id for entry in drafts)
        records: list[DraftRecord] = []
        for draft in drafts:
            try:
                entry, raw = self._index.read(draft.id)
            except MessageNotFoundError:
                continue
            records.append(DraftRecord(id=entry.id, message=self._raw_message(entry, raw, labels.get(entry.id, []))))
        return records

    # --- writing --------------------------------------------------------------------------------------------

    def _create_draft(self, thread_id: str | None, raw: bytes) -> DraftRecord:
        if thread_id is not None:
            self._index.scan()
            members = self._index.threads.members(thread_id)
            if not members:
                raise MessageNotFoundError(f"Thread {thread_id} does not exist in the Maildir, so no draft was saved")
            raw = with_thread_headers(raw, self._index, members)
        try:
            unique = deliver_message(self._index.root, raw, folder=DRAFTS, flags="D")
        except SpecialFileError as exc:
            raise MailboxUnavailableError(
                f"No draft was saved: {exc.filename} is {exc.strerror}, and the Maildir backend never writes mail "
                "through a symbolic link or special file. Remove the link, or put the real folder in its place."
            ) from None
        entry, stored = self._index.read(unique)
        return DraftRecord(id=unique, message=self._raw_message(entry, stored, ()))

    def _modify(self, message_ids: list[str], add: list[str], remove: list[str]) -> list[str]:
        entries = self._index.scan()
        for message_id in message_ids:
            if message_id not in entries:
                raise MessageNotFoundError(
                    f"Message {message_id} does not exist in the Maildir; no labels were changed"
                )
        targets = {message_id: entries[message_id] for message_id in dict.fromkeys(message_ids)}
        if "INBOX" in add:
            fixed = [e.id for e in targets.values() if e.location in ("DRAFT", "SENT")]
            if fixed:
                raise InvalidInputError(f"Message {fixed[0]} is a draft or sent message and cannot go to INBOX")
        user_add = [name for name in add if name not in SYSTEM_NAMES.values()]
        user_remove = [name for name in remove if name not in SYSTEM_NAMES.values()]
        created = self._state.apply(list(targets), user_add, user_remove) if user_add or user_remove else []
        system_add = {name for name in add if name in SYSTEM_NAMES.values()}
        system_remove = {name for name in remove if name in SYSTEM_NAMES.values()}
        if system_add or system_remove:
            for message_id in targets:
                self._index.relabel(message_id, system_add, system_remove)
        return created


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInputError(f"limit must be at least 1, not {limit}")


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or not cursor.strip().isdigit():
        return None
    value = int(cursor.strip())
    return value if value <= MAX_CURSOR else None


def _parse_page_token(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInputError(f"page_token {token[:40]!r} is not one this mailbox gave: pass back next_page_token")
    return int(token)
