"""Messages through the real Google client: list, get in every format, raw round trips, modify, insert."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from support_testing.gmail_emulator import GmailEmulator
from tests.gmail_mcp.emulator.conftest import Gmail
from tests.gmail_mcp.emulator.sample_mail import b64url, b64url_decode, mail, ms

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

PDF = b"%PDF-1.4 invoice 1001\n%%EOF\n"


def error_body(exc: HttpError) -> dict[str, object]:
    body = json.loads(exc.content)
    assert isinstance(body, dict)
    error = body["error"]
    assert isinstance(error, dict)
    return error


async def test_full_format_builds_gmails_payload_tree(emulator: GmailEmulator, gmail: Gmail) -> None:
    raw = mail(
        "Invoice for order #1001",
        "Hi, the invoice is attached. It's overdue & <urgent>.",
        html="<p>Hi, the invoice is <b>attached</b>.</p>",
        attachment=("invoice-1001.pdf", PDF),
    )
    message_id = emulator.deliver(raw)
    got = await gmail.call(lambda u: u.messages().get(userId="me", id=message_id))
    assert got["id"] == got["threadId"] == message_id
    assert got["labelIds"] == ["INBOX", "UNREAD"]
    assert got["snippet"] == "Hi, the invoice is attached. It&#39;s overdue &amp; &lt;urgent&gt;."
    assert got["sizeEstimate"] == len(raw) and got["internalDate"].isdigit()
    payload = got["payload"]
    assert (payload["partId"], payload["mimeType"], payload["body"]) == ("", "multipart/mixed", {"size": 0})
    headers = {h["name"]: h["value"] for h in payload["headers"]}
    assert headers["Subject"] == "Invoice for order #1001" and headers["From"] == "Alice Example <alice@example.com>"
    alternative, pdf = payload["parts"]
    assert (alternative["partId"], alternative["mimeType"]) == ("0", "multipart/alternative")
    plain, markup = alternative["parts"]
    assert (plain["partId"], plain["mimeType"], markup["partId"], markup["mimeType"]) == (
        "0.0",
        "text/plain",
        "0.1",
        "text/html",
    )
    assert b64url_decode(plain["body"]["data"]).decode() == "Hi, the invoice is attached. It's overdue & <urgent>.\r\n"
    assert "=" not in plain["body"]["data"]
    assert plain["body"]["size"] == len(b64url_decode(plain["body"]["data"]))
    assert (pdf["partId"], pdf["mimeType"], pdf["filename"]) == ("1", "application/pdf", "invoice-1001.pdf")
    assert "data" not in pdf["body"] and pdf["body"]["size"] == len(PDF)
    attachment = await gmail.call(
        lambda u: u.messages().attachments().get(userId="me", messageId=message_id, id=pdf["body"]["attachmentId"])
    )
    assert b64url_decode(attachment["data"]) == PDF and attachment["size"] == len(PDF)


@pytest.mark.parametrize("padding", [0, 1, 2])
async def test_raw_round_trips_byte_for_byte_without_padding(
    emulator: GmailEmulator, gmail: Gmail, padding: int
) -> None:
    raw = mail("Odd  spacing\t and CRLF", "line one\r\n\r\n  indented line\r\ntrailing spaces   \r\n")
    raw += b"x" * ((padding - len(raw)) % 3)  # vary the length so every base64 padding case occurs
    message_id = emulator.deliver(raw)
    got = await gmail.call(lambda u: u.messages().get(userId="me", id=message_id, format="raw"))
    assert "payload" not in got and "=" not in got["raw"]
    assert b64url_decode(got["raw"]) == raw


async def test_non_ascii_messages_round_trip_and_decode(emulator: GmailEmulator, gmail: Gmail) -> None:
    raw = (
        "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@beispiel.de>\r\n"
        "To: support@aurora-activewear.example\r\n"
        "Subject: =?utf-8?b?UsO8Y2tlcnN0YXR0dW5nIGbDvHIgQmVzdGVsbHVuZyAjMTAwMg==?=\r\n"
        "Message-ID: <rueck-1002@beispiel.de>\r\n"
        "X-Raw-Header: naïve café\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Ich möchte eine Rückerstattung. 日本語も大丈夫 🙂\r\n"
        "--b1\r\n"
        "Content-Type: text/html; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>Gr=FC=DFe</p>\r\n"
        "--b1--\r\n"
    ).encode()
    message_id = emulator.deliver(raw)
    got = await gmail.call(lambda u: u.messages().get(userId="me", id=message_id, format="raw"))
    assert b64url_decode(got["raw"]) == raw
    full = await gmail.call(lambda u: u.messages().get(userId="me", id=message_id))
    headers = {h["name"]: h["value"] for h in full["payload"]["headers"]}
    assert headers["Subject"] == "Rückerstattung für Bestellung #1002"
    assert headers["From"] == "Jürgen Müller <juergen@beispiel.de>"
    assert headers["X-Raw-Header"] == "naïve café"
    plain, markup = full["payload"]["parts"]
    assert b64url_decode(plain["body"]["data"]).decode("utf-8") == "Ich möchte eine Rückerstattung. 日本語も大丈夫 🙂"
    assert b64url_decode(markup["body"]["data"]) == "<p>Grüße</p>".encode("iso-8859-1")
    assert full["snippet"].startswith("Ich möchte eine Rückerstattung.")
    found = await gmail.call(lambda u: u.messages().list(userId="me", q="Rückerstattung 日本語も大丈夫"))
    assert [m["id"] for m in found["messages"]] == [message_id]


async def test_metadata_minimal_and_bad_formats(emulator: GmailEmulator, gmail: Gmail) -> None:
    message_id = emulator.deliver(mail())
    metadata = await gmail.call(
        lambda u: u.messages().get(userId="me", id=message_id, format="metadata", metadataHeaders=["from", "Subject"])
    )
    assert [h["name"] for h in metadata["payload"]["headers"]] == ["From", "Subject"]
    assert "parts" not in metadata["payload"] and "body" not in metadata["payload"]
    minimal = await gmail.call(lambda u: u.messages().get(userId="me", id=message_id, format="minimal"))
    assert "payload" not in minimal and "raw" not in minimal
    assert set(minimal) >= {"id", "threadId", "labelIds", "historyId", "internalDate", "sizeEstimate"}
    with pytest.raises(HttpError) as missing:
        await gmail.call(lambda u: u.messages().get(userId="me", id="ffffffffffffffff"))
    assert missing.value.status_code == 404
    error = error_body(missing.value)
    assert error["status"] == "NOT_FOUND" and error["errors"] == [
        {"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}
    ]


async def test_list_pages_newest_first(emulator: GmailEmulator, gmail: Gmail) -> None:
    ids = [emulator.deliver(mail(f"Question {n}", f"body {n}"), internal_date=ms(2026, 11, 1 + n)) for n in range(7)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await gmail.call(lambda u, t=token: u.messages().list(userId="me", maxResults=3, pageToken=t))
        pages += 1
        assert page["resultSizeEstimate"] == 7
        seen += [m["id"] for m in page["messages"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert pages == 3 and seen == ids[::-1]
    empty = await gmail.call(lambda u: u.messages().list(userId="me", q="nothing-matches-this"))
    assert empty == {"resultSizeEstimate": 0}
    capped = await gmail.call(lambda u: u.messages().list(userId="me", maxResults=5000))
    assert len(capped["messages"]) == 7


async def test_modify_batch_modify_and_insert(emulator: GmailEmulator, gmail: Gmail) -> None:
    first, second = emulator.deliver(mail("One", "1")), emulator.deliver(mail("Two", "2"))
    modified = await gmail.call(
        lambda u: u.messages().modify(
            userId="me", id=first, body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}
        )
    )
    assert modified == {"id": first, "threadId": first, "labelIds": ["INBOX", "STARRED"]}
    answer = await gmail.call(
        lambda u: u.messages().batchModify(userId="me", body={"ids": [first, second], "removeLabelIds": ["INBOX"]})
    )
    assert not answer  # 204 No Content
    assert emulator.message(first).label_ids == ["STARRED"] and emulator.message(second).label_ids == ["UNREAD"]
    with pytest.raises(HttpError) as too_many:
        await gmail.call(lambda u: u.messages().batchModify(userId="me", body={"ids": [first] * 1001}))
    assert too_many.value.status_code == 400
    inserted = await gmail.call(
        lambda u: u.messages().insert(userId="me", body={"raw": b64url(mail("Inserted", "3")), "labelIds": ["INBOX"]})
    )
    assert emulator.message(inserted["id"]).label_ids == ["INBOX"]
    profile = await gmail.call(lambda u: u.getProfile(userId="me"))
    assert profile["emailAddress"] == "support@aurora-activewear.example"
    assert (profile["messagesTotal"], profile["threadsTotal"]) == (3, 3)
    assert profile["historyId"] == str(emulator.history_id) and int(profile["historyId"]) > 1_000_000
