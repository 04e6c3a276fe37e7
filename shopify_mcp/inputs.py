"""Validation and normalisation of tool arguments, and safe quoting of values inside Shopify search queries."""

from __future__ import annotations

import re

from shopify_mcp.errors import InvalidInputError

_EMAIL = re.compile(r"^[^@\s\"'\\<>(),;:\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_ORDER = re.compile(r"^#?([A-Za-z0-9][A-Za-z0-9-]{0,31})$")
_HANDLE = re.compile(r"^[a-z0-9][a-z0-9-]{0,254}$")
_CODE = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


def normalise_email(value: str) -> str:
    """Lower-cased, stripped email; `InvalidInputError` when it is not one address."""
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInputError(
            "customer_email must be one email address such as maria@example.com (no name, no brackets)."
        )
    return email


def same_email(a: str | None, b: str | None) -> bool:
    """Ownership comparison: case and surrounding space ignored, nothing else."""
    if not a or not b:
        return False
    return a.strip().casefold() == b.strip().casefold()


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
