"""Names on an IMAP mailbox: message ids, sync cursors, folder roles and labels written as IMAP keywords.

Message ids are `<folder code>.<UIDVALIDITY>.<UID>`, numbers padded to 10 digits (`i.1796425073.0000000042`): a
UID names a message only within one folder and one UIDVALIDITY, so the id carries both, and stays valid as long as
the message stays in its folder. The padding makes ids sort as the folder's arrival order (the orchestrator's
ledger hands out messages seen together in id order).
A cursor is one decimal number, `UIDVALIDITY * 2**32 + last UID seen in INBOX` (the orchestrator's ledger stores
cursors as numbers and keeps only one that is ahead; RFC 3501 section 2.3.1.1 makes a new UIDVALIDITY greater than
the old one, so a cursor never goes back).

User labels become IMAP keywords (RFC 3501 flag atoms) with a reversible escape: letters, digits and `/ . _ -`
stay as they are, every other character becomes `+` and two upper-case hex digits per UTF-8 byte
(`Needs review` -> `Needs+20review`, `+` itself -> `+2B`). Keywords starting with `$` (`$Forwarded`, `$MDNSent`,
set by mail clients) and `\\` (system flags) are never labels; an escaped label never starts with either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gmail_mcp.errors import InvalidInputError, MessageNotFoundError

__all__ = [
    "FOLDER_CODES",
    "ROLE_LABELS",
    "Cursor",
    "MessageKey",
    "keyword_of",
    "label_of_keyword",
    "parse_cursor",
    "parse_key",
]

ROLES = ("inbox", "drafts", "sent", "archive", "trash", "junk")
FOLDER_CODES = {"inbox": "i", "drafts": "d", "sent": "s", "archive": "a", "trash": "t", "junk": "j"}
_ROLE_OF_CODE = {code: role for role, code in FOLDER_CODES.items()}
ROLE_LABELS = {"inbox": "INBOX", "drafts": "DRAFT", "sent": "SENT", "trash": "TRASH", "junk": "SPAM"}
"""The Gmail system label a folder gives its messages (archived mail has none, as on Gmail)."""
SPECIAL_USE = {r"\Drafts": "drafts", r"\Sent": "sent", r"\Archive": "archive", r"\All": "archive"}
SPECIAL_USE |= {r"\Trash": "trash", r"\Junk": "junk"}
FALLBACK_NAMES = {
    "drafts": ("Drafts", "INBOX.Drafts", "[Gmail]/Drafts"),
    "sent": ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent", "[Gmail]/Sent Mail"),
    "archive": ("Archive", "INBOX.Archive", "[Gmail]/All Mail"),
    "trash": ("Trash", "Deleted Items", "INBOX.Trash", "[Gmail]/Trash"),
    "junk": ("Junk", "Spam", "Junk Email", "INBOX.Junk", "[Gmail]/Spam"),
}
"""Folder names tried, in order, when the server does not mark its folders with SPECIAL-USE (RFC 6154)."""

_KEY = re.compile(r"^([a-z])\.(\d{1,10})\.(\d{1,10})$")
_CURSOR = re.compile(r"^\d{1,20}$")
_PLAIN = re.compile(r"[A-Za-z0-9/._-]")
_ESCAPED = re.compile(r"\+([0-9A-F]{2})")
MAX_UID = 2**32 - 1


@dataclass(frozen=True)
class MessageKey:
    """Where a message lives: a folder role, the folder's UIDVALIDITY, and the UID."""

    role: str
    uidvalidity: int
    uid: int

    @property
    def id(self) -> str:
        return f"{FOLDER_CODES[self.role]}.{self.uidvalidity:010d}.{self.uid:010d}"


def parse_key(message_id: str) -> MessageKey:
    """The folder and UID of a message id; `MessageNotFoundError` for an id this backend never gave."""
    found = _KEY.match(message_id.strip())
    role = _ROLE_OF_CODE.get(found.group(1)) if found else None
    if found is None or role is None:
        raise MessageNotFoundError(f"Message {message_id[:60]!r} does not exist in this IMAP mailbox")
    uidvalidity, uid = int(found.group(2)), int(found.group(3))
    if not (0 < uidvalidity <= MAX_UID and 0 < uid <= MAX_UID):
        raise MessageNotFoundError(f"Message {message_id[:60]!r} does not exist in this IMAP mailbox")
    return MessageKey(role, uidvalidity, uid)


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int

    def __str__(self) -> str:
        return str((self.uidvalidity << 32) | self.last_uid)


def parse_cursor(cursor: str | None) -> Cursor | None:
    """A cursor this backend gave, or None (missing or malformed: the caller does a full sync)."""
    if not cursor or _CURSOR.match(cursor.strip()) is None:
        return None
    uidvalidity, last_uid = divmod(int(cursor.strip()), 1 << 32)
    return Cursor(uidvalidity, last_uid) if uidvalidity <= MAX_UID else None


def keyword_of(label: str) -> str:
    """The IMAP keyword for a user label (see the module docstring); the label must not be empty."""
    if not label:
        raise InvalidInputError("A label name is empty")
    out = []
    for char in label:
        if _PLAIN.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"+{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def label_of_keyword(keyword: str) -> str | None:
    """The user label a keyword stands for, or None for system flags and clients' `$` keywords."""
    if not keyword or keyword[0] in "\\$":
        return None
    try:
        data = _ESCAPED.sub(lambda match: "\0" + match.group(1), keyword)
        pieces = data.split("\0")
        raw = bytearray(pieces[0].encode("utf-8"))
        for piece in pieces[1:]:
            raw.append(int(piece[:2], 16))
            raw.extend(piece[2:].encode("utf-8"))
        return raw.decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return keyword
