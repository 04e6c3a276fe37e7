"""Tool-argument validation and search-query quoting."""

from __future__ import annotations

import pytest

from shopify_mcp.errors import InvalidInputError
from shopify_mcp.inputs import (
    email_filter,
    normalise_code,
    normalise_customer_email,
    normalise_handle,
    normalise_order_number,
    search_text,
    search_value,
)
from shopify_mcp.orders import owned_by


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1001", "#1001"), ("#1001", "#1001"), (" #1001 ", "#1001"), (1001, "#1001"), ("AB-77", "#AB-77")],
)
def test_order_numbers_are_normalised(raw: str | int, expected: str) -> None:
    assert normalise_order_number(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "#", "10 01", "1001 OR name:*", '1001"', "#" + "9" * 40, "\uff11\uff10\uff10\uff11"]
)
def test_malformed_order_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInputError, match="order_number"):
        normalise_order_number(raw)


def test_emails_are_lowercased_and_stripped() -> None:
    assert normalise_customer_email("  Maria.Garcia@Example.COM ") == "maria.garcia@example.com"


def test_idn_domains_have_one_form() -> None:
    assert normalise_customer_email("Maria@XN--BCHER-KVA.example") == "maria@bücher.example"
    assert normalise_customer_email("maria@Bücher.example") == "maria@bücher.example"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("maria", "no @"),
        ("a b@c.com", "no spaces"),
        ("Maria <m@x.com>", "no spaces"),
        ("maria@example.com <x@y>", "no spaces"),
        ('x"@y.com', "not a valid email address"),
        ("a@b.com\r\nBcc: x@y.com", "no spaces"),
        ("a@-b.com", "hyphen"),
        ("\u212aate@example.com", "confusable"),  # KELVIN SIGN, which case folding turns into "k"
        ("\u017fam@example.com", "confusable"),  # LONG S, which case folding turns into "s"
    ],
)
def test_malformed_emails_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match="customer_email must be one email address") as caught:
        normalise_customer_email(raw)
    assert reason in str(caught.value)


def test_ownership_uses_the_shared_normal_form() -> None:
    order = {"email": "Maria@Example.com", "customer": {"defaultEmailAddress": {"emailAddress": "m2@x.example"}}}
    assert owned_by(order, "maria@example.com")
    assert owned_by(order, "M2@X.EXAMPLE"), "the customer's default address owns the order too"
    assert not owned_by(order, "maria+1@example.com")
    assert not owned_by(order, "m.aria@example.com")
    assert not owned_by(order, None)
    assert not owned_by({"email": "kate@example.com"}, "\u212aate@example.com"), "casefold would say yes"
    assert owned_by({"email": "maria@xn--bcher-kva.example"}, "maria@bücher.example")


def test_email_filter_quotes_and_asks_for_both_forms_of_an_idn_domain() -> None:
    assert email_filter("maria@example.com") == 'email:"maria@example.com"'
    assert email_filter("maria@bücher.example") == (
        '(email:"maria@bücher.example" OR email:"maria@xn--bcher-kva.example")'
    )
    assert email_filter('"a\\"b"@example.com') == 'email:"\\"a\\\\\\"b\\"@example.com"'


def test_search_values_cannot_escape_their_quotes() -> None:
    assert search_value('x" OR email:*') == '"x\\" OR email:*"'
    assert search_value("a\\") == '"a\\\\"'


def test_search_text_quotes_every_word() -> None:
    assert search_text("black  leggings") == '"black" "leggings"'
    with pytest.raises(InvalidInputError):
        search_text("   ")
    with pytest.raises(InvalidInputError):
        search_text("x" * 201)


def test_handles_and_codes() -> None:
    assert normalise_handle(" Merino-Tee ") == "merino-tee"
    with pytest.raises(InvalidInputError):
        normalise_handle("../etc/passwd")
    assert normalise_code(" welcome10 ") == "welcome10"
    with pytest.raises(InvalidInputError):
        normalise_code("bad\ncode")
