"""Tool-argument validation and search-query quoting."""

from __future__ import annotations

import pytest

from shopify_mcp.errors import InvalidInputError
from shopify_mcp.inputs import (
    normalise_code,
    normalise_email,
    normalise_handle,
    normalise_order_number,
    same_email,
    search_text,
    search_value,
)


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
    assert normalise_email("  Maria.Garcia@Example.COM ") == "maria.garcia@example.com"


@pytest.mark.parametrize(
    "raw", ["maria", "a@b", "a b@c.com", "Maria <m@x.com>", 'x"@y.com', "a@b.com\r\nBcc: x@y.com", "a@-b.com"]
)
def test_malformed_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInputError, match="customer_email"):
        normalise_email(raw)


def test_ownership_ignores_only_case_and_surrounding_space() -> None:
    assert same_email(" Maria@Example.com", "maria@example.com ")
    assert not same_email("maria+1@example.com", "maria@example.com")
    assert not same_email("m.aria@example.com", "maria@example.com")
    assert not same_email(None, "maria@example.com")
    assert not same_email("", "")


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
