"""Maildir files: unique names, flags in file names, atomic delivery, and the headers and text of a message.

Other programs write the Maildir too (a mail server, mbsync, a mail client), so below the root nothing is trusted:
folders are opened one name at a time relative to their parent (`O_NOFOLLOW`, `dir_fd`) and files are checked to
be plain files before and after opening. A symbolic link (to a file, to another user's mail, to a FIFO or device)
in `cur/`, `new/`, `tmp/` or in place of a folder is never read, listed, renamed or written through; FIFOs,
sockets and devices are never opened. The root itself may be a link: the backend resolves it once when it opens.
"""

from __future__ import annotations

import contextlib
import email.errors
import errno
import os
import re
import secrets
import socket
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from gmail_mcp.mail_headers import repair_header_block
from gmail_mcp.threads import normalize_message_id
from support_core.html_text import html_to_text

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
    "SpecialFileError",
    "body_text",
    "deliver_message",
    "file_name",
    "header_block",
    "make_folder",
    "new_unique_name",
    "opened_folder",
    "parse_headers",
    "read_file",
    "rename_file",
    "sorted_flags",
    "special_file_error",
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


# --- opening files and folders without following links -----------------------------------------------------


class SpecialFileError(OSError):
    """A symbolic link, FIFO, socket or device (or a file where a folder belongs) inside the Maildir: it is never
    followed, opened, renamed or written through. `filename` names it and `strerror` says what it is."""


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK, errno.ENOTDIR, errno.ENXIO)
"""What opening a link with O_NOFOLLOW (ELOOP; EMLINK on FreeBSD), or a non-folder with O_DIRECTORY, fails with."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a plain file" if stat.S_ISREG(mode) else "an unknown kind of file"


def special_file_error(path: Path | str, mode: int, wanted: str) -> SpecialFileError:
    """The error for `path` (of the type in `mode`, from lstat) found where a `wanted` thing belongs ("plain file"
    or "folder")."""
    code = errno.ELOOP if stat.S_ISLNK(mode) else errno.ENOTDIR if wanted == "folder" else errno.EINVAL
    return SpecialFileError(code, f"{_kind(mode)}, not a {wanted}", str(path))


def _open_child(parent: int, name: str, where: Path) -> int:
    """A descriptor for the folder `name` in the folder `parent`, refusing a link or anything but a folder."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS:
            raise
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):  # replaced by a real folder meanwhile
            raise
        raise special_file_error(where / name, mode, "folder") from None


@contextlib.contextmanager
def opened_folder(root: Path, *names: str) -> Iterator[int]:
    """A descriptor for the folder `root/names...`: the root as given, then each name (`""` is skipped) relative to
    its parent without following links. Raises FileNotFoundError, or SpecialFileError for a link or non-folder."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    where = Path(root)
    try:
        for name in names:
            if name:
                child = _open_child(fd, name, where)
                os.close(fd)
                fd, where = child, where / name
        yield fd
    finally:
        os.close(fd)


def read_file(root: Path, folder: str, subdir: str, name: str, limit: int = -1) -> bytes:
    """The bytes (at most `limit`) of the message file `root/folder/subdir/name`, which must be a plain file: a link
    (the file or any folder below `root`), FIFO, socket or device raises SpecialFileError and is never opened, so
    reading never blocks."""
    path = Path(root, folder, subdir, name)
    with opened_folder(root, folder, subdir) as parent:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            raise special_file_error(path, mode, "plain file")
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in _LINK_ERRNOS:
                raise
            raise special_file_error(path, stat.S_IFLNK, "plain file") from None  # replaced meanwhile
    with open(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # replaced between the two looks
            raise special_file_error(path, mode, "plain file")
        return file.read(limit)


def rename_file(root: Path, source: tuple[str, str, str], target: tuple[str, str, str], *, replace: bool) -> None:
    """Rename the plain file `root/folder/subdir/name` given by `source` to `target`, in folders opened without
    following links; a link or special file is never renamed (SpecialFileError). FileExistsError when the target
    exists and `replace` is false."""
    with opened_folder(root, *source[:2]) as old, opened_folder(root, *target[:2]) as new:
        mode = os.stat(source[2], dir_fd=old, follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            raise special_file_error(Path(root, *source), mode, "plain file")
        if not replace:
            with contextlib.suppress(FileNotFoundError):
                os.stat(target[2], dir_fd=new, follow_symlinks=False)
                raise FileExistsError(errno.EEXIST, "already exists", str(Path(root, *target)))
        os.rename(source[2], target[2], src_dir_fd=old, dst_dir_fd=new)


def make_folder(root: Path, folder: str = INBOX) -> None:
    """Create the Maildir folder `root/folder` with `cur/`, `new/` and `tmp/` (mode 0700) where missing, never
    through a link (the root itself may be one). After creating what it can, raises SpecialFileError for the first
    part that is a link or not a folder."""
    Path(root).mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder:
        with opened_folder(root) as top, contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700, dir_fd=top)
    with opened_folder(root, folder) as base:
        problem: SpecialFileError | None = None
        for sub in ("cur", "new", "tmp"):
            with contextlib.suppress(FileExistsError):
                os.mkdir(sub, 0o700, dir_fd=base)
            try:
                os.close(_open_child(base, sub, Path(root, folder)))
            except SpecialFileError as exc:
                problem = problem or exc
        if problem is not None:
            raise problem


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
    nothing visible or the whole message. `mtime` sets the delivery time (seconds since 1970). Nothing is written
    through a link: a linked folder raises SpecialFileError and nothing is stored.
    """
    if folder and (not folder.startswith(".") or "/" in folder or folder in (".", "..", STATE_DIR)):
        raise ValueError(f"not a Maildir++ folder name: {folder!r}")
    if not re.fullmatch(r"[A-Za-z]*", flags):
        raise ValueError(f"Maildir flags are letters: {flags!r}")
    make_folder(root, folder)
    unique = unique or new_unique_name()
    subdir = "cur" if flags else "new"
    with opened_folder(root, folder, "tmp") as tmp, opened_folder(root, folder, subdir) as target:
        fd = os.open(unique, _NEW_FILE_FLAGS, 0o600, dir_fd=tmp)
        try:
            try:
                view = memoryview(raw)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if mtime is not None:
                    os.utime(fd, (mtime, mtime))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(unique, file_name(unique, sorted_flags(flags), subdir), src_dir_fd=tmp, dst_dir_fd=target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(unique, dir_fd=tmp)
            raise
        os.fsync(target)
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
    # the same repair as get_message: an obsolete "From :" line must not end the header block here either
    message: Message = BytesHeaderParser(policy=policy.compat32).parsebytes(repair_header_block(head))
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
    """The decoded text/plain parts of a message (the HTML as text, `support_core.html_text`, when there is none)."""
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
    return html_to_text("\n".join(markup))
