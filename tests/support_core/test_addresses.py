"""Strict address parsing and the one normal form: the header tricks that put data in an attacker's hands."""

from __future__ import annotations

import random
import string

import pytest

from support_core.addresses import AddressError, normalise_address, parse_mailboxes, same_address


def words(value: str) -> str:
    """A stand-in RFC 2047 decoder for the tests (the Gmail server passes its own, fuller one)."""
    return value.replace("=?utf-8?q?maria=40example.com?=", "maria@example.com")


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("Maria Garcia <Maria.Garcia@Example.com>", "maria.garcia@example.com"),
        ("maria@example.com", "maria@example.com"),
        ("maria@example.com (Maria Garcia)", "maria@example.com"),
        ('"Garcia, Maria" <maria@example.com>', "maria@example.com"),
        ("J. R. Smith <jr@example.com>", "jr@example.com"),
        ("O'Brien <ob@example.ie>", "ob@example.ie"),
        ("Marilù <Marilù.Gioffré@esempio-università.it>", "marilù.gioffré@esempio-università.it"),
        ("<maria@xn--esempio-universit-4ob.it>", "maria@esempio-università.it"),
    ],
)
def test_clean_headers_give_one_address(header: str, address: str) -> None:
    parsed = parse_mailboxes(header)
    assert parsed.clean, parsed.defects
    assert [m.address for m in parsed.mailboxes] == [address]


@pytest.mark.parametrize(
    ("header", "replied_to", "defect"),
    [
        # the mail system replies to the address in angle brackets; the look-alike is only a name
        ("maria.garcia@example.com <mallory@evil.example>", "mallory@evil.example", "display name holds an address"),
        ('"maria@example.com" <mallory@evil.example>', "mallory@evil.example", "display name holds an address"),
        ("=?utf-8?q?maria=40example.com?= <mallory@evil.example>", "mallory@evil.example", "display name"),
        ("victim@example.com (x) <mallory@evil.example>", "mallory@evil.example", "display name holds an address"),
        ("<victim@example.com>mallory@evil.example", "victim@example.com", "text after the <address>"),
        ("Maria <maria@example.com> <mallory@evil.example>", "maria@example.com", "several <addresses>"),
        ("<@relay.example:maria@example.com>", "maria@example.com", "route address"),
        ("friends: maria@example.com, mallory@evil.example;", "maria@example.com", "group syntax"),
        ("Maria <maria@ex\u200bample.com>", "maria@example.com", "invisible characters"),
        ("<maria@example.com", "maria@example.com", "'<' without '>'"),
        ("maria@example.com (Maria mallory@evil.example)", "maria@example.com", "holds an address"),
    ],
)
def test_ambiguous_headers_are_reported_never_guessed(header: str, replied_to: str, defect: str) -> None:
    parsed = parse_mailboxes(header, decode_words=words)
    assert parsed.mailboxes[0].address == replied_to
    assert any(defect in found for found in parsed.defects), parsed.defects


def test_a_list_gives_every_address() -> None:
    parsed = parse_mailboxes("Maria <maria@example.com>, Mallory <mallory@evil.example>")
    assert [m.address for m in parsed.mailboxes] == ["maria@example.com", "mallory@evil.example"]


@pytest.mark.parametrize(
    "header",
    [
        "Garcia, Maria <maria@example.com>",  # an unquoted comma splits the name from its address
        "=?utf-8?q?x?=@evil.example",
        "maria garcia@example.com",
        "maria@[192.0.2.1]",
        "not an address",
    ],
)
def test_invalid_mailboxes_are_defects(header: str) -> None:
    assert not parse_mailboxes(header).clean


@pytest.mark.parametrize(
    "confusable",
    ["\u212aate@example.com", "\u017fam@example.com", "\uff4daria@example.com", "\u0130nci@example.com"],
)
def test_characters_that_fold_onto_ascii_are_refused(confusable: str) -> None:
    """Unicode case folding maps the Kelvin sign to k and the long s to s: another mailbox would compare equal."""
    with pytest.raises(AddressError, match="confusable"):
        normalise_address(confusable)
    assert not same_address(confusable, confusable.replace("\u212a", "k").replace("\u017f", "s"))


def test_normal_form_lowers_ascii_and_keeps_unicode_letters() -> None:
    assert normalise_address("  Maria.Garcia@EXAMPLE.com ") == "maria.garcia@example.com"
    assert normalise_address("ÀNGEL@example.com") == "Àngel@example.com"
    assert same_address("jose@ESEMPIO-UNIVERSITÀ.it", "jose@xn--esempio-universit-4ob.it")
    assert not same_address("maria@example.com", None)
    assert not same_address("maria@example.com", "maria@example.com.evil.example")


@pytest.mark.parametrize(
    "bad", ["", "maria", "maria@", "@example.com", "a b@example.com", "maria@exa\nmple.com", "m@exa\u200bmple.com"]
)
def test_not_one_address(bad: str) -> None:
    with pytest.raises(AddressError):
        normalise_address(bad)


def test_random_header_values_never_raise_or_hang() -> None:
    rng = random.Random(20261204)
    alphabet = string.printable + 'ù@<>(),;:"\\\u200b'
    for _ in range(5_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        parsed = parse_mailboxes(value)
        for mailbox in parsed.mailboxes:
            assert normalise_address(mailbox.address) == mailbox.address
