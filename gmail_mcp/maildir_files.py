"""Maildir files: unique names, flags in file names, atomic delivery, and the headers and text of a message."""

from __future__ import annotations

import contextlib
import email.errors
import html
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from gmail_mcp.threads import normalize_message_id

__all__ = [
    "ARCHIVE",
    "DRAFTS",
    "INBOX",
    "JUNK",
    "SENT",
    "STATE_DIR",
    "TRASH",
    "Entry",
    "Headers",
    "body_text",
    "deliver_message",
    "file_name",
    "header_block",
    "make_folder",
    "new_unique_name",
    "parse_headers",
    "sorted_flags",
    "split_name",
]

INBOX = ""
"""The root folder."""
DRAFTS, SENT, ARCHIVE, TRASH, JUNK = ".Drafts", ".Sent", ".Archive", ".Trash", ".Junk"
STATE_DIR = ".support-agent"

_FOLDER_LABELS = {
    INBOX: "INBOX",
    DRAFTS: "DRAFT",
    SENT: "SENT",
    ".Sent Messages": "SENT",
    ".Sent Items": "SENT",
    TRASH: "TRASH",
    ".Deleted Items": "TRASH",
    ".Deleted Messages": "TRASH",
    JUNK: "SPAM",
    ".Spam": "SPAM",
}
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_UNIQUE_TIME = re.compile(r"^(\d{9,11})\.")


# --- Maildir names ------------------------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """A Maildir file name as (unique name, flags): `123.M4P5.host:2,FS` gives ('123.M4P5.host', 'FS')."""
    unique, _, info = name.partition(":")
    flags = info[2:] if info.startswith("2,") else ""
    return unique, flags


def file_name(unique: str, flags: str, subdir: str) -> str:
    return f"{unique}:2,{flags}" if subdir == "cur" else unique


def sorted_flags(flags: Iterable[str]) -> str:
    return "".join(sorted(set(flags)))


_counter = 0
_counter_lock = threading.Lock()


def new_unique_name() -> str:
    """A fresh Maildir unique name: `seconds.M<microseconds>P<pid>Q<counter>R<random>.<host>`."""
    global _counter
    with _counter_lock:
        _counter += 1
        count = _counter
    now = time.time()
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    return f"{int(now)}.M{int(now % 1 * 1_000_000)}P{os.getpid()}Q{count}R{secrets.token_hex(4)}.{host}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_folder(base: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (base / sub).mkdir(mode=0o700, parents=True, exist_ok=True)


def deliver_message(
    root: Path,
    raw: bytes,
    *,
    folder: str = INBOX,
    flags: str = "",
    mtime: float | None = None,
    unique: str | None = None,
) -> str:
    """Store `raw` in a Maildir folder the Maildir way and return its unique name.

    The bytes go to `tmp/`, are flushed and fsynced, then renamed into `new/` (no flags: unseen mail, as a mail
    server delivers it) or `cur/` with the flags; the directory is fsynced. A crash at any point leaves either
    nothing visible or the whole message. `mtime` sets the delivery time (seconds since 1970).
    """
    if folder and (not folder.startswith(".") or "/" in folder or folder in (".", "..", STATE_DIR)):
        raise ValueError(f"not a Maildir++ folder name: {folder!r}")
    if not re.fullmatch(r"[A-Za-z]*", flags):
        raise ValueError(f"Maildir flags are letters: {flags!r}")
    base = root / folder if folder else root
    make_folder(base)
    unique = unique or new_unique_name()
    tmp = base / "tmp" / unique
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(raw)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        subdir = "cur" if flags else "new"
        os.rename(tmp, base / subdir / file_name(unique, sorted_flags(flags), subdir))
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(base / subdir)
    return unique


# --- what the backend knows about each file -----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: str
    folder: str
    subdir: str
    name: str
    flags: str
    mtime: float
    size: int
    base: Path

    @property
    def path(self) -> Path:
        return self.base / self.subdir / self.name

    @property
    def location(self) -> str | None:
        """INBOX, DRAFT, SENT, TRASH or SPAM; None for `.Archive` and other folders."""
        return _FOLDER_LABELS.get(self.folder)

    @property
    def internal_date(self) -> datetime:
        seconds = self.mtime
        if seconds < 100_000_000:  # a file time of 1970: use the delivery time in the unique name
            found = _UNIQUE_TIME.match(self.id)
            seconds = float(found.group(1)) if found else max(seconds, 0.0)
        return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Headers:
    message_id: str | None
    references: str
    in_reply_to: str
    subject: str
    from_: str
    to: str
    cc: str
    bcc: str


def _decode(value: str) -> str:
    """A header value as readable text: RFC 2047 words decoded, raw 8-bit kept (UTF-8, else Latin-1), unfolded."""
    if not value:
        return ""
    raw = value.encode("utf-8", "surrogateescape")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    with contextlib.suppress(email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        text = str(make_header(decode_header(text)))
    return " ".join(text.split())


def parse_headers(head: bytes) -> Headers:
    """The headers threading and search need, from the raw header block (never raises on malformed input)."""
    message: Message = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    values: dict[str, str] = {}
    for name, value in message.raw_items():  # raw strings: 8-bit bytes kept as surrogates
        values.setdefault(name.lower(), value if isinstance(value, str) else str(value))

    def first(name: str) -> str:
        return values.get(name, "")

    return Headers(
        message_id=normalize_message_id(first("message-id")),
        references=first("references"),
        in_reply_to=first("in-reply-to"),
        subject=_decode(first("subject")),
        from_=_decode(first("from")),
        to=_decode(first("to")),
        cc=_decode(first("cc")),
        bcc=_decode(first("bcc")),
    )


def header_block(data: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = data.find(separator)
        if end >= 0:
            return data[: end + len(separator)]
    return data


def body_text(raw: bytes) -> str:
    """The decoded text/plain parts of a message (HTML with the tags removed when there is no plain text)."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    plain: list[str] = []
    markup: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if isinstance(content, str):
            (plain if kind == "text/plain" else markup).append(content)
    if plain:
        return "\n".join(plain)
    return html.unescape(_TAGS.sub(" ", "\n".join(markup)))
