"""Threading like Gmail, `threads.get`, drafts in threads, and sending refused and recorded."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from support_testing.gmail_emulator import GmailEmulator, normalized_subject
from tests.gmail_mcp.emulator.conftest import Gmail
from tests.gmail_mcp.emulator.sample_mail import SUPPORT, b64url, b64url_decode, mail, ms

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ORIGINAL = "<order-1001@example.com>"


def reply(subject: str = "Re: Where is my order?", refs: str | None = ORIGINAL, body: str = "Any news?") -> bytes:
    return mail(subject, body, in_reply_to=refs, references=refs)


def test_normalised_subject_strips_reply_and_forward_prefixes() -> None:
    assert normalized_subject("RE: AW: Fwd:  Where is my order?") == "where is my order?"
    assert normalized_subject("Re[2]: Hello") == normalized_subject("hello")
    assert normalized_subject("Regarding: order") == "regarding: order"


async def test_replies_join_the_thread_only_with_a_reference_and_the_same_subject(emulator: GmailEmulator) -> None:
    original = emulator.deliver(mail(message_id=ORIGINAL), internal_date=ms(2026, 11, 1))
    joined = emulator.deliver(reply(), internal_date=ms(2026, 11, 2))
    forwarded = emulator.deliver(reply("AW: RE: Fwd: Where is my order?", refs=f"<x@y> {ORIGINAL}"))
    other_subject = emulator.deliver(reply("Something else entirely"))
    no_reference = emulator.deliver(reply(refs=None))
    unknown_reference = emulator.deliver(reply(refs="<never-seen@example.com>"))
    assert emulator.message(joined).thread_id == original
    assert emulator.message(forwarded).thread_id == original
    for alone in (other_subject, no_reference, unknown_reference):
        assert emulator.message(alone).thread_id == alone


async def test_raw_8bit_headers_thread_and_search_like_encoded_ones(emulator: GmailEmulator, gmail: Gmail) -> None:
    first = emulator.deliver(
        "From: Jürgen <j@beispiel.de>\r\n"
        "Subject: Rückerstattung für #1002\r\n"
        "Message-ID: <r1@beispiel.de>\r\n\r\nHallo\r\n".encode()
    )
    answer = emulator.deliver(
        mail("AW: Rückerstattung für #1002", "Danke", sender="Jürgen <j@beispiel.de>", in_reply_to="<r1@beispiel.de>")
    )
    assert emulator.message(answer).thread_id == first
    found = await gmail.call(lambda u: u.messages().list(userId="me", q="from:Jürgen subject:Rückerstattung"))
    assert {m["id"] for m in found["messages"]} == {first, answer}


async def test_threads_get_lists_messages_oldest_first_with_drafts(emulator: GmailEmulator, gmail: Gmail) -> None:
    later = emulator.deliver(reply(), internal_date=ms(2026, 11, 3))
    original = emulator.deliver(mail(message_id=ORIGINAL), internal_date=ms(2026, 11, 1))
    # the reply arrived first (out of order) and referenced an unknown message, so it started its own thread
    assert emulator.message(later).thread_id == later
    second = emulator.deliver(reply(body="Second follow-up"), internal_date=ms(2026, 11, 2))
    draft = await gmail.call(
        lambda u: u.drafts().create(
            userId="me", body={"message": {"raw": b64url(reply(body="Draft answer")), "threadId": original}}
        )
    )
    assert draft["id"].startswith("r") and draft["message"]["threadId"] == original
    thread = await gmail.call(lambda u: u.threads().get(userId="me", id=original))
    assert thread["id"] == original and int(thread["historyId"]) >= int(emulator.message(second).history_id)
    assert [m["id"] for m in thread["messages"]] == [original, second, draft["message"]["id"]]
    assert thread["messages"][-1]["labelIds"] == ["DRAFT"]
    assert all("payload" in m for m in thread["messages"])
    metadata = await gmail.call(
        lambda u: u.threads().get(userId="me", id=original, format="metadata", metadataHeaders=["Message-ID"])
    )
    assert metadata["messages"][0]["payload"]["headers"] == [{"name": "Message-ID", "value": ORIGINAL}]
    minimal = await gmail.call(lambda u: u.threads().get(userId="me", id=original, format="minimal"))
    assert all("payload" not in m for m in minimal["messages"])
    with pytest.raises(HttpError) as missing:
        await gmail.call(lambda u: u.threads().get(userId="me", id="0000000000000000"))
    assert missing.value.status_code == 404


async def test_drafts_create_list_get(emulator: GmailEmulator, gmail: Gmail) -> None:
    original = emulator.deliver(mail(message_id=ORIGINAL))
    raw = reply(body="Grüße aus dem Support-Team: Ihre Bestellung ist unterwegs.")
    created = await gmail.call(
        lambda u: u.drafts().create(userId="me", body={"message": {"raw": b64url(raw), "threadId": original}})
    )
    unthreaded = await gmail.call(
        lambda u: u.drafts().create(userId="me", body={"message": {"raw": b64url(mail("New topic", "x"))}})
    )
    bogus = await gmail.call(
        lambda u: u.drafts().create(
            userId="me", body={"message": {"raw": b64url(mail("Other", "y")), "threadId": "ffffffffffffffff"}}
        )
    )
    assert unthreaded["message"]["threadId"] == unthreaded["message"]["id"]
    assert bogus["message"]["threadId"] == bogus["message"]["id"]
    listed = await gmail.call(lambda u: u.drafts().list(userId="me"))
    assert listed["resultSizeEstimate"] == 3
    assert listed["drafts"][-1] == {
        "id": created["id"],
        "message": {"id": created["message"]["id"], "threadId": original},
    }
    as_raw = await gmail.call(lambda u: u.drafts().get(userId="me", id=created["id"], format="raw"))
    assert as_raw["id"] == created["id"] and b64url_decode(as_raw["message"]["raw"]) == raw
    full = await gmail.call(lambda u: u.drafts().get(userId="me", id=created["id"]))
    assert full["message"]["labelIds"] == ["DRAFT"] and full["message"]["payload"]["mimeType"] == "text/plain"
    with pytest.raises(HttpError) as no_raw:
        await gmail.call(lambda u: u.drafts().create(userId="me", body={"message": {"threadId": original}}))
    assert no_raw.value.status_code == 400
    with pytest.raises(HttpError) as not_base64:
        await gmail.call(lambda u: u.drafts().create(userId="me", body={"message": {"raw": "a+b/c"}}))
    assert not_base64.value.status_code == 400


@pytest.mark.parametrize("strict", [False, True])
async def test_strict_threading_needs_references_and_subject(
    gmail: Gmail, emulator: GmailEmulator, strict: bool
) -> None:
    emulator.mailbox.strict_threading = strict
    original = emulator.deliver(mail(message_id=ORIGINAL))

    async def thread_of(raw: bytes) -> str:
        body = {"message": {"raw": b64url(raw), "threadId": original}}
        return str((await gmail.call(lambda u: u.drafts().create(userId="me", body=body)))["message"]["threadId"])

    assert await thread_of(reply()) == original
    loose = [await thread_of(reply(refs=None)), await thread_of(reply("A different subject"))]
    assert [t == original for t in loose] == [not strict, not strict]


async def test_sending_is_refused_and_recorded(emulator: GmailEmulator, gmail: Gmail) -> None:
    draft = emulator.mailbox.create_draft(reply(), None)[0]
    before = len(emulator.mailbox.messages)
    with pytest.raises(HttpError) as by_message:
        raw = b64url(mail("Hi", "sent?", sender=SUPPORT, to="alice@example.com"))
        await gmail.call(lambda u: u.messages().send(userId="me", body={"raw": raw}), num_retries=2)
    with pytest.raises(HttpError) as by_draft:
        await gmail.call(lambda u: u.drafts().send(userId="me", body={"id": draft}), num_retries=2)
    for refused in (by_message.value, by_draft.value):
        assert refused.status_code == 403
        assert "Sending is disabled in the Gmail emulator" in refused.reason
        assert json.loads(refused.content)["error"]["errors"][0]["reason"] == "forbidden"
    assert [(a.method, json.loads(a.body)) for a in emulator.send_attempts] == [
        ("users.messages.send", {"raw": raw}),
        ("users.drafts.send", {"id": draft}),
    ]  # one attempt each: a plain 403 is not retried
    assert len(emulator.mailbox.messages) == before
    assert not any("SENT" in m.label_ids for m in emulator.mailbox.messages.values())
