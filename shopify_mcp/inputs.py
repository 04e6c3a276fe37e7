"""Validation and normalisation of tool arguments, and safe quoting of values inside Shopify search queries.

Email addresses are never normalised here: `normalise_customer_email` hands them to `support_core.addresses`, the
one normalisation every package shares, and only turns its `AddressError` into an `InvalidInputError`.
"""

from __future__ import annotations

import functools
import re

from email_validator import EmailNotValidError, validate_email

from shopify_mcp.errors import InvalidInputError
from support_core.addresses import AddressError, normalise_address

_ORDER = re.compile(r"^#?([A-Za-z0-9][A-Za-z0-9-]{0,31})$")
_HANDLE = re.compile(r"^[a-z0-9][a-z0-9-]{0,254}$")
_CODE = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


def normalise_customer_email(value: str) -> str:
    """The one comparison form of a customer's address (`support_core.addresses.normalise_address`: email-validator
    syntax, IDNA, ASCII-only lower-casing, confusables such as the Kelvin sign rejected), or `InvalidInputError`
    naming `customer_email` and the reason. Used by every order, customer and ticket tool of this package."""
    try:
        return normalise_address(value)
    except AddressError as exc:
        reason = str(exc).rstrip(".")
        raise InvalidInputError(
            f"customer_email must be one email address such as maria@example.com (no name, no brackets): {reason}."
        ) from None


@functools.lru_cache(maxsize=1024)
def email_filter(email: str) -> str:
    """The Shopify search filter for records placed with `email` (a `normalise_customer_email` result; remembered,
    as the same customer's tools are called several times in a row).

    An internationalised domain may be stored in either form (`bücher.example` or `xn--bcher-kva.example`) and
    Shopify's `email:` filter compares text, so both forms are asked for, grouped: `(email:"a" OR email:"b")`.
    """
    forms = [email]
    try:
        checked = validate_email(
            email, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=True, globally_deliverable=False
        )
    except EmailNotValidError:  # cannot happen for a normalised address; the Unicode form alone is still right
        checked = None
    if checked is not None and checked.ascii_domain != checked.domain:
        forms.append(f"{email.rpartition('@')[0]}@{checked.ascii_domain}")
    clauses = [f"email:{search_value(form)}" for form in forms]
    return clauses[0] if len(clauses) == 1 else f"({' OR '.join(clauses)})"


def normalise_order_number(value: str | int) -> str:
    """'1001', '#1001', ' #1001 ' -> '#1001'. Letters and dashes are allowed for shops with a custom prefix."""
    text = str(value).strip()
    match = _ORDER.match(text)
    if not match:
        raise InvalidInputError(
            "order_number must be the order name from the confirmation email, such as #1001 or 1001."
        )
    return f"#{match.group(1)}"


def normalise_handle(value: str) -> str:
    handle = value.strip().lower()
    if not _HANDLE.match(handle):
        raise InvalidInputError("handle must be a product URL handle such as 'merino-running-tee'.")
    return handle


def normalise_code(value: str) -> str:
    code = value.strip()
    if not _CODE.match(code):
        raise InvalidInputError("code must be a discount code of 1 to 255 printable characters, such as WELCOME10.")
    return code


def search_value(value: str) -> str:
    """Quote a value for Shopify's search syntax so it can never add filters or operators of its own."""
    cleaned = " ".join(value.split())
    escaped = cleaned.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def search_text(value: str) -> str:
    """Free text for a product search: at most 200 characters, each word quoted, words ANDed."""
    words = value.strip().split()
    if not words or len(value) > 200:
        raise InvalidInputError("query must be 1 to 200 characters of product words, a SKU or a handle.")
    return " ".join(search_value(word) for word in words[:12])
