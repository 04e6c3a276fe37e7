"""The Maildir backend: delivery and the changes() cursor, labels and flags, drafts, threads, search, sharing the
Maildir between instances and processes, damaged state, and crash safety under SIGKILL."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import anyio
import pytest

from gmail_mcp.backend import MailBackend
from gmail_mcp.errors import (
    InvalidInputError,
    MailboxCorruptError,
    MailboxUnavailableError,
    MessageNotFoundError,
)
from gmail_mcp.maildir import STATE_DIR, MaildirBackend, deliver_message
from gmail_mcp.threads import ThreadIndex, ThreadItem, thread_id_for

ROOT = Path(__file__).resolve().parents[2]
OWNER = "support@aurora-activewear.example"
INBOX_QUERY = "in:inbox"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def mail(
    n: int,
    *,
    subject: str | None = None,
    sender: str = "Customer {n} <customer{n}@example.com>",
    message_id: str | None = "<m{n}@mail.example.com>",
    in_reply_to: str | None = None,
    references: str | None = None,
    body: str = "Hello, this is message number {n}.",
) -> bytes:
    headers = [
        f"From: {sender.format(n=n)}",
        f"To: {OWNER}",
        f"Subject: {subject or f'Question {n}'}",
        "Date: Tue, 24 Nov 2026 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if message_id:
        headers.append(f"Message-ID: {message_id.format(n=n)}")
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    return ("\n".join(headers) + "\n\n" + body.format(n=n) + "\n").encode()


_clock = [time.time() - 3600.0]


def deliver(root: Path, raw: bytes, **kwargs: object) -> str:
    """Deliver like a mail server, one second after the previous delivery (so the order is unambiguous)."""
    _clock[0] += 1
    return deliver_message(root, raw, mtime=_clock[0], **kwargs)  # type: ignore[arg-type]


def open_as_person(root: Path, message_id: str) -> None:
    """What a mail client does when a person reads a message: new/ -> cur/ with the S flag."""
    os.rename(root / "new" / message_id, root / "cur" / f"{message_id}:2,S")


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def files_of(root: Path, message_id: str) -> list[Path]:
    found = [path for path in root.rglob(f"{message_id}*") if path.is_file()]
    return [path for path in found if "tmp" not in path.relative_to(root).parts]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Maildir"


@pytest.fixture
async def backend(root: Path) -> AsyncIterator[MaildirBackend]:
    mailbox = MaildirBackend(root, address=OWNER)
    yield mailbox
    await mailbox.aclose()


# --- opening ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_opening_creates_the_maildir_layout(backend: MaildirBackend, root: Path) -> None:
    implements: MailBackend = backend  # checked by mypy: the backend satisfies the protocol
    assert implements is backend
    await backend.open()
    for folder in (root, root / ".Drafts", root / ".Sent"):
        for sub in ("cur", "new", "tmp"):
            assert (folder / sub).is_dir()
    assert (root / STATE_DIR / "state.sqlite3").is_file()
    assert await backend.address() == OWNER


@pytest.mark.anyio
async def test_a_root_that_is_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "mail"
    not_a_folder.write_text("oops")
    mailbox = MaildirBackend(not_a_folder, address=OWNER)
    with pytest.raises(MailboxUnavailableError, match=str(not_a_folder)):
        await mailbox.search("", limit=5)
    await mailbox.aclose()


# --- changes() --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_new_mail_is_delivered_once_oldest_first(backend: MaildirBackend, root: Path) -> None:
    before = [deliver(root, mail(n)) for n in range(3)]
    first = await backend.changes(None, fallback_query=INBOX_QUERY, limit=50)
    assert first.full_sync
    assert first.message_ids == before  # the fallback search, oldest first

    later = [deliver(root, mail(n)) for n in range(3, 5)]
    second = await backend.changes(first.cursor, fallback_query=INBOX_QUERY, limit=50)
    assert not second.full_sync
    assert second.message_ids == later
    assert int(second.cursor) > int(first.cursor)

    third = await backend.changes(second.cursor, fallback_query=INBOX_QUERY, limit=50)
    assert third.message_ids == []
    assert third.cursor == second.cursor


@pytest.mark.anyio
async def test_mail_a_person_opened_before_the_poll_is_still_delivered(backend: MaildirBackend, root: Path) -> None:
    cursor = (await backend.changes(None, fallback_query=INBOX_QUERY, limit=50)).cursor
    opened = deliver(root, mail(1))
    unread = deliver(root, mail(2))
    open_as_person(root, opened)  # before the backend ever saw it

    changes = await backend.changes(cursor, fallback_query=INBOX_QUERY, limit=50)
    assert changes.message_ids == [opened, unread]
    message = await backend.fetch(opened)
    assert message.id == opened  # the id survived the move to cur/ and the flag
    assert "UNREAD" not in message.labels
    assert "INBOX" in message.labels


@pytest.mark.anyio
async def test_a_small_limit_pages_through_without_repeats(backend: MaildirBackend, root: Path) -> None:
    cursor = (await backend.changes(None, fallback_query=INBOX_QUERY, limit=50)).cursor
    delivered = [deliver(root, mail(n)) for n in range(7)]
    seen: list[str] = []
    cursors = [int(cursor)]
    for _ in range(5):
        page = await backend.changes(cursor, fallback_query=INBOX_QUERY, limit=3)
        assert len(page.message_ids) <= 3
        seen += page.message_ids
        cursor = page.cursor
        cursors.append(int(cursor))
    assert seen == delivered
    assert cursors == sorted(cursors)


@pytest.mark.anyio
async def test_mail_archived_before_the_poll_is_skipped(backend: MaildirBackend, root: Path) -> None:
    cursor = (await backend.changes(None, fallback_query=INBOX_QUERY, limit=50)).cursor
    archived, kept = deliver(root, mail(1)), deliver(root, mail(2))
    await backend.modify([archived], add=[], remove=["INBOX"])
    changes = await backend.changes(cursor, fallback_query=INBOX_QUERY, limit=50)
    assert changes.message_ids == [kept]


@pytest.mark.anyio
async def test_missing_malformed_or_expired_cursors_give_a_full_sync(root: Path) -> None:
    mailbox = MaildirBackend(root, address=OWNER, journal_window=3)
    try:
        start = await mailbox.changes(None, fallback_query=INBOX_QUERY, limit=50)
        ids = [deliver(root, mail(n)) for n in range(5)]
        expired = await mailbox.changes(start.cursor, fallback_query=INBOX_QUERY, limit=50)
        assert expired.full_sync  # 5 entries later, a window of 3 no longer reaches back to `start`
        assert expired.message_ids == ids
        assert int(expired.cursor) > int(start.cursor)
        for bad in ("", "abc", "-5", "12.5", "9" * 40):
            again = await mailbox.changes(bad, fallback_query=INBOX_QUERY, limit=50)
            assert again.full_sync, bad
            assert again.cursor == expired.cursor
        fallback = await mailbox.changes(None, fallback_query="from:customer2@example.com", limit=50)
        assert fallback.message_ids == [ids[2]]
        recent = await mailbox.changes(expired.cursor, fallback_query=INBOX_QUERY, limit=50)
        assert not recent.full_sync
        assert recent.message_ids == []
    finally:
        await mailbox.aclose()


@pytest.mark.anyio
async def test_a_cursor_ahead_of_the_journal_never_makes_the_cursor_go_back(
    backend: MaildirBackend, root: Path
) -> None:
    now = int((await backend.changes(None, fallback_query=INBOX_QUERY, limit=5)).cursor)
    ahead = str(now + 1_000_000)
    jumped = await backend.changes(ahead, fallback_query=INBOX_QUERY, limit=5)
    assert jumped.full_sync
    assert jumped.cursor == ahead
    fresh = deliver(root, mail(1))
    after = await backend.changes(ahead, fallback_query=INBOX_QUERY, limit=5)
    assert after.message_ids == [fresh]
    assert int(after.cursor) > int(ahead)


# --- modify -----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_read_unread_and_star_are_maildir_flags(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver(root, mail(1))
    assert (await backend.fetch(message_id)).labels == ("INBOX", "UNREAD")

    assert await backend.modify([message_id], add=["starred"], remove=["UNREAD"]) == []
    assert files_of(root, message_id) == [root / "cur" / f"{message_id}:2,FS"]
    assert (await backend.fetch(message_id)).labels == ("INBOX", "STARRED")

    await backend.modify([message_id], add=["UNREAD"], remove=["STARRED"])
    assert files_of(root, message_id) == [root / "cur" / f"{message_id}:2,"]
    assert (await backend.fetch(message_id)).labels == ("INBOX", "UNREAD")


@pytest.mark.anyio
async def test_user_labels_are_created_once_and_survive_a_reopen(root: Path) -> None:
    first, second = deliver(root, mail(1)), deliver(root, mail(2))
    mailbox = MaildirBackend(root, address=OWNER)
    assert await mailbox.modify([first], add=["support/processed", "needs-human"], remove=[]) == [
        "support/processed",
        "needs-human",
    ]
    assert await mailbox.modify([second], add=["Support/Processed"], remove=[]) == []  # same label, any case
    await mailbox.aclose()

    reopened = MaildirBackend(root, address=OWNER)
    try:
        assert sorted(await reopened.list_labels()) == ["needs-human", "support/processed"]
        assert (await reopened.fetch(first)).labels == ("INBOX", "UNREAD", "needs-human", "support/processed")
        assert "support/processed" in (await reopened.fetch(second)).labels  # stored spelling wins
        ids, _ = await reopened.search("label:support/processed", limit=10)
        assert sorted(ids) == sorted([first, second])
        await reopened.modify([first, second], add=[], remove=["SUPPORT/processed"])
        assert await reopened.search("label:support/processed", limit=10) == ([], None)
        assert files_of(root, first) == [root / "new" / first]  # labels never touch the message file
    finally:
        await reopened.aclose()


@pytest.mark.anyio
async def test_archiving_moves_the_file_and_back(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver(root, mail(1))
    await backend.modify([message_id], add=[], remove=["INBOX", "UNREAD"])
    assert files_of(root, message_id) == [root / ".Archive" / "cur" / f"{message_id}:2,S"]
    assert (await backend.fetch(message_id)).labels == ()
    assert await backend.search("in:inbox", limit=5) == ([], None)
    assert (await backend.search("question", limit=5))[0] == [message_id]

    await backend.modify([message_id], add=["INBOX"], remove=[])
    assert files_of(root, message_id) == [root / "cur" / f"{message_id}:2,S"]
    assert (await backend.fetch(message_id)).labels == ("INBOX",)


@pytest.mark.anyio
async def test_trash_and_spam_are_folders_left_out_of_searches(backend: MaildirBackend, root: Path) -> None:
    trashed, junk = deliver(root, mail(1)), deliver(root, mail(2))
    await backend.modify([trashed], add=["TRASH"], remove=[])
    await backend.modify([junk], add=["SPAM"], remove=[])
    assert files_of(root, trashed) == [root / ".Trash" / "new" / trashed]
    assert files_of(root, junk) == [root / ".Junk" / "new" / junk]
    assert await backend.search("question", limit=5) == ([], None)
    assert (await backend.search("in:trash", limit=5))[0] == [trashed]
    assert sorted((await backend.search("in:anywhere question", limit=5))[0]) == sorted([trashed, junk])
    await backend.modify([trashed], add=[], remove=["TRASH"])
    assert (await backend.fetch(trashed)).labels == ("INBOX", "UNREAD")


@pytest.mark.anyio
async def test_an_unknown_id_changes_nothing(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver(root, mail(1))
    with pytest.raises(MessageNotFoundError, match="no-such-message"):
        await backend.modify([message_id, "no-such-message"], add=["support/processed"], remove=["UNREAD", "INBOX"])
    assert (await backend.fetch(message_id)).labels == ("INBOX", "UNREAD")
    assert files_of(root, message_id) == [root / "new" / message_id]
    assert await backend.list_labels() == []
    with pytest.raises(MessageNotFoundError):
        await backend.fetch("no-such-message")
    with pytest.raises(MessageNotFoundError):
        await backend.fetch_thread("0123456789abcdef")


@pytest.mark.anyio
async def test_invalid_label_changes_are_refused(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver(root, mail(1))
    for add, remove in ((["DRAFT"], []), ([], ["sent"]), (["x"], ["X"]), ([""], []), (["bad\nname"], [])):
        with pytest.raises(InvalidInputError):
            await backend.modify([message_id], add=add, remove=remove)
    draft = await backend.create_draft(None, mail(9))
    with pytest.raises(InvalidInputError, match="INBOX"):
        await backend.modify([draft.id], add=["INBOX"], remove=[])


@pytest.mark.anyio
async def test_twenty_concurrent_modifies(backend: MaildirBackend, root: Path) -> None:
    ids = [deliver(root, mail(n)) for n in range(10)]

    async def label(n: int) -> None:
        await backend.modify([ids[n % 10]], add=[f"batch-{n}"], remove=["UNREAD"] if n % 2 else [])

    async with anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(label, n)
    for index, message_id in enumerate(ids):
        labels = (await backend.fetch(message_id)).labels
        assert {f"batch-{index}", f"batch-{index + 10}"} <= set(labels)
        assert ("UNREAD" in labels) is (index % 2 == 0)
    assert len(await backend.list_labels()) == 20
    stored = [path.name for sub in ("new", "cur") for path in files_in(root / sub)]
    assert sorted(name.split(":")[0] for name in stored) == sorted(ids)  # each file once, none lost


# --- drafts and threads -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_draft_is_a_real_file_in_drafts_cur_and_joins_its_thread(backend: MaildirBackend, root: Path) -> None:
    original = deliver(root, mail(1))
    thread_id = (await backend.fetch(original)).thread_id
    reply = mail(
        2,
        sender=f"Aurora Activewear <{OWNER}>",
        subject="Re: Question 1",
        message_id="<draft-1@aurora-activewear.example>",
        in_reply_to="<m1@mail.example.com>",
        references="<m1@mail.example.com>",
        body="Hola, tu pedido está en camino.",
    )
    draft = await backend.create_draft(thread_id, reply)

    path = root / ".Drafts" / "cur" / f"{draft.id}:2,D"
    assert path.read_bytes() == reply
    assert list((root / ".Drafts" / "tmp").iterdir()) == []
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert parsed["In-Reply-To"] == "<m1@mail.example.com>"
    assert draft.message.thread_id == thread_id
    assert draft.message.labels == ("DRAFT",)

    thread = await backend.fetch_thread(thread_id)
    assert [message.id for message in thread] == [original, draft.id]
    assert thread[-1].raw == reply

    later = await backend.create_draft(None, mail(3, message_id=None))
    assert [record.id for record in await backend.list_drafts(limit=10)] == [later.id, draft.id]
    assert [record.id for record in await backend.list_drafts(limit=1)] == [later.id]
    assert (await backend.search("in:drafts", limit=10))[0] == [later.id, draft.id]


@pytest.mark.anyio
async def test_a_draft_without_threading_headers_gets_them_from_its_thread(backend: MaildirBackend, root: Path) -> None:
    first = deliver(root, mail(1))
    second = deliver(root, mail(2, in_reply_to="<m1@mail.example.com>", references="<m1@mail.example.com>"))
    thread_id = (await backend.fetch(first)).thread_id
    assert (await backend.fetch(second)).thread_id == thread_id

    draft = await backend.create_draft(thread_id, b"From: support@aurora-activewear.example\nSubject: Re\n\nHi\n")
    stored = BytesParser(policy=policy.default).parsebytes(draft.message.raw)
    assert stored["In-Reply-To"] == "<m2@mail.example.com>"  # the newest message of the thread
    assert stored["References"].split() == ["<m1@mail.example.com>", "<m2@mail.example.com>"]
    assert draft.message.thread_id == thread_id


@pytest.mark.anyio
async def test_bad_drafts_are_refused(backend: MaildirBackend, root: Path) -> None:
    with pytest.raises(MessageNotFoundError, match="no draft was saved"):
        await backend.create_draft("0000000000000000", mail(1))
    for raw in (b"", b"   \n", b"just some text\n"):
        with pytest.raises(InvalidInputError):
            await backend.create_draft(None, raw)
    assert list((root / ".Drafts" / "cur").iterdir()) == []


def test_threads_follow_references_and_in_reply_to_but_never_subjects() -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)

    def item(key: str, days: int, **headers: str | None) -> ThreadItem:
        return ThreadItem.from_headers(
            key,
            message_id=headers.get("message_id"),
            references=headers.get("references"),
            in_reply_to=headers.get("in_reply_to"),
            date=day + timedelta(days=days),
        )

    items = [
        item("root", 0, message_id="<a@x>"),
        item("reply", 1, message_id="<b@x>", in_reply_to="<a@x>"),
        item("reply-to-reply", 2, message_id="<c@x>", references="<a@x> <b@x>", in_reply_to="<b@x>"),
        item("same-subject-no-headers", 3, message_id="<d@x>"),
        item("no-message-id", 4),
        item("answers-missing", 5, message_id="<f@x>", references="<gone@x>"),
        item("also-answers-missing", 6, message_id="<g@x>", in_reply_to="<gone@x>"),
    ]
    index = ThreadIndex.build(items)
    conversation = index.thread_of("root")
    assert conversation == thread_id_for("<a@x>")
    assert index.thread_of("reply") == index.thread_of("reply-to-reply") == conversation
    assert index.thread_of("same-subject-no-headers") not in (None, conversation)
    assert index.thread_of("no-message-id") not in (None, conversation, index.thread_of("same-subject-no-headers"))
    assert index.thread_of("answers-missing") == index.thread_of("also-answers-missing") == thread_id_for("<gone@x>")
    assert sorted(index.members(conversation)) == ["reply", "reply-to-reply", "root"]
    # the thread id does not depend on whether the first message is present
    assert ThreadIndex.build(items[1:3]).thread_of("reply") == conversation
    assert len(conversation) == 16 and int(conversation, 16) >= 0


@pytest.mark.anyio
async def test_subject_alone_never_threads(backend: MaildirBackend, root: Path) -> None:
    one = deliver(root, mail(1, subject="Re: Order #1021"))
    two = deliver(root, mail(2, subject="Re: Order #1021"))
    synthetic = deliver(root, mail(3, subject="Re: Order #1021", message_id=None))
    threads = {(await backend.fetch(message_id)).thread_id for message_id in (one, two, synthetic)}
    assert len(threads) == 3


# --- search -----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_search_operators_newest_first_with_pages(backend: MaildirBackend, root: Path) -> None:
    maria = deliver(root, mail(1, sender="María García <maria.garcia@example.com>", body="¿Dónde está mi pedido?"))
    oliver = deliver(root, mail(2, sender="Oliver Bennett <oliver.bennett@example.net>", subject="Parcel late"))
    sent = deliver(root, mail(3, sender=f"Shop <{OWNER}>", subject="Your parcel"), folder=".Sent", flags="S")
    await backend.modify([oliver], add=["needs-human"], remove=["UNREAD"])

    async def search(query: str) -> list[str]:
        return (await backend.search(query, limit=50))[0]

    assert await search("") == [sent, oliver, maria]
    assert await search("in:inbox") == [oliver, maria]
    assert await search("in:sent") == [sent]
    assert await search("from:me") == [sent]
    assert await search("is:unread") == [maria]
    assert await search("is:read in:inbox") == [oliver]
    assert await search("label:needs-human") == [oliver]
    assert await search("-label:needs-human in:inbox") == [maria]
    assert await search("from:maria.garcia@example.com") == [maria]
    assert await search("pedido") == [maria]  # the body
    assert await search("parcel") == [sent, oliver]  # subjects
    assert await search("subject:late OR subject:your") == [sent, oliver]
    assert await search("rfc822msgid:m2@mail.example.com") == [oliver]
    assert await search("newer_than:1d") == [sent, oliver, maria]
    assert await search("older_than:1d") == []

    page, token = await backend.search("", limit=2)
    assert page == [sent, oliver]
    assert token is not None
    assert await backend.search("", limit=2, page_token=token) == ([maria], None)
    with pytest.raises(InvalidInputError, match="page_token"):
        await backend.search("", limit=2, page_token="not-a-token")
    with pytest.raises(InvalidInputError):
        await backend.search("", limit=0)


@pytest.mark.anyio
async def test_other_maildir_folders_are_read_only_labels(backend: MaildirBackend, root: Path) -> None:
    synced = deliver(root, mail(1), folder=".Work.Clients", flags="S")
    assert (await backend.fetch(synced)).labels == ("Work/Clients",)
    assert (await backend.search("label:work/clients", limit=5))[0] == [synced]


# --- robustness -------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_message_renamed_by_a_mail_client_is_followed(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver(root, mail(1))
    assert "UNREAD" in (await backend.fetch(message_id)).labels
    open_as_person(root, message_id)
    assert "UNREAD" not in (await backend.fetch(message_id)).labels
    await backend.modify([message_id], add=["STARRED"], remove=[])
    assert files_of(root, message_id) == [root / "cur" / f"{message_id}:2,FS"]


@pytest.mark.anyio
async def test_odd_mail_is_listed_and_searchable(backend: MaildirBackend, root: Path) -> None:
    raw_utf8 = deliver(root, "Subject: Pedido año\nFrom: José <jose@example.org>\n\ncuerpo\n".encode())
    latin1 = deliver(
        root, "Subject: caf\xe9\nContent-Type: text/plain; charset=latin-1\n\nTsch\xfc\xdf\n".encode("latin-1")
    )
    unknown_charset = deliver(root, b"Subject: x\nContent-Type: text/plain; charset=klingon\n\nqapla batlh\n")
    no_headers = deliver(root, b"this is not a header line\n\nbut a body with words\n")
    html_only = deliver(root, b"Subject: h\nContent-Type: text/html\n\n<p>Track it <a href='https://x'>here</a></p>\n")
    crlf = deliver(root, b"Subject: windows\r\nMessage-ID: <crlf@x>\r\n\r\nline endings\r\n")

    async def search(query: str) -> list[str]:
        return (await backend.search(query, limit=10))[0]

    assert await search("subject:año") == [raw_utf8]
    assert await search("from:josé") == [raw_utf8]
    assert await search("subject:café") == [latin1]
    assert await search("tschüß") == [latin1]
    assert await search("batlh") == [unknown_charset]
    assert await search('"a body with words"') == [no_headers]
    assert await search('"track it here"') == [html_only]
    assert await search("rfc822msgid:crlf@x line") == [crlf]
    assert len(await search("")) == 6


@pytest.mark.anyio
async def test_internal_date_is_the_delivery_time(backend: MaildirBackend, root: Path) -> None:
    message_id = deliver_message(root, mail(1), mtime=1_795_000_000)
    assert (await backend.fetch(message_id)).internal_date == datetime.fromtimestamp(1_795_000_000, UTC)


@pytest.mark.anyio
async def test_unreadable_files_are_skipped_with_a_warning_without_personal_data(
    backend: MaildirBackend, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = deliver(root, mail(1))
    (root / "new" / "1795000000.M1P1.empty").write_bytes(b"")
    (root / "new" / "1795000001.M1P1.folder").mkdir()
    (root / "new" / ".hidden").write_bytes(mail(2))
    with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
        assert (await backend.search("", limit=10))[0] == [good]
        assert (await backend.search("", limit=10))[0] == [good]
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once, not on every scan
    assert "1795000000.M1P1.empty" in warnings[0].getMessage()
    assert all("@" not in record.getMessage() for record in caplog.records)


@pytest.mark.anyio
async def test_old_tmp_leftovers_are_removed_and_never_visible(root: Path) -> None:
    stale, fresh = root / "tmp" / "1700000000.M1P1.stale", root / ".Drafts" / "tmp" / "1795000000.M1P1.fresh"
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(mail(1))
    old = time.time() - 37 * 3600
    os.utime(stale, (old, old))
    mailbox = MaildirBackend(root, address=OWNER)
    try:
        assert await mailbox.search("in:anywhere", limit=10) == ([], None)
        assert not stale.exists()
        assert fresh.exists()  # may still be a delivery in progress
    finally:
        await mailbox.aclose()


@pytest.mark.anyio
async def test_a_damaged_state_file_is_explained_and_rebuilt_after_deleting_it(root: Path) -> None:
    message_id = deliver(root, mail(1))
    mailbox = MaildirBackend(root, address=OWNER)
    old_cursor = (await mailbox.changes(None, fallback_query=INBOX_QUERY, limit=5)).cursor
    await mailbox.modify([message_id], add=["support/processed", "STARRED"], remove=["UNREAD"])
    state = mailbox.state_path
    await mailbox.aclose()

    state.write_bytes(b"this is not a database" * 100)
    broken = MaildirBackend(root, address=OWNER)
    with pytest.raises(MailboxCorruptError) as caught:
        await broken.fetch(message_id)
    assert str(state) in str(caught.value)
    assert "delete it" in str(caught.value)
    await broken.aclose()

    for leftover in state.parent.glob(f"{state.name}*"):
        leftover.unlink()
    rebuilt = MaildirBackend(root, address=OWNER)
    try:
        assert (await rebuilt.fetch(message_id)).labels == ("INBOX", "STARRED")  # flags kept, the label is lost
        changes = await rebuilt.changes(old_cursor, fallback_query=INBOX_QUERY, limit=5)
        assert changes.full_sync
        assert changes.message_ids == [message_id]
        assert int(changes.cursor) > int(old_cursor)
    finally:
        await rebuilt.aclose()


@pytest.mark.anyio
async def test_two_instances_share_one_maildir(root: Path) -> None:
    first, second = MaildirBackend(root, address=OWNER), MaildirBackend(root, address=OWNER)
    try:
        cursor = (await first.changes(None, fallback_query=INBOX_QUERY, limit=5)).cursor
        ids = [deliver(root, mail(n)) for n in range(4)]
        from_second = await second.changes(cursor, fallback_query=INBOX_QUERY, limit=50)
        from_first = await first.changes(cursor, fallback_query=INBOX_QUERY, limit=50)
        assert from_first == from_second
        assert from_first.message_ids == ids

        await first.modify([ids[0]], add=["support/processed"], remove=["UNREAD"])
        assert (await second.fetch(ids[0])).labels == ("INBOX", "support/processed")
        await second.modify([ids[0]], add=[], remove=["INBOX"])
        assert (await first.fetch(ids[0])).labels == ("support/processed",)
        draft = await second.create_draft((await first.fetch(ids[1])).thread_id, mail(9))
        assert draft.id in [record.id for record in await first.list_drafts(limit=5)]
    finally:
        await first.aclose()
        await second.aclose()
    with sqlite3.connect(root / STATE_DIR / "state.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM journal").fetchone() == (4, 4)
    conn.close()


# --- crash safety -----------------------------------------------------------------------------------------

CHILD = r"""
import random, sys, anyio
from pathlib import Path
from gmail_mcp.maildir import MaildirBackend, deliver_message

root, rng = Path(sys.argv[1]), random.Random(int(sys.argv[2]))

def message(kind, marker):
    lines = "".join(f"{kind} {marker} line {i:04d} padding padding padding padding padding\n" for i in range(1500))
    return (f"From: x@example.com\nSubject: {kind} {marker}\nMessage-ID: <{marker}@crash.example>\n\n"
            f"{lines}END {marker}\n").encode()

async def main():
    mailbox = MaildirBackend(root, address="support@aurora-activewear.example")
    inbox, _ = await mailbox.search("in:inbox", limit=500)
    cursor = None
    print("ready", flush=True)
    while True:
        marker = f"{sys.argv[2]}-{rng.randrange(10**9)}"
        roll = rng.random()
        if roll < 0.4:
            await mailbox.create_draft(None, message("draft", marker))
        elif roll < 0.7 and inbox:
            chosen = rng.sample(inbox, min(len(inbox), 3))
            await mailbox.modify(chosen, add=[f"label-{rng.randrange(4)}"], remove=rng.choice([["UNREAD"], []]))
        else:
            inbox.append(deliver_message(root, message("mail", marker)))
            cursor = (await mailbox.changes(cursor, fallback_query="in:inbox", limit=5)).cursor

anyio.run(main)
"""


@pytest.mark.integration
def test_sigkill_at_random_moments_never_corrupts_the_maildir(root: Path) -> None:
    rng = random.Random(20261124)
    initial = {deliver(root, mail(n)) for n in range(3)}

    async def first_cursor() -> str:
        mailbox = MaildirBackend(root, address=OWNER)
        try:
            return (await mailbox.changes(None, fallback_query=INBOX_QUERY, limit=5)).cursor
        finally:
            await mailbox.aclose()

    cursor = anyio.run(first_cursor)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    deadline = time.monotonic() + 30
    rounds = 0
    while rounds < 6 and time.monotonic() < deadline:
        rounds += 1
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=ROOT,
        )
        try:
            ready = child.stdout.readline() if child.stdout else b""
            assert ready == b"ready\n", child.stderr.read().decode() if child.stderr else ""
            time.sleep(rng.uniform(0.05, 0.5))
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            for stream in (child.stdout, child.stderr):
                if stream:
                    stream.close()
        anyio.run(check_after_crash, root, cursor, initial)
    assert rounds >= 3


async def check_after_crash(root: Path, cursor: str, initial: set[str]) -> None:
    mailbox = MaildirBackend(root, address=OWNER)
    try:
        visible = set((await mailbox.search("in:anywhere", limit=10_000))[0])
        for folder in (root, root / ".Drafts"):
            for leftover in (folder / "tmp").iterdir():
                assert leftover.name not in visible  # a half-written file is never a message
        for path in (root / ".Drafts" / "cur").iterdir():
            assert path.name.endswith(":2,D")
            parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            marker = parsed["Subject"].split()[-1]
            body = parsed.get_content()
            assert body.count("\n") == 1501 and body.endswith(f"END {marker}\n"), path.name
            assert path.name.split(":")[0] in visible
        inbox = {path.name.split(":")[0] for sub in ("new", "cur") for path in (root / sub).iterdir()}
        delivered: list[str] = []
        position = cursor
        while True:
            page = await mailbox.changes(position, fallback_query=INBOX_QUERY, limit=7)
            assert not page.full_sync
            if not page.message_ids:
                break
            delivered += page.message_ids
            position = page.cursor
        assert len(delivered) == len(set(delivered))  # nothing twice ...
        assert set(delivered) == inbox - initial  # ... and nothing lost
    finally:
        await mailbox.aclose()
    with sqlite3.connect(root / STATE_DIR / "state.sqlite3") as conn:
        total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM journal").fetchone()
    conn.close()
    assert total == distinct
