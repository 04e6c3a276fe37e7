"""Gmail search (`q`, `labelIds`, `includeSpamTrash`) through the real Google client over a known mailbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from googleapiclient.errors import HttpError

from support_testing.gmail_emulator import GmailEmulator
from tests.gmail_mcp.emulator.conftest import Gmail
from tests.gmail_mcp.emulator.sample_mail import SUPPORT, mail, ms

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.integration,
    pytest.mark.parametrize("emulator", [{"clock": lambda: NOW}], indirect=True, ids=["fixed-clock"]),
]


def fill(emulator: GmailEmulator) -> dict[str, str]:
    """A small mailbox; returns message id -> short name."""
    escalated = emulator.create_label("Support/Escalated")
    deliveries = {
        "order": (
            mail(
                "Where is my order?",
                "Order #1001 has not arrived. Reference ref:ABC-123",
                message_id="<order-1@example.com>",
            ),
            ("INBOX", "UNREAD"),
            ms(2026, 11, 19),
        ),
        "return": (
            mail(
                "Return request for leggings",
                "I want to return the Aurora leggings, size M.",
                sender="Bob Builder <bob@shop.example>",
                cc="carol@example.com",
            ),
            ("INBOX", "STARRED", escalated),
            ms(2026, 10, 1),
        ),
        "spam": (mail("WIN BIG", "Cheap pills", sender="promo@spam.example"), ("SPAM",), ms(2026, 11, 18)),
        "trash": (mail("Old newsletter", "Autumn sale", sender="news@shop.example"), ("TRASH",), ms(2026, 9, 1)),
        "invoice": (
            mail("Invoice attached", "See the invoice.", attachment=("invoice-1001.pdf", b"%PDF")),
            ("INBOX", "UNREAD"),
            ms(2025, 6, 1),
        ),
        "sent": (
            mail("Re: Where is my order?", "It ships today.", sender=SUPPORT, to="alice@example.com"),
            ("SENT",),
            ms(2026, 11, 19) + 1,
        ),
        "german": (
            mail("Rückerstattung für Bestellung", "Ich möchte eine Rückerstattung.", sender="Hans <hans@beispiel.de>"),
            ("INBOX", "CATEGORY_UPDATES"),
            ms(2026, 11, 15),
        ),
    }
    names = {emulator.deliver(raw, labels, date): name for name, (raw, labels, date) in deliveries.items()}
    _, draft = emulator.mailbox.create_draft(
        mail("Re: Return request for leggings", "Draft reply", sender=SUPPORT), None
    )
    names[draft.id] = "draft"
    return names


QUERIES: list[tuple[str, set[str]]] = [
    ("", {"order", "return", "invoice", "sent", "german", "draft"}),
    ("in:inbox", {"order", "return", "invoice", "german"}),
    ("in:inbox is:unread", {"order", "invoice"}),
    ("is:read in:inbox", {"return", "german"}),
    ("is:starred", {"return"}),
    ("in:sent", {"sent"}),
    ("in:drafts", {"draft"}),
    ("WIN", set()),
    ("in:anywhere WIN", {"spam"}),
    ("in:spam", {"spam"}),
    ("in:trash newsletter", {"trash"}),
    ("label:support-escalated", {"return"}),
    ('label:"Support/Escalated"', {"return"}),
    ("label:support/escalated", {"return"}),
    ("label:no-such-label", set()),
    ("-label:support-escalated in:inbox", {"order", "invoice", "german"}),
    ("in:inbox -from:alice", {"return", "german"}),
    ("from:alice@example.com", {"order", "invoice"}),
    ("from:alice", {"order", "invoice"}),
    ("from:ali", set()),
    ("from:me", {"sent", "draft"}),
    ("to:carol@example.com", {"return"}),
    ("to:alice@example.com", {"sent"}),
    ("subject:order", {"order", "sent"}),
    ('subject:"where is my order"', {"order", "sent"}),
    ("subject:(where order)", {"order", "sent"}),
    ("rfc822msgid:<order-1@example.com>", {"order"}),
    ("rfc822msgid:order-1@example.com", {"order"}),
    ("newer_than:2d", {"order", "sent", "draft"}),
    ("newer_than:1m -in:drafts", {"order", "sent", "german"}),
    ("older_than:1y", {"invoice"}),
    ("after:2026/11/01 before:2026/11/19", {"german"}),
    ("after:2026-11-19", {"order", "sent", "draft"}),
    ("has:attachment", {"invoice"}),
    ("filename:pdf", {"invoice"}),
    ("leggings", {"return", "draft"}),
    ("LEGGINGS -in:drafts", {"return"}),
    ("legging", set()),
    ('"Aurora leggings"', {"return"}),
    ('"leggings Aurora"', set()),
    ("order -subject:re", {"order"}),
    ("leggings OR invoice", {"return", "draft", "invoice"}),
    ("{leggings invoice} -in:drafts", {"return", "invoice"}),
    ("(leggings OR invoice) is:unread", {"invoice"}),
    ("Rückerstattung", {"german"}),
    ("category:updates", {"german"}),
    ("ref:ABC-123", {"order"}),
    ("zzz:nothing", set()),
    ("is:important", set()),
    ("has:userlabels", {"return"}),
]


async def test_query_operators(emulator: GmailEmulator, gmail: Gmail) -> None:
    names = fill(emulator)
    wrong = {}
    for q, expected in QUERIES:
        answer = await gmail.call(lambda u, q=q: u.messages().list(userId="me", q=q))
        got = {names[m["id"]] for m in answer.get("messages", [])}
        if got != expected or answer["resultSizeEstimate"] != len(expected):
            wrong[q] = (sorted(got), sorted(expected))
    assert wrong == {}


async def test_label_ids_and_include_spam_trash(emulator: GmailEmulator, gmail: Gmail) -> None:
    names = fill(emulator)

    async def listed(**params: object) -> set[str]:
        answer = await gmail.call(lambda u: u.messages().list(userId="me", **params))
        return {names[m["id"]] for m in answer.get("messages", [])}

    assert await listed(labelIds=["INBOX", "UNREAD"]) == {"order", "invoice"}
    assert await listed(labelIds=[emulator.label_id("Support/Escalated")]) == {"return"}
    assert await listed(labelIds=["SPAM"]) == {"spam"}
    assert await listed(q="newer_than:3d", includeSpamTrash=True) == {"order", "sent", "draft", "spam"}
    with pytest.raises(HttpError) as by_name:
        await listed(labelIds=["Support/Escalated"])  # a label name where Gmail wants an id
    assert by_name.value.status_code == 400 and "Invalid label" in by_name.value.reason


async def test_results_are_newest_first(emulator: GmailEmulator, gmail: Gmail) -> None:
    names = fill(emulator)
    answer = await gmail.call(lambda u: u.messages().list(userId="me", q="in:inbox"))
    assert [names[m["id"]] for m in answer["messages"]] == ["order", "german", "return", "invoice"]
