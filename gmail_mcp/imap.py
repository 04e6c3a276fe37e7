"""Any IMAP mailbox as a `MailBackend`: Gmail with an app password, Microsoft 365, Fastmail, Dovecot, any host.

- Reading never marks mail read: messages are fetched with `BODY.PEEK[]` and headers with `BODY.PEEK[HEADER]`.
- New mail (`changes`) is INBOX's UIDs above the cursor's (UIDVALIDITY and last UID in one number, see
  `imap_names`), asked as `UID SEARCH UID n:*` so a poll of a big folder transfers only the new UIDs; a cursor
  from another UIDVALIDITY (the server renumbered the folder) or a malformed one gives a full sync through the
  fallback query. Only arrivals matter here (read state does not), and UIDs name arrivals exactly; CONDSTORE and
  QRESYNC, where the server has them, serve the caches behind search and threads instead (`imap_index`: only the
  flags changed since the last look are fetched, expunges come from VANISHED).
- IDLE (`wait_for_mail`): when a caller of `list_new_messages` asks to wait (`wait_seconds`, which the daemon's
  `run` does) and nothing is new, a server that has IDLE watches INBOX on a second connection for up to that long,
  capped at `idle_wait` (GMAIL_IMAP_IDLE_WAIT), and the listing is taken again as soon as mail arrives. The daemon
  then polls again at once instead of sleeping, so new mail is drafted seconds after it arrives.
- Search evaluates the project's Gmail-query parser (`gmail_mcp.query`) on each message of INBOX, Sent, Drafts and
  Archive (Trash and Junk when asked), from cached headers and flags (kept current with CONDSTORE where the server
  has it); bodies are read only when a word needs them.
- Threads: `X-GM-THRID` on Gmail (X-GM-EXT-1), else References/In-Reply-To/Message-ID (`imap_index`).
- Drafts are APPENDed to the `\\Drafts` folder with `\\Draft \\Seen`; the id of a draft is its message id. A
  retried APPEND first looks for the draft's Message-ID, so a lost answer never leaves two drafts.
- Labels: UNREAD is `\\Seen` absent, STARRED is `\\Flagged`, INBOX/DRAFT/SENT/TRASH/SPAM follow the folder; user
  labels are `X-GM-LABELS` on Gmail and IMAP keywords elsewhere (escaped, see `imap_names`). Moving mail between
  folders is not offered (it would change the message's id); Dovecot's Maildir keeps at most 26 keywords a folder.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from gmail_mcp.backend import Changes, DraftRecord, RawMessage
from gmail_mcp.errors import InvalidInputError, MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.imap_connection import IdleWaiter, ImapConnection
from gmail_mcp.imap_index import ImapIndex, IndexEntry, aware, discover_folders
from gmail_mcp.imap_labels import labels_of, modify_labels, select_checked
from gmail_mcp.imap_names import ROLE_LABELS, Cursor, MessageKey, parse_cursor, parse_key
from gmail_mcp.maildir_drafts import check_draft
from gmail_mcp.maildir_files import body_text, header_block, parse_headers
from gmail_mcp.maildir_labels import FIXED_LABELS, checked_changes
from gmail_mcp.query import SearchDocument, parse_query

__all__ = ["ImapBackend"]

T = TypeVar("T")
SEARCHED = ("inbox", "sent", "drafts", "archive", "trash", "junk")
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
_MOVES = {"INBOX", "TRASH", "SPAM"}


class ImapBackend:
    """`MailBackend` over one IMAP account; see the module docstring."""

    def __init__(
        self,
        connection: ImapConnection,
        *,
        address: str,
        folders: dict[str, str | None] | None = None,
        idle_wait: float = 25.0,
    ) -> None:
        self.connection = connection
        self._address = address
        self._overrides = folders or {}
        self._names: dict[str, str] | None = None
        self._index: ImapIndex | None = None
        self.idle_wait = idle_wait
        self._waiter = IdleWaiter(connection.endpoint)

    # --- plumbing -----------------------------------------------------------------------------------------

    async def _run(self, label: str, job: Callable[[Any, dict[str, str], ImapIndex], T]) -> T:
        def prepared(client: Any) -> T:
            if self._names is None or self._index is None:
                self._names = discover_folders(client, self._overrides)
                self._index = ImapIndex(gmail=self.gmail)
            self._index.qresync = "QRESYNC" in self.connection.enabled
            return job(client, self._names, self._index)

        return await self.connection.run(prepared, label=label)

    @property
    def gmail(self) -> bool:
        """Whether the server is Gmail's (its X-GM-EXT-1 extension: thread ids and labels)."""
        return "X-GM-EXT-1" in self.connection.capabilities

    async def folders(self) -> dict[str, str]:
        """Folder names by role (inbox, drafts, sent, archive, trash, junk), as found on the server."""
        return await self._run("LIST", lambda _client, names, _index: dict(names))

    # --- the MailBackend protocol ---------------------------------------------------------------------------

    async def address(self) -> str:
        return self._address

    async def changes(self, cursor: str | None, *, fallback_query: str, limit: int) -> Changes:
        _check_limit(limit)
        parse_query(fallback_query, me=self._address)
        wanted = parse_cursor(cursor)
        return await self._run("new mail", lambda c, n, i: self._changes(c, n, i, wanted, fallback_query, limit))

    async def wait_for_mail(self, cursor: str, seconds: float) -> bool | None:
        """IDLE on INBOX until mail beyond `cursor` may be there or `min(seconds, idle_wait)` pass (`WaitsForMail`);
        None when IDLE is off (GMAIL_IMAP_IDLE_WAIT=0), the server has no IDLE or the cursor is not a current one."""
        wanted = parse_cursor(cursor)
        seconds = min(seconds, self.idle_wait)
        if wanted is None or seconds <= 0:
            return None
        return await self._waiter.wait(wanted.last_uid, seconds)

    async def search(self, query: str, *, limit: int, page_token: str | None = None) -> tuple[list[str], str | None]:
        _check_limit(limit)
        parse_query(query, me=self._address)  # a malformed query fails before any I/O
        offset = _page_offset(page_token)
        return await self._run("search", lambda c, n, i: self._search(c, n, i, query, limit, offset))

    async def fetch(self, message_id: str) -> RawMessage:
        key = parse_key(message_id)
        return await self._run("fetch", lambda c, n, i: self._fetch_keys(c, n, i, [key], strict=True)[0])

    async def fetch_thread(self, thread_id: str) -> list[RawMessage]:
        return await self._run("thread", lambda c, n, i: self._fetch_thread(c, n, i, thread_id))

    async def create_draft(self, thread_id: str | None, raw: bytes) -> DraftRecord:
        check_draft(raw)
        return await self._run("APPEND draft", lambda c, n, i: self._create_draft(c, n, i, thread_id, raw))

    async def list_drafts(self, *, limit: int) -> list[DraftRecord]:
        _check_limit(limit)
        return await self._run("drafts", lambda c, n, i: self._list_drafts(c, n, i, limit))

    async def draft_id(self, message_id: str) -> str:
        return message_id  # an IMAP draft is a message in the Drafts folder: one id for both

    async def modify(self, message_ids: list[str], *, add: list[str], remove: list[str]) -> list[str]:
        adding, removing = checked_changes(add, remove)
        fixed = [name for name in (*adding, *removing) if name in FIXED_LABELS | _MOVES]
        if fixed:
            raise InvalidInputError(
                f"{fixed[0]} follows the IMAP folder a message is in and cannot be added or removed here "
                "(moving a message would change its id)"
            )
        keys = [parse_key(message_id) for message_id in message_ids]
        return await self._run("STORE", lambda c, n, _i: modify_labels(c, n, keys, adding, removing, gmail=self.gmail))

    async def aclose(self) -> None:
        await self._waiter.aclose()
        await self.connection.aclose()

    # --- the work, in the connection's thread ---------------------------------------------------------------

    def _changes(
        self, client: Any, names: dict[str, str], index: ImapIndex, cursor: Cursor | None, query: str, limit: int
    ) -> Changes:
        status = client.select_folder("INBOX", readonly=True)
        uidvalidity = int(status[b"UIDVALIDITY"])
        after = cursor.last_uid if cursor is not None and cursor.uidvalidity == uidvalidity else 0
        # Only the UIDs above the cursor's, not the whole folder's; `n:*` also names the newest message when none is
        # above n (RFC 3501: `*` is the largest UID in use), hence the filter.
        uids = sorted(uid for uid in client.search(["UID", f"{after + 1}:*"]) if uid > after)
        top = max(int(status.get(b"UIDNEXT", 1)) - 1, uids[-1] if uids else 0)
        if cursor is None or cursor.uidvalidity != uidvalidity or cursor.last_uid > top:
            ids, _ = self._search(client, names, index, query, limit, 0)
            return Changes(message_ids=list(reversed(ids)), cursor=str(Cursor(uidvalidity, top)), full_sync=True)
        new = [uid for uid in uids if uid > cursor.last_uid][:limit]
        if not new:  # UIDs up to `top` not in INBOX now were expunged; mail arriving later gets a higher one
            return Changes(message_ids=[], cursor=str(Cursor(uidvalidity, top)), full_sync=False)
        keys = [MessageKey("inbox", uidvalidity, uid) for uid in new]
        if not self.gmail:
            index.refresh_threads(client, names)
        else:
            index.refresh(client, "inbox", names["inbox"])
        threads = {key.id: index.thread_of(entry) for key in keys if (entry := index.entry(key)) is not None}
        cursor = Cursor(uidvalidity, new[-1])
        return Changes(message_ids=[key.id for key in keys], cursor=str(cursor), full_sync=False, thread_ids=threads)

    def _fetch_keys(
        self, client: Any, names: dict[str, str], index: ImapIndex, keys: list[MessageKey], *, strict: bool
    ) -> list[RawMessage]:
        if not self.gmail:
            index.refresh_threads(client, names)
        attributes = [b"BODY.PEEK[]", b"FLAGS", b"INTERNALDATE"]
        attributes += [b"X-GM-THRID", b"X-GM-LABELS"] if self.gmail else []
        messages: list[RawMessage] = []
        for role in dict.fromkeys(key.role for key in keys):
            wanted = [key for key in keys if key.role == role]
            try:
                select_checked(client, names, role, wanted[0].uidvalidity)
            except MessageNotFoundError:
                if strict:
                    raise
                continue
            found = client.fetch([key.uid for key in wanted], attributes)
            for key in wanted:
                data = found.get(key.uid)
                if data is None or b"BODY[]" not in data:
                    if strict:
                        raise MessageNotFoundError(f"Message {key.id} does not exist in this IMAP mailbox")
                    continue
                raw = bytes(data[b"BODY[]"])
                entry = index.entry(key) or IndexEntry(
                    key=key,
                    headers=parse_headers(header_block(raw)),
                    date=aware(data.get(b"INTERNALDATE")),
                    thrid=int(data[b"X-GM-THRID"]) if b"X-GM-THRID" in data else None,
                )
                messages.append(
                    RawMessage(
                        id=key.id,
                        thread_id=index.thread_of(entry),
                        labels=labels_of(role, data.get(b"FLAGS", ()), data.get(b"X-GM-LABELS", ()), gmail=self.gmail),
                        raw=raw,
                        internal_date=entry.date,
                    )
                )
        return messages

    def _fetch_thread(self, client: Any, names: dict[str, str], index: ImapIndex, thread_id: str) -> list[RawMessage]:
        if self.gmail:
            try:
                thrid = int(thread_id, 16)
            except ValueError:
                raise MessageNotFoundError(f"Thread {thread_id} does not exist in this IMAP mailbox") from None
            keys: list[MessageKey] = []
            for role in ("inbox", "sent", "drafts"):
                if role in names:
                    status = client.select_folder(names[role], readonly=True)
                    uidvalidity = int(status[b"UIDVALIDITY"])
                    keys += [MessageKey(role, uidvalidity, uid) for uid in client.search(["X-GM-THRID", thrid])]
        else:
            index.refresh_threads(client, names)
            keys = index.members(thread_id)
        messages = self._fetch_keys(client, names, index, keys, strict=False)
        if not messages:
            raise MessageNotFoundError(f"Thread {thread_id} does not exist in this IMAP mailbox")
        return sorted(messages, key=lambda message: (message.internal_date, message.id))

    def _search(
        self, client: Any, names: dict[str, str], index: ImapIndex, query: str, limit: int, offset: int
    ) -> tuple[list[str], str | None]:
        parsed = parse_query(query, me=self._address)
        matching: list[tuple[datetime, str]] = []
        attributes = [b"FLAGS"] + ([b"X-GM-LABELS"] if self.gmail else [])
        for role in SEARCHED:
            if role not in names or (role in ("trash", "junk") and not parsed.include_spam_trash):
                continue
            state = index.states(client, role, names[role], attributes)
            for uid, entry in index.folders[role].entries.items():
                data = state.get(uid, {})
                labels = labels_of(role, data.get(b"FLAGS", ()), data.get(b"X-GM-LABELS", ()), gmail=self.gmail)
                document = SearchDocument(
                    folder=ROLE_LABELS.get(role),
                    labels=frozenset(labels),
                    date=entry.date,
                    from_=entry.headers.from_,
                    to=" ".join(filter(None, (entry.headers.to, entry.headers.cc, entry.headers.bcc))),
                    cc=entry.headers.cc,
                    bcc=entry.headers.bcc,
                    subject=entry.headers.subject,
                    message_id=entry.headers.message_id,
                    body=functools.partial(_body, client, uid),
                )
                if parsed.matches(document):
                    matching.append((entry.date, entry.key.id))
        matching.sort(reverse=True)
        page = [message_id for _date, message_id in matching[offset : offset + limit]]
        following = offset + limit
        return page, (str(following) if following < len(matching) else None)

    def _create_draft(
        self, client: Any, names: dict[str, str], index: ImapIndex, thread_id: str | None, raw: bytes
    ) -> DraftRecord:
        if "drafts" not in names:
            raise MailboxUnavailableError(
                "This IMAP mailbox has no Drafts folder (none marked \\Drafts, none named Drafts): create one, or "
                "name it with GMAIL_IMAP_DRAFTS_FOLDER"
            )
        if thread_id is not None and not self.gmail:
            index.refresh_threads(client, names)
            if not index.members(thread_id):
                raise MessageNotFoundError(
                    f"Thread {thread_id} does not exist in this IMAP mailbox, so no draft was saved"
                )
        rfc_id = parse_headers(header_block(raw)).message_id
        status = client.select_folder(names["drafts"], readonly=True)
        uidvalidity = int(status[b"UIDVALIDITY"])
        earlier = client.search(["HEADER", "Message-ID", rfc_id]) if rfc_id else []
        if earlier:  # an APPEND whose answer was lost before a retry: that draft is this one
            uid = max(earlier)
        else:
            answer = client.append(names["drafts"], raw, flags=(b"\\Draft", b"\\Seen"), msg_time=datetime.now(UTC))
            found = _APPENDUID.search(answer if isinstance(answer, bytes) else str(answer).encode())
            if found is not None:
                uidvalidity, uid = int(found.group(1)), int(found.group(2))
            else:  # no UIDPLUS: find it by its Message-ID
                client.select_folder(names["drafts"], readonly=True)
                uids = client.search(["HEADER", "Message-ID", rfc_id]) if rfc_id else []
                if not uids:
                    raise MailboxUnavailableError(
                        "The draft was saved but the IMAP server does not say under which UID"
                    )
                uid = max(uids)
        key = MessageKey("drafts", uidvalidity, uid)
        message = self._fetch_keys(client, names, index, [key], strict=True)[0]
        return DraftRecord(id=key.id, message=message)

    def _list_drafts(self, client: Any, names: dict[str, str], index: ImapIndex, limit: int) -> list[DraftRecord]:
        if "drafts" not in names:
            return []
        folder = index.refresh(client, "drafts", names["drafts"])
        newest = sorted(folder.entries.values(), key=lambda entry: (entry.date, entry.key.uid), reverse=True)[:limit]
        messages = self._fetch_keys(client, names, index, [entry.key for entry in newest], strict=False)
        order = {entry.key.id: position for position, entry in enumerate(newest)}
        messages.sort(key=lambda message: order.get(message.id, 0))
        return [DraftRecord(id=message.id, message=message) for message in messages]


def _body(client: Any, uid: int) -> str:
    data = client.fetch([uid], [b"BODY.PEEK[]"]).get(uid, {})
    raw = data.get(b"BODY[]")
    if not isinstance(raw, bytes):
        return ""
    try:
        return body_text(raw)
    except (LookupError, ValueError, IndexError, TypeError):
        return ""


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInputError(f"limit must be at least 1, not {limit}")


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInputError(f"page_token {token[:40]!r} is not one this mailbox gave: pass back next_page_token")
    return int(token)
