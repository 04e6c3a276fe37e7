"""Gmail-style queries over local mail: each operator, negation, OR and grouping, and the trash/spam scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gmail_mcp.errors import InvalidInputError
from gmail_mcp.query import SearchDocument, parse_query

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def doc(**fields: object) -> SearchDocument:
    values: dict[str, object] = {
        "folder": "INBOX",
        "labels": frozenset({"INBOX", "UNREAD"}),
        "date": NOW - timedelta(hours=25),
        "from_": "María García López <maria.garcia@example.com>",
        "to": "support@aurora-activewear.example",
        "subject": "¿Dónde está mi pedido #1021?",
        "message_id": "<abc.123@mail.example.com>",
    }
    body = str(fields.pop("body", "Hola, todavía no ha llegado el paquete de DHL."))
    values.update(fields)
    return SearchDocument(body=lambda: body, **values)  # type: ignore[arg-type]


def matches(query: str, document: SearchDocument | None = None) -> bool:
    return parse_query(query, now=NOW, me="support@aurora-activewear.example").matches(document or doc())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", True),
        ("in:inbox", True),
        ("in:sent", False),
        ("in:drafts", False),
        ("in:anywhere", True),
        ("is:unread", True),
        ("is:read", False),
        ("is:starred", False),
        ("-is:starred", True),
        ("from:maria.garcia@example.com", True),
        ("from:garcía", True),
        ("from:oliver", False),
        ("to:support@aurora-activewear.example", True),
        ("from:me", False),
        ("to:me", True),
        ("subject:pedido", True),
        ("subject:(dónde pedido)", True),
        ('subject:"mi pedido"', True),
        ('subject:"pedido mi"', False),
        ("rfc822msgid:<abc.123@mail.example.com>", True),
        ("rfc822msgid:abc.123@mail.example.com", True),
        ("rfc822msgid:other@mail.example.com", False),
        ("newer_than:2d", True),
        ("newer_than:1d", False),
        ("older_than:1d", True),
        ("newer_than:1m", True),
        ("older_than:1y", False),
        ("after:2026/11/23", True),
        ("after:2026/11/24", False),
        ("before:2026/11/24", True),
        ("before:2026-11-23", False),
        ("after:1795000000", True),
    ],
)
def test_operators(query: str, expected: bool) -> None:
    assert matches(query) is expected


def test_words_are_whole_words_case_insensitive_over_subject_sender_and_body() -> None:
    assert matches("DHL")  # body
    assert matches("PEDIDO")  # subject
    assert matches("garcía")  # sender name
    assert matches("1021")  # "#1021" in the subject
    assert not matches("pedidos")  # a whole word, not a prefix
    assert not matches("dh")
    assert matches('"el paquete de DHL"')
    assert not matches('"paquete el"')
    assert not matches("support")  # To is not searched by bare words


def test_body_is_read_only_when_cheaper_terms_match() -> None:
    reads: list[int] = []

    def body() -> str:
        reads.append(1)
        return "paquete"

    document = SearchDocument(folder="SENT", labels=frozenset({"SENT"}), date=NOW, body=body)
    assert not parse_query("paquete in:inbox", now=NOW).matches(document)
    assert reads == []
    assert parse_query("paquete in:sent", now=NOW).matches(document)
    assert reads == [1]


def test_labels_match_case_insensitively_with_dashes_for_spaces_and_slashes() -> None:
    document = doc(labels=frozenset({"INBOX", "support/processed", "Needs Human"}))
    for query in ("label:support/processed", "label:SUPPORT/Processed", "label:support-processed"):
        assert matches(query, document), query
    for query in ('label:"needs human"', "label:needs-human", "label:NEEDS-HUMAN"):
        assert matches(query, document), query
    assert not matches("label:support", document)
    assert matches("-label:support/processed")  # the default document has no user label
    assert matches("label:unread")  # system labels are labels too


def test_negation_or_and_groups() -> None:
    assert not matches("-in:inbox")
    assert not matches("-from:maria")
    assert matches("from:oliver OR from:maria")
    assert matches("{from:oliver from:maria}")
    assert not matches("{from:oliver from:zoe}")
    assert matches("in:inbox (is:starred OR is:unread)")
    assert not matches("in:inbox -(is:unread pedido)")
    assert matches("in:inbox AND pedido")
    assert matches("-foo-bar")  # a dash inside a word is part of the word: "-" negates "foo bar"


def test_unknown_operators_and_values_are_searched_as_words() -> None:
    body = "Please quote reference ticket:4471 and has:drive in the form."
    assert matches("ticket:4471", doc(body=body))
    assert matches("has:drive", doc(body=body))
    assert not matches("has:drive")
    assert matches("is:muted", doc(body="this is muted"))


def test_trash_and_spam_are_left_out_unless_asked_for() -> None:
    spam = doc(folder="SPAM", labels=frozenset({"SPAM"}))
    trash = doc(folder="TRASH", labels=frozenset({"TRASH"}))
    for document in (spam, trash):
        assert not matches("pedido", document)
        assert not matches("", document)
        assert matches("in:anywhere pedido", document)
        assert not matches("-in:anywhere", document)
    assert matches("in:spam", spam)
    assert matches("label:trash", trash)
    assert not matches("-in:trash", trash)


@pytest.mark.parametrize(
    "query", ["newer_than:7", "newer_than:dd", "older_than:3w", "after:2026/13/01", "before:today"]
)
def test_malformed_dates_are_refused_with_an_example(query: str) -> None:
    with pytest.raises(InvalidInputError, match=r"e\.g\."):
        parse_query(query)


def test_a_huge_query_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        parse_query("a " * 2000)


def test_unbalanced_brackets_and_quotes_are_tolerated() -> None:
    assert matches("(from:maria")
    assert matches("from:maria)")
    assert matches('"el paquete')
    assert matches("OR pedido")
    assert matches("pedido OR")


def test_lenient_parsing_searches_malformed_dates_as_words() -> None:
    assert parse_query("newer_than:soon", now=NOW, lenient=True).matches(doc(body="see newer_than:soon"))


def test_gmail_operators_beyond_folders_and_headers() -> None:
    invoice = doc(
        labels=frozenset({"INBOX", "IMPORTANT", "CATEGORY_UPDATES", "Support_Escalated", "CHAT"}),
        filenames=("invoice-1021.pdf",),
        bcc="audit@aurora-activewear.example",
    )
    for query in (
        "has:attachment",
        "filename:pdf",
        "invoice",  # bare words search attachment names
        "category:updates",
        "is:important",
        "in:chats",
        "in:important",  # any label works with in:
        "has:userlabels",
        "label:support-escalated",
        "bcc:audit",
        "subject:(pedido OR factura)",
        "subject:(-factura pedido)",
    ):
        assert matches(query, invoice), query
    for query in ("has:nouserlabels", "category:social", "filename:doc", "subject:(factura OR recibo)"):
        assert not matches(query, invoice), query


def test_what_maildir_cannot_know_matches_nothing() -> None:
    for query in ("category:primary", "has:attachment", "filename:pdf", "in:archive", "has:userlabels"):
        assert not matches(query), query
    assert matches("has:nouserlabels")


def test_header_operators_match_whole_words() -> None:
    assert not matches("from:mari")
    assert matches("from:maria")
    assert matches("after:11/23/2026")
