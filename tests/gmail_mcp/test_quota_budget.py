"""What each Gmail tool costs in quota units on the emulator; cheaper drafting still makes one draft per message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from google.oauth2.credentials import Credentials

from gmail_mcp.compose import compose_reply
from gmail_mcp.errors import MailboxUnavailableError
from gmail_mcp.gmail_api import GmailApiBackend
from gmail_mcp.mailbox import Mailbox
from gmail_mcp.mime import parse_message
from gmail_mcp.recent import RecentMail
from support_core.retry import RetryPolicy
from support_testing.gmail_emulator import EMULATOR_TOKEN, GmailEmulator, serve_emulator
from tests.gmail_mcp.emulator.sample_mail import SUPPORT, mail, ms

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ORIGINAL = "<order-1001@example.com>"


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    emulator: GmailEmulator
    url: str
    clock: Clock
    backends: list[GmailApiBackend]

    def mailbox(self) -> Mailbox:
        """A fresh server process's mailbox: new backend, empty memory."""
        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=EMULATOR_TOKEN, refresh_token="r", token_uri=f"{self.url}/token", client_id="c", client_secret="s"
        )
        backend = GmailApiBackend(credentials, api_endpoint=self.url, backoff=RetryPolicy(0.01, 0.02, 2))
        self.backends.append(backend)
        return Mailbox(backend, fallback_query="in:inbox", max_body_chars=100_000, recent=RecentMail(clock=self.clock))

    def mark(self) -> int:
        return len(self.emulator.requests)

    def spent(self, since: int) -> dict[str, int]:
        """Units per method since `since` (labels.list and getProfile, paid once per process, left out)."""
        totals: dict[str, int] = {}
        for record in self.emulator.requests[since:]:
            if record.method and record.units and record.method not in ("users.labels.list", "users.getProfile"):
                name = record.method.removeprefix("users.")
                totals[name] = totals.get(name, 0) + record.units
        return totals


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    emulator = GmailEmulator(address=SUPPORT)
    async with serve_emulator(emulator) as url:
        made = Rig(emulator, url, Clock(), [])
        try:
            yield made
        finally:
            for backend in made.backends:
                await backend.aclose()


def three_message_thread(emulator: GmailEmulator) -> tuple[str, str]:
    """A customer's mail, the shop's answer and the customer's follow-up (with a PDF): (thread id, follow-up id)."""
    first = emulator.deliver(mail(message_id=ORIGINAL), internal_date=ms(2026, 11, 1))
    emulator.deliver(
        mail("Re: Where is my order?", "It ships today.", sender=SUPPORT, to="alice@example.com", in_reply_to=ORIGINAL),
        labels=("SENT",),
        internal_date=ms(2026, 11, 2),
    )
    follow_up = emulator.deliver(
        mail(
            "Re: Where is my order?",
            "Still nothing, the invoice is attached.",
            sender="Alice Exämple <alice@example.com>",
            in_reply_to=ORIGINAL,
            references=ORIGINAL,
            attachment=("invoice.pdf", b"%PDF-" + b"x" * 2000),
        ),
        internal_date=ms(2026, 11, 3),
    )
    assert emulator.message(follow_up).thread_id == first
    return first, follow_up


async def test_get_thread_is_one_threads_get_whatever_its_length(rig: Rig) -> None:
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    await mailbox.backend.address()
    before = rig.mark()
    thread = await mailbox.thread(thread_id)
    assert rig.spent(before) == {"threads.get": 10}
    assert [m.from_me for m in thread.messages] == [False, True, False]
    last = thread.messages[-1]
    assert last.id == follow_up and last.new_text.startswith("Still nothing")
    assert last.headers.from_ is not None and last.headers.from_.name == "Alice Exämple"
    assert [(a.filename, a.size) for a in last.attachments] == [("invoice.pdf", 2005)]


async def test_the_message_read_by_get_message_is_the_same_in_get_thread(rig: Rig) -> None:
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    message = await mailbox.message(follow_up)
    in_thread = next(m for m in (await mailbox.thread(thread_id)).messages if m.id == follow_up)
    assert in_thread.model_dump() == message.model_dump()


async def test_a_pass_costs_5_then_10_then_10_and_a_repeat_nothing(rig: Rig) -> None:
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    await mailbox.backend.address()
    before = rig.mark()
    await mailbox.message(follow_up)
    assert rig.spent(before) == {"messages.get": 5}
    before = rig.mark()
    await mailbox.thread(thread_id)
    assert rig.spent(before) == {"threads.get": 10}
    before = rig.mark()
    draft = await mailbox.create_reply_draft(follow_up, "We are sorry: a new parcel leaves today.")
    assert draft.created and rig.spent(before) == {"drafts.create": 10}
    before = rig.mark()
    again = await mailbox.create_reply_draft(follow_up, "second attempt")
    assert (again.created, again.id, again.message_id) == (False, draft.id, draft.message_id)
    assert rig.spent(before) == {}
    assert len(rig.emulator.mailbox.drafts) == 1


async def test_a_restarted_server_finds_the_draft_and_creates_nothing(rig: Rig) -> None:
    thread_id, follow_up = three_message_thread(rig.emulator)
    first = rig.mailbox()
    await first.message(follow_up)
    await first.thread(thread_id)
    draft = await first.create_reply_draft(follow_up, "A new parcel leaves today.")
    restarted = rig.mailbox()  # memory empty: everything is read again
    await restarted.backend.address()
    before = rig.mark()
    again = await restarted.create_reply_draft(follow_up, "second attempt")
    assert (again.created, again.id) == (False, draft.id)
    assert rig.spent(before) == {"messages.get": 5, "threads.get": 10, "drafts.list": 5}
    assert len(rig.emulator.mailbox.drafts) == 1


async def test_a_restarted_server_in_a_new_pass_pays_only_the_reads(rig: Rig) -> None:
    """After a crash between drafts.create and the ledger, the daemon's next pass reads message and thread anew:
    the draft is found in that thread, so the pass costs 5 + 10 and creates nothing."""
    thread_id, follow_up = three_message_thread(rig.emulator)
    first = rig.mailbox()
    draft = await first.create_reply_draft(follow_up, "A new parcel leaves today.")
    restarted = rig.mailbox()
    await restarted.backend.address()
    before = rig.mark()
    await restarted.message(follow_up)
    await restarted.thread(thread_id)
    again = await restarted.create_reply_draft(follow_up, "second attempt")
    assert (again.created, again.id) == (False, draft.id)
    assert rig.spent(before) == {"messages.get": 5, "threads.get": 10, "drafts.list": 5}


async def test_an_old_snapshot_is_not_trusted(rig: Rig) -> None:
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    await mailbox.message(follow_up)
    await mailbox.thread(thread_id)
    rig.clock.now += mailbox.recent.ttl + 1
    before = rig.mark()
    await mailbox.create_reply_draft(follow_up, "A new parcel leaves today.")
    assert rig.spent(before) == {"messages.get": 5, "threads.get": 10, "drafts.create": 10}


async def test_a_thread_read_before_the_message_is_not_trusted(rig: Rig) -> None:
    """A snapshot from before this pass read the message (e.g. taken for another message of the thread) may
    predate a draft made meanwhile: it is read again."""
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    await mailbox.thread(thread_id)
    rig.clock.now += 1
    await mailbox.message(follow_up)
    before = rig.mark()
    await mailbox.create_reply_draft(follow_up, "A new parcel leaves today.")
    assert rig.spent(before) == {"threads.get": 10, "drafts.create": 10}


async def test_after_a_failed_create_the_thread_is_read_again(rig: Rig) -> None:
    """drafts.create may have worked with its answer lost: the next attempt must look at the thread as it is now."""
    thread_id, follow_up = three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    own = await mailbox.backend.address()
    await mailbox.message(follow_up)
    await mailbox.thread(thread_id)
    rig.emulator.faults.server_error(503, n=5, method="users.drafts.create")
    with pytest.raises(MailboxUnavailableError):
        await mailbox.create_reply_draft(follow_up, "first attempt")
    rig.emulator.faults.clear()
    # what the lost answer would have left behind: a reply draft in the thread
    headers = parse_message(rig.emulator.message(follow_up).raw).headers
    assert headers.from_ is not None
    reply = compose_reply(headers, own_address=own, to=headers.from_, body_text="first attempt")
    draft_id, _ = rig.emulator.mailbox.create_draft(reply.raw, thread_id)
    again = await mailbox.create_reply_draft(follow_up, "second attempt")
    assert (again.created, again.id) == (False, draft_id)
    assert len(rig.emulator.mailbox.drafts) == 1


async def test_a_poll_costs_one_history_list_however_many_arrived(rig: Rig) -> None:
    three_message_thread(rig.emulator)
    mailbox = rig.mailbox()
    await mailbox.backend.address()
    before = rig.mark()
    first = await mailbox.new_messages(None)
    assert first.full_sync and rig.spent(before) == {"messages.list": 5}
    ids = [rig.emulator.deliver(mail(f"Question {n}", f"Body {n}")) for n in range(5)]
    before = rig.mark()
    polled = await mailbox.new_messages(first.cursor)
    assert rig.spent(before) == {"history.list": 2}
    assert [(m.id, m.thread_id) for m in polled.messages] == [(i, rig.emulator.message(i).thread_id) for i in ids]
    before = rig.mark()
    assert (await mailbox.new_messages(polled.cursor)).messages == []
    assert rig.spent(before) == {"history.list": 2}
