"""The Maildir backend never follows a symbolic link below the Maildir root, nor opens a FIFO: links planted in
`new/` and `cur/`, linked `cur/` `tmp/` and label folders, linked drafts folders and state files are skipped with one
warning (or refused with an error naming them), and the files they point at are never read, moved or written."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from gmail_mcp.errors import MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.maildir import MaildirBackend, deliver_message
from tests.gmail_mcp.test_maildir import INBOX_QUERY, OWNER, deliver, mail

SECRET = "SECRET-c0ffee-root:x:0:0"

pytestmark = pytest.mark.anyio


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "Maildir"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the Maildir (another user's mail, /etc): nothing may be read from or written into it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def secret_mail() -> bytes:
    """A fake email that would join the thread of `mail(1)` and match its subject if it were ever read."""
    return mail(99, subject="Question 1", in_reply_to="<m1@mail.example.com>", body=f"password {SECRET}")


def plant_secret(outside: Path) -> Path:
    secret = outside / "secret.eml"
    secret.write_bytes(secret_mail())
    return secret


def state_of(*paths: Path) -> list[tuple[str, object]]:
    """What a link or file is, without following a link: its target, or its bytes and modification time."""
    found: list[tuple[str, object]] = []
    for path in paths:
        if path.is_symlink():
            found.append((path.name, os.readlink(path)))
        else:
            found.append((path.name, (path.read_bytes(), path.stat().st_mtime_ns)))
    return found


def skip_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert "@" not in record.getMessage()


@pytest.fixture
async def backend(root: Path) -> AsyncIterator[MaildirBackend]:
    mailbox = MaildirBackend(root, address=OWNER)
    yield mailbox
    await mailbox.aclose()


async def test_links_in_new_and_cur_are_never_messages(
    backend: MaildirBackend, root: Path, outside: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = deliver(root, mail(1))
    secret = plant_secret(outside)
    in_new = root / "new" / "1795000100.M1P1.planted"
    in_cur = root / "cur" / "1795000101.M1P1.planted:2,S"
    in_new.symlink_to(secret)
    in_cur.symlink_to(secret)
    before = state_of(secret, in_new, in_cur)

    with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
        first = await backend.changes(None, fallback_query=INBOX_QUERY, limit=50)
        assert first.message_ids == [real]
        assert (await backend.search("", limit=50))[0] == [real]
        assert (await backend.search("in:anywhere subject:question", limit=50))[0] == [real]
        assert (await backend.search(f'"{SECRET}"', limit=50))[0] == []
        for planted in ("1795000100.M1P1.planted", "1795000101.M1P1.planted"):
            with pytest.raises(MessageNotFoundError):
                await backend.fetch(planted)
            with pytest.raises(MessageNotFoundError):
                await backend.modify([planted], add=["STARRED", "support/processed"], remove=["UNREAD"])
            with pytest.raises(MessageNotFoundError):
                await backend.modify([real, planted], add=["TRASH"], remove=[])
        thread = await backend.fetch_thread((await backend.fetch(real)).thread_id)
        assert [message.id for message in thread] == [real]
        assert SECRET.encode() not in thread[0].raw
        await backend.modify([real], add=["STARRED"], remove=["UNREAD"])  # renames the real file only
        assert (await backend.changes(first.cursor, fallback_query=INBOX_QUERY, limit=50)).message_ids == []

    assert state_of(secret, in_new, in_cur) == before
    assert (root / "cur" / f"{real}:2,FS").is_file()
    warnings = skip_warnings(caplog)
    assert len(warnings) == 2  # one per link, not one per scan
    assert any(in_new.name in text and "symbolic link" in text for text in warnings)
    assert any(in_cur.name in text and "symbolic link" in text for text in warnings)
    assert_no_secret_logged(caplog)


async def test_a_message_file_swapped_for_a_link_after_listing_is_not_read(
    backend: MaildirBackend, root: Path, outside: Path
) -> None:
    real = deliver(root, mail(1))
    assert (await backend.fetch(real)).id == real
    path = root / "new" / real
    path.unlink()
    path.symlink_to(plant_secret(outside))
    with pytest.raises(MessageNotFoundError):
        await backend.fetch(real)
    assert (await backend.search("in:anywhere", limit=10))[0] == []
    assert path.is_symlink()


async def test_a_linked_cur_folder_is_never_listed_or_moved_into(
    backend: MaildirBackend, root: Path, outside: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = deliver(root, mail(1))  # in new/
    other_users_mail = outside / "1795000200.M1P1.other:2,S"
    other_users_mail.write_bytes(secret_mail())
    (root / "cur").rmdir()
    (root / "cur").symlink_to(outside, target_is_directory=True)

    with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
        assert (await backend.search("in:anywhere", limit=10))[0] == [real]
        assert (await backend.search(f'"{SECRET}"', limit=10))[0] == []
        with pytest.raises(MessageNotFoundError):
            await backend.fetch("1795000200.M1P1.other")
        with pytest.raises(MailboxUnavailableError, match="symbolic link") as caught:  # new/ -> cur/ is refused
            await backend.modify([real], add=[], remove=["UNREAD"])
        assert str(root / "cur") in str(caught.value)
        assert "UNREAD" in (await backend.fetch(real)).labels

    assert sorted(os.listdir(outside)) == [other_users_mail.name]
    assert (root / "new" / real).is_file()
    warnings = skip_warnings(caplog)
    assert len(warnings) == 1
    assert str(root / "cur") in warnings[0]
    assert_no_secret_logged(caplog)


async def test_linked_label_and_archive_folders_are_never_listed_or_written(
    backend: MaildirBackend, root: Path, outside: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = deliver(root, mail(1))
    deliver_message(outside, secret_mail(), folder=".Clients", flags="S")  # someone else's Maildir
    (root / ".Clients").symlink_to(outside / ".Clients", target_is_directory=True)
    archive = tmp_path / "archive-elsewhere"
    archive.mkdir()
    (root / ".Archive").symlink_to(archive, target_is_directory=True)

    with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
        assert (await backend.search("in:anywhere", limit=10))[0] == [real]
        assert (await backend.search("label:clients", limit=10))[0] == []
        assert (await backend.search(f'"{SECRET}"', limit=10))[0] == []
        with pytest.raises(MailboxUnavailableError, match=r"\.Archive"):
            await backend.modify([real], add=[], remove=["INBOX"])
        assert (await backend.fetch(real)).labels[0] == "INBOX"

    assert os.listdir(archive) == []
    assert (root / "new" / real).is_file()
    warnings = skip_warnings(caplog)
    assert len(warnings) == 2
    assert any(".Clients" in text for text in warnings)
    assert any(".Archive" in text for text in warnings)
    assert_no_secret_logged(caplog)


@pytest.mark.parametrize("linked", [".Drafts", ".Drafts/tmp", ".Drafts/cur"])
async def test_drafts_are_never_written_through_a_link(
    backend: MaildirBackend, root: Path, outside: Path, linked: str
) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    if linked != ".Drafts":
        for sub in ("cur", "new", "tmp"):
            if f".Drafts/{sub}" != linked:
                (root / ".Drafts" / sub).mkdir(parents=True)
    (root / linked).symlink_to(outside, target_is_directory=True)

    with pytest.raises(MailboxUnavailableError, match="No draft was saved") as caught:
        await backend.create_draft(None, mail(5, subject="Re: your order"))
    assert str(root / linked) in str(caught.value)
    assert os.listdir(outside) == []
    assert await backend.list_drafts(limit=10) == []
    if linked == ".Drafts/cur":
        assert os.listdir(root / ".Drafts" / "tmp") == []  # no half-delivered draft left behind


def test_fifos_and_links_to_fifos_never_block(root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    real = deliver(root, mail(1))
    fifo = root / "new" / "1795000300.M1P1.fifo"
    os.mkfifo(fifo)
    outside_fifo = tmp_path / "pipe"
    os.mkfifo(outside_fifo)
    link = root / "cur" / "1795000301.M1P1.pipe:2,S"
    link.symlink_to(outside_fifo)
    results: list[object] = []

    async def use_the_mailbox() -> None:
        mailbox = MaildirBackend(root, address=OWNER)
        try:
            results.append((await mailbox.search("", limit=10))[0])
            results.append((await mailbox.changes(None, fallback_query=INBOX_QUERY, limit=10)).message_ids)
            for name in ("1795000300.M1P1.fifo", "1795000301.M1P1.pipe"):
                with contextlib.suppress(MessageNotFoundError):
                    await mailbox.fetch(name)
                    results.append(f"{name} was read")
        except Exception as exc:  # reported by the assertion below instead of as a thread warning
            results.append(exc)
        finally:
            await mailbox.aclose()

    worker = threading.Thread(target=anyio.run, args=(use_the_mailbox,), daemon=True)
    with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
        worker.start()
        worker.join(timeout=15)
    try:
        assert not worker.is_alive(), "the Maildir backend blocked opening a FIFO"
    finally:
        for pipe in (fifo, outside_fifo):  # let a blocked reader go: a writer that opens and closes gives it EOF
            with contextlib.suppress(OSError):
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=5)
    assert results == [[real], [real]]
    warnings = skip_warnings(caplog)
    assert len(warnings) == 2
    assert any(fifo.name in text and "FIFO" in text for text in warnings)
    assert any(link.name in text and "symbolic link" in text for text in warnings)


async def test_old_files_behind_a_linked_tmp_folder_are_never_deleted(
    root: Path, outside: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kept = outside / "1700000000.M1P1.keep"
    kept.write_bytes(b"not the Maildir's to clean up")
    old = time.time() - 37 * 3600
    os.utime(kept, (old, old))
    for sub in ("cur", "new"):
        (root / sub).mkdir(parents=True)
    (root / "tmp").symlink_to(outside, target_is_directory=True)
    mailbox = MaildirBackend(root, address=OWNER)
    try:
        with caplog.at_level(logging.DEBUG, logger="gmail_mcp"):
            assert await mailbox.search("in:anywhere", limit=10) == ([], None)
    finally:
        await mailbox.aclose()
    assert kept.exists()
    warnings = skip_warnings(caplog)
    assert len(warnings) == 1
    assert str(root / "tmp") in warnings[0]


@pytest.mark.parametrize("linked", ["folder", "file"])
async def test_a_linked_state_folder_or_file_is_refused(root: Path, outside: Path, linked: str) -> None:
    precious = outside / "precious.sqlite3"
    with contextlib.closing(sqlite3.connect(precious)) as db, db:
        db.execute("CREATE TABLE accounts (name TEXT)")
        db.execute("INSERT INTO accounts VALUES ('keep me')")
    before = state_of(precious)
    message_id = deliver(root, mail(1))
    state_dir = root / ".support-agent"
    if linked == "folder":
        state_dir.symlink_to(outside, target_is_directory=True)
    else:
        state_dir.mkdir()
        (state_dir / "state.sqlite3").symlink_to(precious)

    mailbox = MaildirBackend(root, address=OWNER)
    try:
        with pytest.raises(MailboxUnavailableError, match="symbolic link"):
            await mailbox.fetch(message_id)
    finally:
        await mailbox.aclose()
    assert state_of(precious) == before
    assert sorted(os.listdir(outside)) == [precious.name]  # no state.sqlite3, -wal or -shm created there


async def test_a_linked_root_is_resolved_once_when_the_backend_opens(tmp_path: Path) -> None:
    first_maildir, second_maildir = tmp_path / "first", tmp_path / "second"
    first = deliver(first_maildir, mail(1))
    second = deliver(second_maildir, mail(2))
    link = tmp_path / "Maildir"
    link.symlink_to(first_maildir, target_is_directory=True)
    mailbox = MaildirBackend(link, address=OWNER)
    try:
        assert (await mailbox.search("in:anywhere", limit=10))[0] == [first]
        draft = await mailbox.create_draft(None, mail(3))
        assert [path.name for path in (first_maildir / ".Drafts" / "cur").iterdir()] == [f"{draft.id}:2,D"]

        link.unlink()  # the link now points elsewhere: the open backend keeps the folder it started with
        link.symlink_to(second_maildir, target_is_directory=True)
        found = (await mailbox.search("in:anywhere", limit=10))[0]
        assert sorted(found) == sorted([first, draft.id])
        assert second not in found
    finally:
        await mailbox.aclose()
