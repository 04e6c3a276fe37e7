"""What the Gmail tools do, over any backend: parse messages, build threads, create idempotent reply drafts.

Reads are paid once per pass. get_message reads the message as stored and get_thread reads the whole thread (one
call), and both always ask the mailbox; create_reply_draft then reuses what they fetched moments ago (`RecentMail`)
instead of reading both again, so on Gmail it costs just the drafts.create.

Why the one-draft-per-message promise still holds with a snapshot of the thread instead of a fresh read:

- a draft this server created is remembered (per answered message), so a repeated call returns it with no read;
- a draft made by an earlier attempt elsewhere (another process, or this one before a restart, whose memory is
  gone) is in Gmail before the current attempt began: the daemon only starts an attempt on a message it has claimed
  in its ledger, and a claim passes to another worker only after the previous holder's lease lapsed (minutes after
  its last sign of life). The snapshot used was fetched by get_thread after the message itself was fetched in this
  pass (`RecentMail.thread(not_before=...)`) and is at most `RecentMail.ttl` seconds old, well under a lease, so it
  was taken after any such draft was made, and shows it;
- when drafts.create fails (it may have succeeded at Gmail with the answer lost), the snapshot is dropped, so the
  next attempt reads the thread again;
- two daemons racing on one message cannot happen: the ledger gives the claim to one of them. Without a snapshot
  (another caller, a restart, an old one) the message and thread are read again, as before.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import replace

import anyio

from gmail_mcp.backend import DraftRecord, MailBackend, RawMessage, WaitsForMail
from gmail_mcp.compose import MARKER_HEADER, compose_reply, header_value
from gmail_mcp.errors import InvalidInputError
from gmail_mcp.mime import ParsedMail, parse_headers, parse_message
from gmail_mcp.recent import RecentMail
from support_core.addresses import AddressError, normalise_address
from support_core.mail import (
    Address,
    Draft,
    DraftList,
    Headers,
    LabelResult,
    Message,
    MessageRef,
    MessageSummary,
    NewMessages,
    SearchResult,
    Thread,
)

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9._:,=+-]{1,200}$")
_LABEL = re.compile(r"^[^\x00-\x1f\x7f]{1,225}$")
MAX_IDS = 1000
MAX_WAIT = 300.0
"""Longest `wait_seconds` a `list_new_messages` caller may ask for."""
LARGE_MESSAGE = 256 * 1024
PARSED_KEPT = 32
"""Parses of smaller messages remembered: a pass parses the message it answers three times (get_message, again in
get_thread, again in create_reply_draft); parsing is a pure function of the bytes, so the later two are lookups."""


def check_id(value: str, what: str = "message_id") -> str:
    value = value.strip()
    if not _ID.match(value):
        raise InvalidInputError(f"{what} must be an id returned by another tool (letters, digits, . _ - :).")
    return value


def check_labels(names: list[str]) -> list[str]:
    cleaned = [n.strip() for n in names]
    bad = [n for n in cleaned if not _LABEL.match(n)]
    if bad:
        raise InvalidInputError("Label names must be 1 to 225 printable characters.")
    return cleaned


class Mailbox:
    """The Gmail tools' logic. `create_reply_draft` is idempotent per answered message (one draft, ever)."""

    def __init__(
        self,
        backend: MailBackend,
        *,
        fallback_query: str,
        max_body_chars: int,
        authserv_ids: frozenset[str] = frozenset(),
        recent: RecentMail | None = None,
    ) -> None:
        self.backend = backend
        self.recent = recent if recent is not None else RecentMail()
        self._authserv_ids = authserv_ids
        self._fallback = fallback_query
        self._max_chars = max_body_chars
        self._draft_locks: dict[str, anyio.Lock] = {}
        self._parsed: OrderedDict[tuple[bytes, int, bool], ParsedMail] = OrderedDict()

    @property
    def trusted_authserv_ids(self) -> frozenset[str]:
        """The receiving servers whose Authentication-Results headers are believed (empty: none is)."""
        return self._authserv_ids

    async def _parse(self, raw: bytes, max_chars: int, *, rebuilt: bool = False) -> ParsedMail:
        """Parse off the event loop when the message is big (a 50 MB message takes about two seconds)."""
        ids = self._authserv_ids
        if len(raw) < LARGE_MESSAGE:
            key = (raw, max_chars, rebuilt)
            parsed = self._parsed.get(key)
            if parsed is None:
                parsed = parse_message(raw, max_chars=max_chars, authserv_ids=ids, declared_sizes=rebuilt)
                self._parsed[key] = parsed
                if len(self._parsed) > PARSED_KEPT:
                    self._parsed.popitem(last=False)
            else:
                self._parsed.move_to_end(key)
            return parsed
        return await anyio.to_thread.run_sync(
            lambda: parse_message(raw, max_chars=max_chars, authserv_ids=ids, declared_sizes=rebuilt)
        )

    async def _message(self, raw: RawMessage, own: str) -> Message:
        return to_message(raw, await self._parse(raw.raw, self._max_chars, rebuilt=raw.rebuilt), own)

    async def new_messages(self, cursor: str | None, limit: int = 50, wait: float = 0.0) -> NewMessages:
        """New inbox mail since `cursor`; with `wait` > 0, nothing new and a backend that can watch its inbox (IMAP
        IDLE), it waits up to `wait` seconds for mail and lists again (`waited` says so: poll again at once)."""
        if not 1 <= limit <= 500:
            raise InvalidInputError("limit must be between 1 and 500.")
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidInputError(f"wait_seconds must be between 0 and {MAX_WAIT:g}.")
        changes = await self.backend.changes(cursor or None, fallback_query=self._fallback, limit=limit)
        waited = False
        quiet = not changes.message_ids and not changes.full_sync
        if wait > 0 and cursor and quiet and isinstance(self.backend, WaitsForMail):
            outcome = await self.backend.wait_for_mail(changes.cursor, wait)
            waited = outcome is not None
            if outcome:
                changes = await self.backend.changes(changes.cursor, fallback_query=self._fallback, limit=limit)
        refs: list[MessageRef] = []
        for message_id in changes.message_ids:
            thread_id = changes.thread_ids.get(message_id)
            if not thread_id:  # the listing did not say: ask the message
                thread_id = (await self.backend.fetch(message_id)).thread_id
            refs.append(MessageRef(id=message_id, thread_id=thread_id))
        return NewMessages(cursor=changes.cursor, messages=refs, full_sync=changes.full_sync, waited=waited)

    async def search(self, query: str, max_results: int = 20, page_token: str | None = None) -> SearchResult:
        if not 1 <= max_results <= 100:
            raise InvalidInputError("max_results must be between 1 and 100.")
        if len(query) > 1000 or "\n" in query:
            raise InvalidInputError("query must be one line of Gmail search syntax, at most 1,000 characters.")
        ids, next_token = await self.backend.search(query, limit=max_results, page_token=page_token)
        own = await self.backend.address()
        summaries = []
        for message_id in ids:
            message = await self._message(await self.backend.fetch(message_id), own)
            summaries.append(
                MessageSummary(
                    id=message.id,
                    thread_id=message.thread_id,
                    from_=message.headers.from_,
                    subject=message.headers.subject,
                    date=message.headers.date,
                    unread=message.unread,
                    snippet=" ".join(message.new_text.split())[:200],
                )
            )
        return SearchResult(messages=summaries, next_page_token=next_token)

    async def message(self, message_id: str) -> Message:
        raw = await self.backend.fetch(check_id(message_id))
        self.recent.keep_message(raw)
        return await self._message(raw, await self.backend.address())

    async def _thread_raws(self, thread_id: str) -> list[RawMessage]:
        """The thread as the backend has it now, where a message read as stored moments ago stands in for its rebuilt
        copy (same bytes as get_message gave; labels from the thread, which is newer); kept for create_reply_draft."""
        raws = []
        for raw in await self.backend.fetch_thread(thread_id):
            seen = self.recent.message(raw.id) if raw.rebuilt else None
            raws.append(replace(seen.value, labels=raw.labels) if seen is not None else raw)
        self.recent.keep_thread(thread_id, raws)
        return raws

    async def thread(self, thread_id: str) -> Thread:
        own = await self.backend.address()
        raws = await self._thread_raws(check_id(thread_id, "thread_id"))
        messages = [await self._message(raw, own) for raw in raws]
        messages.sort(key=lambda m: m.received_at)
        return Thread(id=thread_id, messages=messages)

    def _draft(self, record: DraftRecord, created: bool) -> Draft:
        headers = parse_headers(record.message.raw)
        return Draft(
            id=record.id,
            message_id=record.message.id,
            thread_id=record.message.thread_id,
            to=headers.to,
            subject=headers.subject,
            in_reply_to=headers.in_reply_to,
            created=created,
        )

    async def create_reply_draft(
        self,
        message_id: str,
        body_text: str,
        body_html: str | None = None,
        note: str | None = None,
        *,
        to: str | None = None,
        quote: bool = True,
        language: str = "en",
    ) -> Draft:
        """One draft per answered message, to exactly one recipient; a repeated call returns the existing draft.

        `to` must be one of the message's sender addresses (From or Reply-To); without it the reply goes to the
        address a mail client would choose (the Reply-To, else From), and ambiguous sender headers are refused.
        The message is quoted only when `quote` is set and the reply goes to the message's author (From): an
        attacker's text is never quoted into a reply addressed to somebody else.
        """
        message_id = check_id(message_id)
        lock = self._draft_locks.setdefault(message_id, anyio.Lock())
        async with lock:
            made_here = self.recent.draft(message_id)
            if made_here is not None:
                logger.info("Reply draft for message %s was created moments ago; returning it", message_id)
                return self._draft(made_here, created=False)
            own = await self.backend.address()
            original_raw, read_at = await self._original(message_id)
            original = await self._parse(original_raw.raw, self._max_chars)
            thread = self.recent.thread(original_raw.thread_id, not_before=read_at)
            if thread is None:
                thread = await self._thread_raws(original_raw.thread_id)
            existing = await self._existing_draft(thread, original.headers.message_id)
            if existing is not None:
                logger.info("Reply draft for message %s already exists; returning it", message_id)
                return self._draft(existing, created=False)
            recipient = reply_recipient(original.headers, own, to)
            author = original.headers.from_
            by_author = author is not None and author.email == recipient.email and len(original.headers.from_all) <= 1
            reply = compose_reply(
                original.headers,
                own_address=own,
                to=recipient,
                body_text=body_text,
                body_html=body_html,
                quoted=(original.new_text[:4000] or None) if quote and by_author else None,
                note=note,
                language=language,
            )
            try:
                record = await self.backend.create_draft(original_raw.thread_id, reply.raw)
            except BaseException:  # perhaps created all the same (an answer lost): the next attempt reads the thread
                self.recent.forget_thread(original_raw.thread_id)
                raise
            self.recent.keep_draft(message_id, record)
            logger.info("Created reply draft %s for message %s", record.id, message_id)
            return self._draft(record, created=True)

    async def _original(self, message_id: str) -> tuple[RawMessage, float]:
        """The message to answer as get_message read it moments ago, else read now; and when it was read."""
        seen = self.recent.message(message_id)
        if seen is not None:
            return seen.value, seen.at
        raw = await self.backend.fetch(message_id)
        return raw, self.recent.keep_message(raw)

    async def _existing_draft(self, thread: list[RawMessage], rfc_id: str | None) -> DraftRecord | None:
        if not rfc_id:
            return None
        for raw in thread:
            if "DRAFT" not in raw.labels:
                continue
            headers = parse_headers(raw.raw)
            marker = _header(raw.raw, MARKER_HEADER)
            if marker == rfc_id or (marker is None and headers.in_reply_to == rfc_id):
                # found through the thread, by its message: the caller needs the *draft* id (Gmail's differs)
                return DraftRecord(id=await self.backend.draft_id(raw.id), message=raw)
        return None

    async def drafts(self, limit: int = 20) -> DraftList:
        if not 1 <= limit <= 100:
            raise InvalidInputError("limit must be between 1 and 100.")
        return DraftList(drafts=[self._draft(r, created=False) for r in await self.backend.list_drafts(limit=limit)])

    async def mark_read(self, message_ids: list[str]) -> LabelResult:
        return await self.modify_labels(message_ids, add=[], remove=["UNREAD"])

    async def modify_labels(self, message_ids: list[str], add: list[str], remove: list[str]) -> LabelResult:
        ids = [check_id(i) for i in message_ids]
        if not ids or len(ids) > MAX_IDS:
            raise InvalidInputError(f"Give between 1 and {MAX_IDS} message ids.")
        if not add and not remove:
            raise InvalidInputError("Nothing to change: give labels to add or to remove.")
        if {"DRAFT", "SENT", "TRASH", "SPAM"} & {n.upper() for n in add + remove}:
            raise InvalidInputError("DRAFT, SENT, TRASH and SPAM cannot be changed with this tool.")
        created = await self.backend.modify(ids, add=check_labels(add), remove=check_labels(remove))
        return LabelResult(modified=len(ids), created_labels=created)


def to_message(raw: RawMessage, parsed: ParsedMail, own: str) -> Message:
    """A stored message and its parse as the `Message` the tools return (`own`: this mailbox's address)."""
    sender = parsed.headers.from_
    from_me = "SENT" in raw.labels or "DRAFT" in raw.labels or (sender is not None and sender.email == own)
    return Message(
        id=raw.id,
        thread_id=raw.thread_id,
        labels=list(raw.labels),
        unread="UNREAD" in raw.labels,
        from_me=from_me,
        received_at=raw.internal_date,
        headers=parsed.headers,
        text=parsed.text,
        new_text=parsed.new_text,
        quoted_text=parsed.quoted_text,
        signature=parsed.signature,
        html_only=parsed.html_only,
        truncated=parsed.truncated,
        attachments=parsed.attachments,
        problems=parsed.problems,
    )


def reply_recipient(original: Headers, own_address: str, to: str | None) -> Address:
    """The one address a reply goes to: `to` when it is one of the sender addresses, else the single Reply-To,
    else From. A reply to our own message goes to its (single) To. Ambiguity is refused, never guessed."""
    own = own_address.lower()
    senders = original.from_all or ([original.from_] if original.from_ else [])
    if original.from_ is not None and original.from_.email == own and not original.reply_to:
        candidates = [a for a in original.to if a.email != own]
    else:
        candidates = [a for a in (*original.reply_to, *senders) if a.email != own]
    if not candidates:
        raise InvalidInputError("The message has no sender address to reply to (other than this mailbox).")
    if to is not None:
        try:
            wanted = normalise_address(to)
        except AddressError as exc:
            raise InvalidInputError(f"to: {exc}") from None
        for candidate in candidates:
            if candidate.email == wanted:
                return candidate
        raise InvalidInputError(
            "to must be one of the message's sender addresses (From or Reply-To): a reply never goes to a third party."
        )
    if original.sender_problems:
        raise InvalidInputError(
            "The message's sender headers are ambiguous ("
            + "; ".join(original.sender_problems[:3])
            + "): pass `to` with the one address to answer."
        )
    if len({a.email for a in candidates}) > 1 and not original.reply_to:
        raise InvalidInputError("The message has several possible recipients: pass `to` with the one to answer.")
    return candidates[0]


def _header(raw: bytes, name: str) -> str | None:
    """One header's value from the raw bytes' header block, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", head)
    for line in unfolded.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return header_value(value)
    return None
