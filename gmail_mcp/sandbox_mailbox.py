"""The demo inbox: installs the project's hand-written sandbox mail (`gmail_mcp/sandbox/`) into a fresh Maildir."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from gmail_mcp.maildir import SENT, STATE_DIR, deliver_message

__all__ = ["SANDBOX_DIR", "install_sandbox_mailbox", "sandbox_files"]

SANDBOX_DIR = Path(__file__).parent / "sandbox"
"""`*.eml` here arrive in INBOX; `sent/*.eml` are the shop's own earlier messages (`.Sent`, read)."""

_RFC2822_DATE = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    rb"\d{2}:\d{2}:\d{2} [+-]\d{4}"
)
_NEWEST_AGE = timedelta(minutes=20)


def sandbox_files() -> tuple[list[Path], list[Path]]:
    """(inbox files, sent files), each in their stable order (by name, which is also their date order)."""
    return sorted(SANDBOX_DIR.glob("*.eml")), sorted((SANDBOX_DIR / "sent").glob("*.eml"))


def _date_of(raw: bytes) -> datetime:
    found = re.search(rb"^Date: (.+)$", raw, re.MULTILINE)
    if found is None:
        raise ValueError("a sandbox message has no Date header")
    return parsedate_to_datetime(found.group(1).decode("ascii").strip())


def _shift_dates(raw: bytes, shift: timedelta) -> bytes:
    """Every RFC 2822 date in the message moved by `shift`, keeping each one's time zone."""

    def moved(match: re.Match[bytes]) -> bytes:
        return format_datetime(parsedate_to_datetime(match.group(0).decode("ascii")) + shift).encode("ascii")

    return _RFC2822_DATE.sub(moved, raw)


def _has_mail(target: Path) -> bool:
    if not target.is_dir():
        return False
    folders = [target, *(item for item in target.iterdir() if item.name.startswith(".") and item.name != STATE_DIR)]
    for folder in folders:
        for subdir in (folder / "new", folder / "cur"):
            if subdir.is_dir() and any(not item.name.startswith(".") for item in subdir.iterdir()):
                return True
    return False


def install_sandbox_mailbox(target: Path, *, now: datetime | None = None) -> int:
    """Copy the sandbox mail into the Maildir `target` and return how many messages were installed.

    Inbox mail lands in `new/` (unread, as a mail server delivers it) and the shop's own message in `.Sent/cur`
    with the `S` flag, so the Spanish thread shows both sides. Dates are moved so the newest message is from 20
    minutes before `now`, keeping their spacing: the mail matches the sandbox store, whose dates are relative.
    File times follow the dates, strictly increasing in a stable order. Does nothing (returns 0) when `target`
    already holds mail, so it is safe to call on every start.
    """
    target = Path(target)
    if _has_mail(target):
        return 0
    inbox, sent = sandbox_files()
    messages = [(path, path.read_bytes(), path in sent) for path in [*sent, *inbox]]
    dates = {path: _date_of(raw) for path, raw, _ in messages}
    shift = (now or datetime.now(UTC)) - _NEWEST_AGE - max(dates.values())
    shift = timedelta(seconds=int(shift.total_seconds()))
    messages.sort(key=lambda item: (dates[item[0]], item[0].name))
    last_mtime = 0.0
    for index, (path, raw, outgoing) in enumerate(messages):
        mtime = max((dates[path] + shift).timestamp(), last_mtime + 1)
        last_mtime = mtime
        deliver_message(
            target,
            _shift_dates(raw, shift),
            folder=SENT if outgoing else "",
            flags="S" if outgoing else "",
            mtime=mtime,
            unique=f"{int(mtime)}.M{index:02d}P{os.getpid()}.aurora-sandbox",
        )
    return len(messages)
