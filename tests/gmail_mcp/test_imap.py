"""The IMAP backend against a real Dovecot: what the shared conformance suite (test_server.py) does not reach.

Reading leaves mail unread, stale cursors, IDLE, labels as keywords, all-or-nothing label changes, reconnecting,
timeouts, refused logins, the settings' safety rules, `gmail-mcp auth --imap` and `diagnose`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from gmail_mcp import open_mailbox
from gmail_mcp.config import GmailSettings, load_settings
from gmail_mcp.errors import ConfigError, MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.imap import ImapBackend
from gmail_mcp.imap_connection import ImapConnection, ImapEndpoint, ImapLoginError
from gmail_mcp.imap_names import keyword_of, label_of_keyword, parse_cursor
from gmail_mcp.mailbox import _ID, Mailbox
from gmail_mcp.server import create_server
from support_core.diagnosis import Diagnosis
from support_core.retry import RetryPolicy
from support_testing.dovecot import PASSWORD, DovecotServer

pytestmark = pytest.mark.anyio
OWN = "support@aurora-activewear.example"
_ATOM = re.compile(r'^[^(){ %*"\\\]\x00-\x1f\x7f]+$')


def mail(number: int, **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return (
        f"From: Ana <ana@example.com>\r\nTo: {OWN}\r\nSubject: Question {number}\r\n"
        f"Message-ID: <q{number}@example.com>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Do the leggings run small, question {number}?\r\n"
    ).encode()


def endpoint(dovecot: DovecotServer, user: str, password: str = PASSWORD) -> ImapEndpoint:
    return ImapEndpoint(dovecot.host, dovecot.port, user, password, tls="none", timeout=10)


@pytest.fixture
async def account(dovecot: DovecotServer) -> AsyncIterator[tuple[ImapBackend, str]]:
    user = dovecot.new_user()
    for number in (1, 2, 3):
        dovecot.deliver(user, mail(number))
    backend = ImapBackend(ImapConnection(endpoint(dovecot, user), RetryPolicy(0.01, 0.05, 3)), address=OWN)
    try:
        yield backend, user
    finally:
        await backend.aclose()


async def until(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Wait for `check` (run in a worker thread: it may look at the server) to hold; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await anyio.to_thread.run_sync(check):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {within:g} s waiting for {what}")
        await anyio.sleep(0.02)


def flags_of(dovecot: DovecotServer, user: str) -> dict[int, set[bytes]]:
    client = dovecot.client(user)
    try:
        client.select_folder("INBOX", readonly=True)
        return {uid: set(data[b"FLAGS"]) for uid, data in client.fetch(client.search(["ALL"]), [b"FLAGS"]).items()}
    finally:
        client.logout()


# --- names --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["support/processed", "Needs review", "café ☕", "a+b", "$money", "100% (sure)"])
def test_labels_become_atom_keywords_and_come_back_unchanged(label: str) -> None:
    keyword = keyword_of(label)
    assert _ATOM.match(keyword) and keyword[0] not in "\\$"
    assert label_of_keyword(keyword) == label
    assert label_of_keyword("$Forwarded") is None and label_of_keyword("\\Seen") is None


def test_a_connection_sends_each_command_at_once(dovecot: DovecotServer) -> None:
    """Nagle is off: imapclient writes a command's line and its CRLF separately, and with Nagle the CRLF waited for
    the server's ACK of the line (up to a 40 ms delayed ACK) on every command."""
    client = endpoint(dovecot, dovecot.new_user()).open()
    try:
        assert client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.logout()


def test_a_cursor_carries_uidvalidity_and_uid_as_one_number() -> None:
    cursor = parse_cursor(str((1796425073 << 32) | 42))
    assert cursor is not None and (cursor.uidvalidity, cursor.last_uid) == (1796425073, 42)
    assert parse_cursor("1796425073:42") is None and parse_cursor("") is None and parse_cursor("9" * 25) is None


# --- reading and syncing -------------------------------------------------------------------------------------


async def test_ids_are_valid_sort_in_arrival_order_and_reading_leaves_mail_unread(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    backend, user = account
    first = await backend.changes(None, fallback_query="in:inbox", limit=50)
    assert first.full_sync and len(first.message_ids) == 3
    assert all(_ID.match(message_id) for message_id in first.message_ids)
    assert first.message_ids == sorted(first.message_ids), "oldest first, and ids sort the same way"
    for message_id in first.message_ids:
        message = await backend.fetch(message_id)
        assert "UNREAD" in message.labels and message.raw.startswith(b"From: Ana")
        await backend.fetch_thread(message.thread_id)
    assert (await backend.search("small", limit=10))[0], "a body word is found"
    assert all(b"\\Seen" not in flags for flags in flags_of(dovecot, user).values()), "reading marked mail read"


async def test_new_mail_after_a_cursor_and_a_cursor_from_another_uidvalidity(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    backend, user = account
    first = await backend.changes(None, fallback_query="in:inbox", limit=50)
    dovecot.deliver(user, mail(4))
    later = await backend.changes(first.cursor, fallback_query="in:inbox", limit=50)
    assert not later.full_sync and len(later.message_ids) == 1
    assert (await backend.fetch(later.message_ids[0])).raw.count(b"question 4") == 1
    assert later.thread_ids[later.message_ids[0]], "the listing names the thread"
    cursor = parse_cursor(later.cursor)
    assert cursor is not None
    renumbered = str(((cursor.uidvalidity - 1) << 32) | cursor.last_uid)
    stale = await backend.changes(renumbered, fallback_query="in:inbox", limit=50)
    assert stale.full_sync and len(stale.message_ids) == 4


async def test_a_current_cursor_waits_in_idle_and_answers_when_mail_arrives(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    backend, user = account
    mailbox = Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000)
    current = (await mailbox.new_messages(None, 50)).cursor
    started = time.monotonic()
    quiet = await mailbox.new_messages(current, 50, wait=0.6)
    assert quiet.messages == [] and quiet.waited, "nothing new: it watched the inbox"
    assert time.monotonic() - started >= 0.55, "it waited in IDLE for the time asked"
    started = time.monotonic()
    assert not (await mailbox.new_messages(current, 50)).waited, "no wait asked: it answers at once"
    assert time.monotonic() - started < 0.5

    answer: list[Any] = []

    async def listen() -> None:
        answer.append(await mailbox.new_messages(current, 50, wait=60.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await until(lambda: dovecot.idling(user) == 1, "the wait to be in IDLE")
        assert not answer, "no mail yet: still waiting"
        started = time.monotonic()
        await anyio.to_thread.run_sync(lambda: dovecot.deliver(user, mail(9)))
    assert time.monotonic() - started < 10, "new mail ends the wait within seconds, not after 60 s"
    assert len(answer[0].messages) == 1 and answer[0].waited

    backend.idle_wait = 0.0  # GMAIL_IMAP_IDLE_WAIT=0 turns IDLE off
    started = time.monotonic()
    off = await mailbox.new_messages(answer[0].cursor, 50, wait=60.0)
    assert not off.waited and off.messages == [] and time.monotonic() - started < 5


async def test_mail_expunged_before_the_poll_moves_the_cursor_on_so_the_next_wait_really_waits(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    """A message that arrived and was deleted between two polls leaves UIDNEXT above the last UID listed: the
    cursor must pass it, or every IDLE wait would end at once (the inbox looking newer than the cursor forever)."""
    backend, user = account
    mailbox = Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000)
    current = (await mailbox.new_messages(None, 50)).cursor
    dovecot.deliver(user, mail(11))
    client = dovecot.client(user)
    try:
        client.select_folder("INBOX")
        client.delete_messages(client.search(["HEADER", "Message-ID", "<q11@example.com>"]))
        client.expunge()
    finally:
        client.logout()
    quiet = await mailbox.new_messages(current, 50)
    assert quiet.messages == [] and quiet.cursor != current, "the deleted message's UID is behind the cursor now"
    started = time.monotonic()
    waited = await mailbox.new_messages(quiet.cursor, 50, wait=0.6)
    assert waited.waited and waited.messages == [] and time.monotonic() - started >= 0.55


async def test_a_cancelled_idle_wait_ends_at_once_and_the_next_one_works(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    backend, user = account
    current = (await backend.changes(None, fallback_query="in:inbox", limit=50)).cursor
    waiting = anyio.CancelScope()

    async def wait() -> None:
        with waiting:
            await backend.wait_for_mail(current, 60.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await until(lambda: dovecot.idling(user) == 1, "the wait to be in IDLE")
        started = time.monotonic()
        waiting.cancel()
    assert time.monotonic() - started < 2, "cancelling the caller ends the wait at once"
    await until(lambda: dovecot.idling(user) == 0, "the abandoned wait to leave IDLE (within one slice)")
    answer: list[bool | None] = []

    async def listen() -> None:
        answer.append(await backend.wait_for_mail(current, 30.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await until(lambda: dovecot.idling(user) == 1, "the next wait to be in IDLE")
        await anyio.to_thread.run_sync(lambda: dovecot.deliver(user, mail(10)))
    assert answer == [True]


# --- labels ----------------------------------------------------------------------------------------------------


async def test_labels_are_keywords_and_a_change_with_an_unknown_id_changes_nothing(
    dovecot: DovecotServer, account: tuple[ImapBackend, str]
) -> None:
    backend, user = account
    ids = (await backend.changes(None, fallback_query="in:inbox", limit=50)).message_ids
    missing = ids[0].rsplit(".", 1)[0] + ".0000009999"
    with pytest.raises(MessageNotFoundError, match="no labels were changed"):
        await backend.modify([ids[0], missing], add=["Needs review"], remove=["UNREAD"])
    assert all(flags == set() for flags in flags_of(dovecot, user).values()), "the known message was changed"

    created = await backend.modify([ids[0]], add=["Needs review", "café", "STARRED"], remove=["UNREAD"])
    assert created == ["Needs review", "café"]
    labels = (await backend.fetch(ids[0])).labels
    assert {"INBOX", "STARRED", "Needs review", "café"} <= set(labels) and "UNREAD" not in labels
    assert await backend.modify([ids[1]], add=["Needs review"], remove=[]) == [], "the keyword exists already"
    assert [ids[1], ids[0]] == (await backend.search('label:"needs review"', limit=10))[0]
    assert {b"\\Seen", b"\\Flagged", b"Needs+20review"} <= flags_of(dovecot, user)[1]


# --- connections -----------------------------------------------------------------------------------------------


async def test_a_dropped_connection_is_opened_again(dovecot: DovecotServer, account: tuple[ImapBackend, str]) -> None:
    backend, user = account
    first = await backend.changes(None, fallback_query="in:inbox", limit=50)
    config = str(dovecot.folder / "dovecot.conf")
    kicked = await anyio.run_process(["doveadm", "-c", config, "kick", user], check=False)
    assert kicked.returncode == 0 and user in kicked.stdout.decode(), kicked.stderr
    assert (await backend.fetch(first.message_ids[0])).id == first.message_ids[0]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word (an IMAP server that hangs)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


async def test_a_server_that_never_answers_times_out_and_is_retried_then_reported(silent_server: int) -> None:
    silent = ImapEndpoint("127.0.0.1", silent_server, "user", "secret-password", tls="none", timeout=0.15)
    backend = ImapBackend(ImapConnection(silent, RetryPolicy(0.01, 0.02, 2)), address=OWN)
    started = time.monotonic()
    with pytest.raises(MailboxUnavailableError, match="did not answer") as failure:
        await backend.fetch("i.0000000001.0000000001")
    assert time.monotonic() - started < 5 and "secret-password" not in str(failure.value)
    await backend.aclose()


async def test_a_refused_login_is_reported_at_once(dovecot: DovecotServer) -> None:
    wrong = endpoint(dovecot, dovecot.new_user(), "not-the-password")
    backend = ImapBackend(ImapConnection(wrong, RetryPolicy(5.0, 5.0, 3)), address=OWN)
    started = time.monotonic()
    with pytest.raises(ImapLoginError, match="GMAIL_IMAP_USER") as failure:
        await backend.list_drafts(limit=5)
    assert time.monotonic() - started < 4, "a refused login is not retried"
    assert "not-the-password" not in str(failure.value)
    await backend.aclose()


# --- settings, setup and diagnosis ----------------------------------------------------------------------------


def imap_settings(**values: Any) -> GmailSettings:
    base: dict[str, Any] = {"backend": "imap", "imap_host": "127.0.0.1", "imap_user": "u", "imap_password": "p"}
    return GmailSettings(_env_file=None, **{**base, **values})


def test_settings_refuse_plain_imap_to_another_host_and_a_readable_password_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GMAIL_IMAP_TLS=none"):
        load_settings(_env_file=None, backend="imap", imap_host="mail.example.com", imap_user="u", imap_password="p",
                      imap_tls="none")  # fmt: skip
    with pytest.raises(ConfigError, match="GMAIL_IMAP_HOST"):
        load_settings(_env_file=None, backend="imap", imap_user="u", imap_password="p")
    secret = tmp_path / "password"
    secret.write_text("app-password\n")
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        imap_settings(imap_password=None, imap_password_file=secret).imap_secret()
    secret.chmod(0o600)
    assert imap_settings(imap_password=None, imap_password_file=secret).imap_secret() == "app-password"
    assert imap_settings().imap_port_number == 993 and imap_settings(imap_tls="starttls").imap_port_number == 143


def test_auth_imap_checks_the_login_and_writes_an_owner_only_env_file(dovecot: DovecotServer, tmp_path: Path) -> None:
    user = dovecot.new_user()
    env_file = tmp_path / "conf" / "imap.env"
    command = [sys.executable, "-m", "gmail_mcp", "auth", "--imap", "--host", dovecot.host, "--port", str(dovecot.port)]
    command += ["--tls", "none", "--user", user, "--address", OWN, "--env-file", str(env_file)]
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GMAIL_IMAP_PASSWORD": PASSWORD}
    done = subprocess.run(command, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "drafts go to 'Drafts'" in done.stderr and "IDLE: yes" in done.stderr
    assert env_file.stat().st_mode & 0o777 == 0o600
    written = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert written["GMAIL_BACKEND"] == "imap" and written["GMAIL_IMAP_USER"] == user
    assert written["GMAIL_IMAP_PORT"] == str(dovecot.port) and written["GMAIL_ADDRESS"] == OWN

    refused = subprocess.run(
        command, env={**environment, "GMAIL_IMAP_PASSWORD": "wrong"}, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "refused the login" in refused.stderr and "Traceback" not in refused.stderr


@asynccontextmanager
async def server_client(settings: GmailSettings) -> AsyncIterator[Client]:
    async with (
        open_mailbox(settings) as (mailbox, name),
        Client(create_server(mailbox, backend_name=name, settings=settings)) as client,
    ):
        yield client


async def test_diagnose_checks_the_login_the_drafts_folder_and_the_inbox(dovecot: DovecotServer) -> None:
    user = dovecot.new_user()
    dovecot.deliver(user, mail(1))
    values = {"imap_host": dovecot.host, "imap_port": dovecot.port, "imap_tls": "none", "imap_user": user}
    settings = imap_settings(**values, imap_password=PASSWORD, address=OWN, max_retries=0)
    async with server_client(settings) as client:
        result = await client.call_tool("diagnose", {"call_timeout": 5})
        info = await client.call_tool("mailbox_info", {})
    assert result.structured_content is not None and info.structured_content is not None
    checks = {check.name: check for check in Diagnosis.model_validate(result.structured_content).checks}
    assert checks["Gmail backend"].ok and f"IMAP {dovecot.host}:{dovecot.port}" in checks["Gmail backend"].detail
    assert checks["IMAP login"].ok and "IDLE" in checks["IMAP login"].detail
    assert "QRESYNC (only changed flags are read" in checks["IMAP login"].detail
    assert checks["IMAP drafts folder"].ok and checks["IMAP drafts folder"].detail == "Drafts"
    assert checks["Gmail mailbox"].detail.startswith(f"{OWN} (INBOX holds 1 messages")
    assert info.structured_content == {"address": OWN, "backend": "imap"}

    wrong = imap_settings(**values, imap_password="wrong", address=OWN, max_retries=0)
    async with server_client(wrong) as client:
        result = await client.call_tool("diagnose", {"call_timeout": 5})
    assert result.structured_content is not None
    failing = {check.name: check for check in Diagnosis.model_validate(result.structured_content).checks}
    assert failing["IMAP login"].ok is False and "refused the login" in failing["IMAP login"].detail
    assert failing["IMAP drafts folder"].ok is None
