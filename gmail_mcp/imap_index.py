"""What the IMAP backend remembers between calls: each folder's headers by UID, and the conversation threads.

Headers of a UID never change, so each folder's are fetched once (`BODY.PEEK[HEADER]`, which leaves `\\Seen`
alone) and then only for new UIDs; a folder whose EXISTS, UIDNEXT and UIDVALIDITY (from SELECT) are unchanged is
not read again. When they changed, the UIDs still there come from `UID SEARCH ALL`, or, on a connection with
QRESYNC enabled (RFC 7162), from the cached ones less those the server reports VANISHED since the last look plus
those at or above the old UIDNEXT: a big folder's UID list is not transferred again for one arrival.

Flags and labels do change (`states`). Without CONDSTORE they are fetched for every cached message of the folder
at each look; with it (SELECT then reports HIGHESTMODSEQ) a folder whose HIGHESTMODSEQ has not moved is not asked
at all, and otherwise `FETCH … (CHANGEDSINCE n)` returns only the messages changed since (by anyone: another mail
program, a phone, this server's own STOREs). Threads on servers without Gmail's
extension come from `gmail_mcp.threads` over INBOX, Sent and Drafts, exactly as on a Maildir; on Gmail a thread
is `X-GM-THRID` in hex (the Gmail API's thread id of the same conversation).

Every function here takes the imapclient client and runs in the connection's worker thread, under its lock.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gmail_mcp.errors import ConfigError
from gmail_mcp.imap_names import FALLBACK_NAMES, SPECIAL_USE, MessageKey
from gmail_mcp.maildir_files import Headers, parse_headers
from gmail_mcp.threads import ThreadIndex, ThreadItem, thread_id_for

__all__ = [
    "FolderIndex",
    "ImapIndex",
    "IndexEntry",
    "discover_folders",
    "fetch_chunked",
    "uids_within",
    "vanished_since",
]

THREAD_ROLES = ("inbox", "sent", "drafts")
HEADER = b"BODY[HEADER]"
CHUNK = 500


def discover_folders(client: Any, overrides: dict[str, str | None]) -> dict[str, str]:
    """Folder name by role: INBOX, then SPECIAL-USE marks (RFC 6154), then usual names; `overrides` win."""
    names = {"inbox": "INBOX"}
    listing = client.list_folders()
    existing = {name for _flags, _delimiter, name in listing}
    for flags, _delimiter, name in listing:
        for flag in flags:
            role = SPECIAL_USE.get(flag.decode("ascii", "replace") if isinstance(flag, bytes) else str(flag))
            if role is not None and role not in names:
                names[role] = name
    for role, candidates in FALLBACK_NAMES.items():
        if role not in names:
            found = next((name for name in candidates if name in existing), None)
            if found is not None:
                names[role] = found
    for role, name in overrides.items():
        if name:
            if name not in existing:
                variable = f"GMAIL_IMAP_{role.upper()}_FOLDER"
                raise ConfigError(f"{variable} names {name!r}, which is not a folder of this IMAP mailbox")
            names[role] = name
    return names


@dataclass(frozen=True)
class IndexEntry:
    key: MessageKey
    headers: Headers
    date: datetime
    thrid: int | None = None


@dataclass
class FolderIndex:
    uidvalidity: int = 0
    status: tuple[int, ...] = (0, 0, 0)
    entries: dict[int, IndexEntry] = field(default_factory=dict)
    modseq: int = 0
    """HIGHESTMODSEQ at the last SELECT (0: the server or the folder keeps none)."""
    listed_modseq: int = 0
    """HIGHESTMODSEQ when `entries` was last brought up to date (VANISHED is asked from there)."""
    states: dict[int, dict[bytes, Any]] = field(default_factory=dict)
    states_modseq: int = 0
    """HIGHESTMODSEQ when `states` was last brought up to date (CHANGEDSINCE is asked from there)."""


class ImapIndex:
    """Header caches per folder role and the thread grouping built from them."""

    def __init__(self, *, gmail: bool) -> None:
        self.gmail = gmail
        self.qresync = False
        """Whether the current connection has QRESYNC enabled (set by the backend before each job)."""
        self.folders: dict[str, FolderIndex] = {}
        self._threads: ThreadIndex | None = None
        self._thread_version: tuple[tuple[int, ...], ...] = ()

    def refresh(self, client: Any, role: str, name: str) -> FolderIndex:
        """The folder's entries, reading only what changed since last time; the folder is selected afterwards."""
        cached = self.folders.setdefault(role, FolderIndex())
        selected = client.select_folder(name, readonly=True)  # STATUS may be stale for a selected folder: SELECT
        now = tuple(int(selected.get(item, 0)) for item in (b"EXISTS", b"UIDNEXT", b"UIDVALIDITY"))
        cached.modseq = int(selected.get(b"HIGHESTMODSEQ", 0) or 0)
        if now == cached.status and now[1] > 0:
            return cached
        uidvalidity = now[2]
        if uidvalidity != cached.uidvalidity:
            cached.entries, cached.states = {}, {}
            cached.listed_modseq = cached.states_modseq = 0
            cached.uidvalidity = uidvalidity
        uids = self._current_uids(client, cached)
        for gone in set(cached.entries) - uids:
            del cached.entries[gone]
            cached.states.pop(gone, None)
        missing = sorted(uids - set(cached.entries))
        attributes = [b"BODY.PEEK[HEADER]", b"INTERNALDATE"] + ([b"X-GM-THRID"] if self.gmail else [])
        for uid, data in fetch_chunked(client, missing, attributes).items():
            if HEADER not in data:
                continue
            cached.entries[uid] = IndexEntry(
                key=MessageKey(role, uidvalidity, uid),
                headers=parse_headers(data[HEADER]),
                date=aware(data.get(b"INTERNALDATE")),
                thrid=int(data[b"X-GM-THRID"]) if b"X-GM-THRID" in data else None,
            )
        cached.status = now
        cached.listed_modseq = cached.modseq
        return cached

    def _current_uids(self, client: Any, cached: FolderIndex) -> set[int]:
        """The folder's UIDs now (it is selected): from VANISHED and the new UIDs when QRESYNC allows, else listed."""
        if self.qresync and cached.listed_modseq and cached.modseq and cached.entries:
            gone = vanished_since(client, sorted(cached.entries), cached.listed_modseq)
            if gone is not None:
                known_next = cached.status[1]
                arrived = {uid for uid in client.search(["UID", f"{known_next}:*"]) if uid >= known_next}
                return (set(cached.entries) - gone) | arrived
        return set(client.search(["ALL"]))

    def states(self, client: Any, role: str, name: str, attributes: list[bytes]) -> dict[int, dict[bytes, Any]]:
        """FLAGS (and the other `attributes`) of every cached message of the folder, which is left selected; with
        HIGHESTMODSEQ only what changed since the last call is fetched (see the module docstring)."""
        folder = self.refresh(client, role, name)
        uids = sorted(folder.entries)
        if folder.modseq and folder.states_modseq:
            if folder.modseq != folder.states_modseq:
                changed = f"CHANGEDSINCE {folder.states_modseq}"
                folder.states.update(_kept(fetch_chunked(client, uids, attributes, modifiers=[changed]), attributes))
            unknown = [uid for uid in uids if uid not in folder.states]
        else:
            folder.states, unknown = {}, uids
        folder.states.update(_kept(fetch_chunked(client, unknown, attributes), attributes))
        folder.states_modseq = folder.modseq
        return folder.states

    def refresh_threads(self, client: Any, names: dict[str, str]) -> None:
        for role in THREAD_ROLES:
            if role in names:
                self.refresh(client, role, names[role])
        version = tuple(self.folders[role].status for role in THREAD_ROLES if role in self.folders)
        if self._threads is None or version != self._thread_version:
            items = [
                ThreadItem.from_headers(
                    entry.key.id,
                    message_id=entry.headers.message_id,
                    references=entry.headers.references,
                    in_reply_to=entry.headers.in_reply_to,
                    date=entry.date,
                )
                for role in THREAD_ROLES
                for entry in self.folders.get(role, FolderIndex()).entries.values()
            ]
            self._threads = ThreadIndex.build(items)
            self._thread_version = version

    def thread_of(self, entry: IndexEntry) -> str:
        """The thread id of a message (after `refresh_threads` when not on Gmail)."""
        if self.gmail and entry.thrid is not None:
            return f"{entry.thrid:x}"
        found = self._threads.thread_of(entry.key.id) if self._threads is not None else None
        if found is not None:
            return found
        item = ThreadItem.from_headers(
            entry.key.id,
            message_id=entry.headers.message_id,
            references=entry.headers.references,
            in_reply_to=entry.headers.in_reply_to,
            date=entry.date,
        )
        return thread_id_for(item.root_candidate)

    def members(self, thread_id: str) -> list[MessageKey]:
        """The messages of a thread, from the last `refresh_threads` (not used on Gmail)."""
        if self._threads is None:
            return []
        keys = set(self._threads.members(thread_id))
        return [
            entry.key
            for role in THREAD_ROLES
            for entry in self.folders.get(role, FolderIndex()).entries.values()
            if entry.key.id in keys
        ]

    def entry(self, key: MessageKey) -> IndexEntry | None:
        folder = self.folders.get(key.role)
        if folder is None or folder.uidvalidity != key.uidvalidity:
            return None
        return folder.entries.get(key.uid)


def fetch_chunked(
    client: Any, uids: list[int], attributes: list[bytes], *, modifiers: list[str] | None = None
) -> dict[int, dict[bytes, Any]]:
    """UID FETCH in slices of `CHUNK` UIDs, so no command line grows past what servers accept."""
    found: dict[int, dict[bytes, Any]] = {}
    for start in range(0, len(uids), CHUNK):
        found.update(client.fetch(uids[start : start + CHUNK], attributes, modifiers=modifiers))
    return found


def vanished_since(client: Any, uids: list[int], modseq: int) -> set[int] | None:
    """Which of `uids` were expunged after `modseq` (QRESYNC: `UID FETCH uids (UID) (CHANGEDSINCE n VANISHED)`
    answers `* VANISHED (EARLIER) …`); None when the answer cannot be read, so the caller lists the folder instead.

    imapclient does not parse VANISHED, so the untagged answers are taken from the imaplib connection under it,
    where imaplib files every untagged response by name."""
    untagged = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(untagged, dict):
        return None
    untagged.pop("VANISHED", None)
    gone: set[int] = set()
    for start in range(0, len(uids), CHUNK):
        client.fetch(uids[start : start + CHUNK], [b"UID"], modifiers=[f"CHANGEDSINCE {modseq}", "VANISHED"])
        for line in untagged.pop("VANISHED", []):
            text = line.decode("ascii", "replace") if isinstance(line, bytes) else str(line)
            gone |= uids_within(text.upper().removeprefix("(EARLIER)").strip(), uids)
    return gone


def uids_within(text: str, uids: list[int]) -> set[int]:
    """Which of the sorted `uids` an RFC 3501 UID set such as `1,3:5` names. A range is not expanded: a server may
    answer `1:4294967295`, and only the UIDs we know matter."""
    found: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition(":")
        try:
            low, high = sorted((int(first), int(last or first)))
        except ValueError:
            continue  # `*` or junk: names nothing we can use
        found.update(uids[bisect.bisect_left(uids, low) : bisect.bisect_right(uids, high)])
    return found


def _kept(found: dict[int, dict[bytes, Any]], attributes: list[bytes]) -> dict[int, dict[bytes, Any]]:
    return {uid: {name: data[name] for name in attributes if name in data} for uid, data in found.items()}


def aware(value: object) -> datetime:
    """An INTERNALDATE as a timezone-aware UTC datetime (now when the server sent none)."""
    if not isinstance(value, datetime):
        return datetime.now(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
