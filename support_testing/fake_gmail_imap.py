"""A loopback fake of Gmail's IMAP server: just enough IMAP4rev1 plus Gmail's X-GM-EXT-1 for the IMAP backend.

Dovecot (support_testing.dovecot) is the real server every other IMAP test uses; it cannot serve Gmail's own
extensions, and only these are what this fake is for:
- `X-GM-THRID`: Gmail's conversation id. The fake groups messages as Gmail does (a reply joins the thread of the
  message it references) and can also put messages with no threading headers into one conversation, which only a
  client reading X-GM-THRID can see (`UID SEARCH X-GM-THRID n` and the FETCH attribute).
- `X-GM-LABELS`: labels as Gmail stores them (`UID STORE +X-GM-LABELS/-X-GM-LABELS`, the FETCH attribute); a new
  label also appears as a folder in LIST, as on Gmail.
- `X-GM-MSGID` is answered in FETCH for completeness; the backend does not use it (its ids are folder + UID).
Commands: CAPABILITY, LOGIN, LIST, SELECT, EXAMINE, STATUS, UID SEARCH (ALL, UID set, HEADER, X-GM-THRID),
UID FETCH, UID STORE (FLAGS and X-GM-LABELS, with +/-), APPEND (with APPENDUID), NOOP, LOGOUT. No IDLE, no TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["FakeGmailImap", "GmailFolder", "StoredMail", "serve_fake_gmail"]

PASSWORD = "app-password"
FOLDERS = {
    "INBOX": "",
    "[Gmail]/Drafts": "\\Drafts",
    "[Gmail]/Sent Mail": "\\Sent",
    "[Gmail]/All Mail": "\\All",
    "[Gmail]/Trash": "\\Trash",
    "[Gmail]/Spam": "\\Junk",
}
_TOKEN = re.compile(rb'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+')
_IDS = re.compile(rb"<[^<>\s]+>")


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str]
    labels: set[str]
    thrid: int
    msgid: int
    date: datetime


@dataclass
class GmailFolder:
    name: str
    uidvalidity: int
    messages: dict[int, StoredMail] = field(default_factory=dict)
    next_uid: int = 1


class FakeGmailImap:
    """The mailbox state and the protocol; `deliver` puts mail in like Gmail's MX would."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.folders = {name: GmailFolder(name, 700 + index) for index, name in enumerate(FOLDERS)}
        self.user_labels: set[str] = set()
        self.commands: list[str] = []
        self._ids = itertools.count(1_750_000_000_000_000_001)
        self._threads: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def deliver(
        self, raw: bytes, *, folder: str = "INBOX", flags: tuple[str, ...] = (), thread: int | None = None
    ) -> int:
        """Store a message; returns its X-GM-THRID. `thread` forces a conversation (as Gmail's subject grouping)."""
        with self._lock:
            return self._store(folder, raw, set(flags), thread).thrid

    def _store(self, folder: str, raw: bytes, flags: set[str], thread: int | None) -> StoredMail:
        head = raw.split(b"\r\n\r\n", 1)[0]
        own = re.search(rb"(?im)^message-id:\s*(<[^>]+>)", head)
        parents = _IDS.findall(b" ".join(re.findall(rb"(?im)^(?:references|in-reply-to):(.*)$", head)))
        thrid = thread or next((self._threads[p] for p in parents if p in self._threads), None) or next(self._ids)
        if own:
            self._threads.setdefault(own.group(1), thrid)
        box = self.folders[folder]
        labels = {"\\Inbox"} if folder == "INBOX" else set()
        mail = StoredMail(box.next_uid, raw, flags, labels, thrid, next(self._ids), datetime.now(UTC))
        box.messages[mail.uid] = mail
        box.next_uid += 1
        return mail

    # --- the protocol ---------------------------------------------------------------------------------------

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        selected: GmailFolder | None = None
        writer.write(b"* OK [CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS SPECIAL-USE] Gimap ready\r\n")
        while True:
            line = await _command_line(reader, writer)
            if line is None:
                break
            tag, _, rest = line.partition(b" ")
            words = _tokens(rest)
            name = words[0].upper().decode() if words else ""
            if name == "UID" and len(words) > 1:
                name = "UID " + words[1].upper().decode()
                words = words[1:]
            self.commands.append(name)
            with self._lock:
                try:
                    untagged, status, selected = self._answer(name, words[1:], selected)
                except (ValueError, IndexError, KeyError) as exc:
                    untagged, status = [], f"BAD {exc}".encode()
            writer.write(b"".join(untagged) + tag + b" " + status + b"\r\n")
            await writer.drain()
            if name == "LOGOUT":
                break
        writer.close()

    def _answer(self, name: str, args: list[bytes], selected: GmailFolder | None) -> tuple[list[bytes], bytes, Any]:
        if name == "CAPABILITY":
            return [b"* CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS SPECIAL-USE\r\n"], b"OK done", selected
        if name == "LOGIN":
            if _text(args[0]) == self.user and _text(args[1]) == PASSWORD:
                return [], b"OK [CAPABILITY IMAP4rev1 X-GM-EXT-1 UIDPLUS SPECIAL-USE] logged in", selected
            return [], b"NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", selected
        if name in ("NOOP", "LOGOUT"):
            return ([b"* BYE\r\n"] if name == "LOGOUT" else []), b"OK done", selected
        if name == "LIST":
            lines = [
                f'* LIST (\\HasNoChildren{" " + use if use else ""}) "/" "{box}"\r\n'.encode()
                for box, use in {**FOLDERS, **dict.fromkeys(sorted(self.user_labels), "")}.items()
            ]
            return lines, b"OK done", selected
        if name in ("SELECT", "EXAMINE", "STATUS"):
            box = self.folders.get(_text(args[0]))
            if box is None:
                return [], b"NO no such folder", selected
            if name == "STATUS":
                status = f"MESSAGES {len(box.messages)} UIDNEXT {box.next_uid} UIDVALIDITY {box.uidvalidity}"
                return [f'* STATUS "{box.name}" ({status})\r\n'.encode()], b"OK done", selected
            lines = [
                f"* {len(box.messages)} EXISTS\r\n* 0 RECENT\r\n".encode(),
                b"* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n",
                b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen \\*)] ok\r\n",
                f"* OK [UIDVALIDITY {box.uidvalidity}] ok\r\n* OK [UIDNEXT {box.next_uid}] ok\r\n".encode(),
            ]
            mode = b"READ-ONLY" if name == "EXAMINE" else b"READ-WRITE"
            return lines, b"OK [" + mode + b"] selected", box
        if name == "APPEND":
            box = self.folders[_text(args[0])]
            flags = {_text(flag) for flag in args[args.index(b"(") + 1 : args.index(b")")]} if b"(" in args else set()
            mail = self._store(box.name, args[-1], flags, None)
            return [], f"OK [APPENDUID {box.uidvalidity} {mail.uid}] APPEND complete".encode(), selected
        if selected is None:
            return [], b"BAD no folder selected", selected
        if name == "UID SEARCH":
            found = [str(uid).encode() for uid in self._search(selected, args)]
            return [b"* SEARCH " + b" ".join(found) + b"\r\n"], b"OK done", selected
        if name == "UID FETCH":
            return self._fetch(selected, args), b"OK done", selected
        if name == "UID STORE":
            return self._store_flags(selected, args), b"OK done", selected
        return [], b"BAD unknown command", selected

    def _search(self, box: GmailFolder, args: list[bytes]) -> list[int]:
        words = [arg for arg in args if arg.upper() not in (b"CHARSET", b"UTF-8", b"US-ASCII")]
        uids = sorted(box.messages)
        if not words or words[0].upper() == b"ALL":
            return uids
        key = words[0].upper()
        if key == b"UID":
            return [uid for uid in _uid_set(words[1], uids) if uid in box.messages]
        if key == b"X-GM-THRID":
            return [uid for uid in uids if box.messages[uid].thrid == int(words[1])]
        if key == b"HEADER":
            name, value = _text(words[1]).lower().encode(), _text(words[2]).encode()
            pattern = re.compile(rb"(?im)^" + re.escape(name) + rb":[^\r\n]*" + re.escape(value))
            return [uid for uid in uids if pattern.search(box.messages[uid].raw.split(b"\r\n\r\n", 1)[0])]
        raise ValueError(f"the fake does not search by {key!r}")

    def _fetch(self, box: GmailFolder, args: list[bytes]) -> list[bytes]:
        wanted = b" ".join(args[1:]).upper()
        lines = []
        for sequence, uid in enumerate(_uid_set(args[0], sorted(box.messages)), start=1):
            mail = box.messages.get(uid)
            if mail is None:
                continue
            parts = [b"UID %d" % uid]
            if b"FLAGS" in wanted:
                parts.append(b"FLAGS (" + " ".join(sorted(mail.flags)).encode() + b")")
            if b"INTERNALDATE" in wanted:
                parts.append(b'INTERNALDATE "' + mail.date.strftime("%d-%b-%Y %H:%M:%S +0000").encode() + b'"')
            if b"X-GM-THRID" in wanted:
                parts.append(b"X-GM-THRID %d" % mail.thrid)
            if b"X-GM-MSGID" in wanted:
                parts.append(b"X-GM-MSGID %d" % mail.msgid)
            if b"X-GM-LABELS" in wanted:
                parts.append(b"X-GM-LABELS (" + b" ".join(_quoted(label) for label in sorted(mail.labels)) + b")")
            if b"BODY.PEEK[HEADER]" in wanted:
                head = mail.raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                parts.append(b"BODY[HEADER] {%d}\r\n" % len(head) + head)
            elif b"BODY.PEEK[]" in wanted:
                parts.append(b"BODY[] {%d}\r\n" % len(mail.raw) + mail.raw)
            lines.append(b"* %d FETCH (" % sequence + b" ".join(parts) + b")\r\n")
        return lines

    def _store_flags(self, box: GmailFolder, args: list[bytes]) -> list[bytes]:
        action = args[1].upper()
        values = {_text(value) for value in args[2:] if value not in (b"(", b")")}
        for uid in _uid_set(args[0], sorted(box.messages)):
            mail = box.messages.get(uid)
            if mail is None:
                continue
            target = mail.labels if b"X-GM-LABELS" in action else mail.flags
            if action.startswith(b"+"):
                target |= values
                if b"X-GM-LABELS" in action:
                    self.user_labels |= {value for value in values if not value.startswith("\\")}
            elif action.startswith(b"-"):
                target -= values
            else:
                target.clear()
                target |= values
        return []


async def _command_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes | None:
    """One command with its literals inlined as quoted-free raw tokens (`{n}` followed by the bytes)."""
    line = await reader.readline()
    if not line:
        return None
    whole = b""
    while True:
        literal = re.search(rb"\{(\d+)\+?\}\r\n$", line)
        if literal is None:
            return whole + line.rstrip(b"\r\n")
        writer.write(b"+ go ahead\r\n")
        await writer.drain()
        data = await reader.readexactly(int(literal.group(1)))
        whole += line[: literal.start()] + b"\x00LITERAL" + data.hex().encode() + b"\x00"
        line = await reader.readline()


def _tokens(text: bytes) -> list[bytes]:
    out: list[bytes] = []
    for piece in re.split(rb"(\x00LITERAL[0-9a-f]*\x00)", text):
        if piece.startswith(b"\x00LITERAL"):
            out.append(bytes.fromhex(piece[8:-1].decode()))
        else:
            out.extend(match.group(0) for match in _TOKEN.finditer(piece))
    return out


def _text(token: bytes) -> str:
    if token.startswith(b'"') and token.endswith(b'"'):
        token = re.sub(rb"\\(.)", rb"\1", token[1:-1])
    return token.decode("utf-8", "replace")


def _quoted(value: str) -> bytes:
    return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def _uid_set(spec: bytes, known: list[int]) -> list[int]:
    top = known[-1] if known else 0
    uids: list[int] = []
    for part in spec.decode().split(","):
        low, _, high = part.partition(":")
        start = top if low == "*" else int(low)
        end = start if not high else (top if high == "*" else int(high))
        uids.extend(range(min(start, end), max(start, end) + 1))
    return uids


@contextlib.contextmanager
def serve_fake_gmail(fake: FakeGmailImap) -> Iterator[int]:
    """Run the fake on 127.0.0.1 in a thread of its own; yields the port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def start() -> asyncio.AbstractServer:
        server = await asyncio.start_server(fake.session, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        return server

    server = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        ready.wait(10)
        yield port[0]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
