"""The Maildir's index: every message file with its headers and thread, read and renamed without losing track."""

from __future__ import annotations

import contextlib
import email.errors
import logging
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from gmail_mcp.errors import MailboxCorruptError, MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.maildir_files import (
    INBOX,
    STATE_DIR,
    Entry,
    Headers,
    SpecialFileError,
    body_text,
    file_name,
    header_block,
    make_folder,
    opened_folder,
    parse_headers,
    read_file,
    rename_file,
    special_file_error,
    split_name,
)
from gmail_mcp.maildir_labels import target_flags, target_folder
from gmail_mcp.maildir_state import MaildirState
from gmail_mcp.threads import ThreadIndex, ThreadItem

__all__ = ["BODY_SEARCH_LIMIT", "HEADER_READ_LIMIT", "TMP_MAX_AGE", "MaildirIndex"]

logger = logging.getLogger("gmail_mcp.maildir")  # the backend's logger name, so log filters and output stay the same

TMP_MAX_AGE = 36 * 3600
"""Files in `tmp/` older than this are leftovers of an interrupted delivery (the Maildir rule) and are deleted."""
HEADER_READ_LIMIT = 256 * 1024
BODY_SEARCH_LIMIT = 8 * 1024 * 1024


class MaildirIndex:
    """What the backend knows about each file: `scan()` lists the message files, reads the headers of new ones, and
    refreshes the thread index; messages first seen in INBOX are journaled in the state file. `read()` and
    `relabel()` follow a file that a mail client renames meanwhile; `body()` reads the text that word search needs,
    keeping the last 256. Symbolic links, FIFOs, sockets and devices (and linked `cur/`, `new/`, `tmp/` or folders)
    are never messages: each is skipped with one warning naming it, and never followed (see `maildir_files`).

    Not thread-safe: the backend calls it under its lock, with the state file open.
    """

    def __init__(self, root: Path, state: MaildirState) -> None:
        self.root = root
        self._state = state
        self.entries: dict[str, Entry] = {}
        """Every message file found by the last scan (and renamed by this process since), by unique name."""
        self.threads = ThreadIndex({})
        self._headers: dict[str, tuple[int, float, Headers]] = {}
        self._skipped: set[tuple[str, int]] = set()
        """(id, size) of unreadable messages and (path, -1) of links and special files: each is warned about once."""
        self._duplicates: set[str] = set()
        self._thread_keys: set[str] = set()
        self._journaled: set[str] = set()
        self._bodies: OrderedDict[str, str] = OrderedDict()

    def load_journal(self) -> None:
        """Learn which messages the journal already holds (once the state file is open)."""
        self._journaled = self._state.journaled_ids()

    def headers(self, message_id: str) -> Headers:
        """The headers of a message in `entries`."""
        return self._headers[message_id][2]

    def clean_tmp(self) -> None:
        cutoff = time.time() - TMP_MAX_AGE
        removed = 0
        for folder in self.folders():
            try:
                with opened_folder(self.root, folder, "tmp") as tmp, os.scandir(tmp) as listing:
                    for item in listing:
                        with contextlib.suppress(FileNotFoundError):
                            old = item.stat(follow_symlinks=False).st_mtime < cutoff
                            if old and item.is_file(follow_symlinks=False):
                                os.unlink(item.name, dir_fd=tmp)
                                removed += 1
            except FileNotFoundError:
                continue
            except SpecialFileError as exc:
                self.warn_skipped(exc)
        if removed:
            logger.info("Removed %d leftover file(s) older than 36 hours from the Maildir's tmp folders", removed)

    def prune_journal(self, window: int) -> None:
        """Forget journal entries below the window whose message is gone (checked twice, in case it was moving)."""
        base, last = self._state.bounds()
        old = self._state.ids_up_to(max(base, last - window))
        missing = [message_id for message_id in old if message_id not in self.entries]
        if missing:
            self.scan()
            missing = [message_id for message_id in missing if message_id not in self.entries]
        if missing:
            self._state.forget(missing)
            self._journaled.difference_update(missing)

    # --- scanning -------------------------------------------------------------------------------------------

    def folders(self) -> list[str]:
        """INBOX first, then every Maildir++ folder (a real dot-folder holding `cur/`), sorted; a linked folder is
        skipped with a warning."""
        found: list[str] = []
        with os.scandir(self.root) as listing:
            for item in listing:
                name = item.name
                if not name.startswith(".") or name in (".", "..", STATE_DIR):
                    continue
                if item.is_symlink():
                    if os.path.isdir(item.path):  # a stat of the target, never a listing
                        self.warn_skipped(special_file_error(item.path, stat.S_IFLNK, "folder"))
                elif item.is_dir(follow_symlinks=False) and os.path.lexists(os.path.join(item.path, "cur")):
                    found.append(name)  # a linked cur/ is reported by scan()
        return [INBOX, *sorted(found)]

    def warn_skipped(self, exc: SpecialFileError) -> None:
        """Log once that a link or special file in the Maildir is skipped (its name only, never its content)."""
        key = (str(exc.filename), -1)
        if key not in self._skipped:
            self._skipped.add(key)
            logger.warning(
                "Skipping %s in the Maildir: it is %s (links and special files are never followed or read)",
                exc.filename,
                exc.strerror,
            )

    def scan(self) -> dict[str, Entry]:
        """List every message file (new/ before cur/, so a file moving between them is never missed), journal the
        ones new to INBOX, and refresh the thread index."""
        found: dict[str, Entry] = {}
        for folder in self.folders():
            base = self.root / folder if folder else self.root
            for subdir in ("new", "cur"):
                try:
                    with opened_folder(self.root, folder, subdir) as fd, os.scandir(fd) as listing:
                        self._list(listing, folder, subdir, base, found)
                except FileNotFoundError:
                    continue
                except SpecialFileError as exc:
                    self.warn_skipped(exc)
        self.entries = {key: entry for key, entry in found.items() if self._headers_of(entry) is not None}
        if len(self._headers) > 2 * len(self.entries) + 1000:  # forget deleted messages now and then
            self._headers = {key: value for key, value in self._headers.items() if key in self.entries}
        self._refresh_threads()
        self._journal_inbox()
        return self.entries

    def _list(
        self, listing: Iterator[os.DirEntry[str]], folder: str, subdir: str, base: Path, found: dict[str, Entry]
    ) -> None:
        """Add the message files of one `new/` or `cur/` listing to `found`."""
        for item in listing:
            entry = self._entry(item, folder, subdir, base)
            if entry is None:
                continue
            other = found.get(entry.id)
            if other is None or (other.folder == folder and subdir == "cur"):
                found[entry.id] = entry
            elif other.folder != folder and entry.id not in self._duplicates:
                self._duplicates.add(entry.id)
                logger.warning(
                    "Maildir unique name %s is in two folders (%s and %s); using the first",
                    entry.id,
                    other.folder or "INBOX",
                    folder,
                )

    def _entry(self, item: os.DirEntry[str], folder: str, subdir: str, base: Path) -> Entry | None:
        name = item.name
        if name.startswith("."):
            return None
        unique, flags = split_name(name)
        if not unique:
            return None
        known = self.entries.get(unique)
        unchanged = known is not None and (known.folder, known.subdir, known.name) == (folder, subdir, name)
        if unchanged and item.is_file(follow_symlinks=False):  # still a plain file (from the listing: no stat)
            return known  # message files never change: no need to stat it again
        try:
            info = item.stat(follow_symlinks=False)  # a link is never followed, even to look
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(info.st_mode):
            return None
        if not stat.S_ISREG(info.st_mode):
            self.warn_skipped(special_file_error(base / subdir / name, info.st_mode, "plain file"))
            return None
        return Entry(unique, folder, subdir, name, flags, info.st_mtime, info.st_size, base)

    def _headers_of(self, entry: Entry) -> Headers | None:
        cached = self._headers.get(entry.id)
        if cached is not None and cached[:2] == (entry.size, entry.mtime):
            return cached[2]
        try:
            head = header_block(read_file(self.root, entry.folder, entry.subdir, entry.name, HEADER_READ_LIMIT))
        except FileNotFoundError:
            return None  # moved while we looked; the next scan finds it
        except SpecialFileError as exc:
            self.warn_skipped(exc)  # replaced by a link since the listing
            return None
        except OSError as exc:
            self._skip(entry, f"cannot be read ({exc.strerror or exc})")
            return None
        if not head.strip():
            self._skip(entry, "is empty")
            return None
        headers = parse_headers(head)
        self._headers[entry.id] = (entry.size, entry.mtime, headers)
        return headers

    def _skip(self, entry: Entry, why: str) -> None:
        if (entry.id, entry.size) not in self._skipped:
            self._skipped.add((entry.id, entry.size))
            logger.warning("Skipping Maildir file %s: it %s", entry.path, why)

    def _refresh_threads(self) -> None:
        if self._thread_keys == self.entries.keys():
            return
        items = []
        for entry in self.entries.values():
            headers = self._headers[entry.id][2]
            items.append(
                ThreadItem.from_headers(
                    entry.id,
                    message_id=headers.message_id,
                    references=headers.references,
                    in_reply_to=headers.in_reply_to,
                    date=entry.internal_date,
                )
            )
        self.threads = ThreadIndex.build(items)
        self._thread_keys = set(self.entries)

    def _journal_inbox(self) -> None:
        fresh = [e for e in self.entries.values() if e.folder == INBOX and e.id not in self._journaled]
        if fresh:
            fresh.sort(key=lambda entry: (entry.mtime, entry.name))
            added = self._state.journal([entry.id for entry in fresh])
            self._journaled.update(entry.id for entry in fresh)
            if added:
                logger.debug("Journaled %d new inbox message(s)", len(added))

    # --- reading and renaming -----------------------------------------------------------------------------

    def read(self, message_id: str) -> tuple[Entry, bytes]:
        """The entry and bytes of a message, following it if a mail client renames it meanwhile."""
        entry = self.entries.get(message_id)
        for _attempt in range(4):
            if entry is None:
                entry = self.scan().get(message_id)
                if entry is None:
                    raise MessageNotFoundError(
                        f"Message {message_id} does not exist in the Maildir (it may have been deleted)"
                    )
            try:
                return entry, read_file(self.root, entry.folder, entry.subdir, entry.name)
            except FileNotFoundError:
                entry = None
            except SpecialFileError as exc:  # replaced by a link since the scan: the next scan leaves it out
                self.warn_skipped(exc)
                self.entries.pop(message_id, None)
                entry = None
        raise MailboxUnavailableError(f"Message {message_id} kept moving while being read (another program is busy)")

    def body(self, entry: Entry) -> str:
        """The decoded text of a message for word search (the last 256 are kept)."""
        text = self._bodies.get(entry.id)
        if text is not None:
            self._bodies.move_to_end(entry.id)
            return text
        try:
            raw = read_file(self.root, entry.folder, entry.subdir, entry.name, BODY_SEARCH_LIMIT)
        except (FileNotFoundError, SpecialFileError):
            return ""
        try:
            text = body_text(raw)
        except (LookupError, ValueError, IndexError, TypeError, email.errors.MessageError):
            text = raw.decode("utf-8", "replace")
        self._bodies[entry.id] = text
        if len(self._bodies) > 256:
            self._bodies.popitem(last=False)
        return text

    def relabel(self, message_id: str, add: set[str], remove: set[str]) -> None:
        """Apply flag and folder changes to one file by an atomic rename, following it if it moves meanwhile."""
        for _attempt in range(5):
            entry = self.entries.get(message_id) or self.scan().get(message_id)
            if entry is None:
                raise MessageNotFoundError(f"Message {message_id} was deleted while its labels were being changed")
            new_flags = target_flags(entry, add, remove)
            folder = target_folder(entry, add, remove)
            subdir = "cur" if entry.subdir == "cur" or new_flags != entry.flags else "new"
            if (folder, subdir, new_flags) == (entry.folder, entry.subdir, entry.flags):
                return
            base = self.root / folder if folder else self.root
            name = file_name(entry.id, new_flags, subdir)
            try:
                if folder != entry.folder:
                    make_folder(self.root, folder)
                source = (entry.folder, entry.subdir, entry.name)
                rename_file(self.root, source, (folder, subdir, name), replace=folder == entry.folder)
            except FileNotFoundError:
                self.scan()  # a mail client renamed it first: look again
                continue
            except FileExistsError:
                raise MailboxCorruptError(
                    f"Cannot move message {entry.id}: {base / subdir / name} already exists (the same unique name in "
                    "two folders); move one of the two files aside"
                ) from None
            except SpecialFileError as exc:
                self.warn_skipped(exc)
                raise MailboxUnavailableError(
                    f"Cannot change the labels of message {entry.id}: {exc.filename} is {exc.strerror}, and the "
                    "Maildir backend never moves mail through a symbolic link or special file, so the file stays "
                    "where it is. Remove the link, or put the real folder in its place."
                ) from None
            self.entries[message_id] = replace(
                entry, folder=folder, subdir=subdir, name=name, flags=new_flags, base=base
            )
            return
        raise MailboxUnavailableError(
            f"Message {message_id} kept moving while its labels were being changed (another program is busy); try again"
        )
