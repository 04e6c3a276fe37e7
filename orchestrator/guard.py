"""Last check on a draft before it is saved: only allowed links, and no other customer's address or order number."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b")
_ORDER = re.compile(r"(?<![\w#])#\s?(\d{3,10})\b")
_TRAILING = ".,;:!?)]}'\""


@dataclass
class Evidence:
    """What a draft may mention: URLs and order numbers the tools returned for this customer, and allowed emails."""

    urls: set[str] = field(default_factory=set)
    order_numbers: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def add_tool_result(self, value: Any) -> None:
        """Collect every URL, order number (`#1021`) and email in a tool result, recursively."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_tool_result(item)
        elif isinstance(value, list):
            for item in value:
                self.add_tool_result(item)
        elif isinstance(value, str):
            self.urls.update(_clean_url(u) for u in _URL.findall(value))
            self.order_numbers.update(_ORDER.findall(value))
            self.emails.update(e.lower() for e in _EMAIL.findall(value))


@dataclass(frozen=True)
class GuardResult:
    text: str
    removed: tuple[str, ...]
    """What was taken out (for the ledger and a review flag); empty when the draft was clean."""

    @property
    def flagged(self) -> bool:
        return bool(self.removed)


def _clean_url(url: str) -> str:
    return url.rstrip(_TRAILING)


def _host(url: str) -> str:
    target = url if "://" in url else f"https://{url}"
    return (urlsplit(target).hostname or "").lower()


def _domain_allowed(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith(f".{d}") for d in domains)


def guard_draft(
    text: str, *, evidence: Evidence, shop_domains: Iterable[str], recipient: str, customer_text: str = ""
) -> GuardResult:
    """Remove links outside the shop's domains and the tools' results, and any email address or order number
    that belongs neither to this customer's tool results nor to their own message."""
    domains = tuple(d.lower() for d in shop_domains)
    own_orders = set(evidence.order_numbers) | set(_ORDER.findall(customer_text))
    allowed_emails = {recipient.lower(), *evidence.emails}
    removed: list[str] = []

    def link(match: re.Match[str]) -> str:
        url = _clean_url(match.group(0))
        tail = match.group(0)[len(url) :]
        if url in evidence.urls or _domain_allowed(_host(url), domains):
            return match.group(0)
        removed.append(f"link {_host(url) or url[:40]}")
        return "[link removed]" + tail

    def email(match: re.Match[str]) -> str:
        address = match.group(0).lower()
        if address in allowed_emails or _domain_allowed(address.rpartition("@")[2], domains):
            return match.group(0)
        removed.append("email address")
        return "[address removed]"

    def order(match: re.Match[str]) -> str:
        if match.group(1) in own_orders:
            return match.group(0)
        removed.append(f"order #{match.group(1)}")
        return "[order removed]"

    cleaned = _URL.sub(link, text)
    cleaned = _EMAIL.sub(email, cleaned)
    cleaned = _ORDER.sub(order, cleaned)
    return GuardResult(text=cleaned, removed=tuple(removed))
