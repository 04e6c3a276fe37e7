"""Who a reply goes to and whose data it may carry: one address, decided in code from strictly parsed headers.

The rule (README "Security"): the recipient is the address a mail client would reply to, and it is also the
identity every Shopify lookup is bound to, so customer data can only ever reach the address that owns it.

- Ordinary mail: exactly one From address and at most one Reply-To address, with no parse defect. The reply goes
  to the Reply-To when there is one, else to From; the other address gets nothing.
- Shopify contact form: the form's Email field is the identity only when the relay is authenticated as the form's
  sender domain by a trusted Authentication-Results header (DMARC pass, or a passing DKIM signature of that domain)
  and the field equals the single Reply-To. The Email field must appear once.
- Anything else is *unverified*: several From or Reply-To addresses (or headers), a display name holding an
  address, text after `<address>`, route or group syntax, an invalid address, a quoted local part holding an `@`
  (`"maria@example.com"@evil.example` reads like Maria's address), a Reply-To the gatekeeper's rules reject (a
  robot, this mailbox), or a contact form that fails the checks above. Such mail still gets a reply, to one
  address, but with no customer data (no lookups at all), a review label, and the reasons in the ledger.
- A contact form is answered only at an address of its Reply-To (the relay's From is a robot, and the form's
  Email field alone is not an address the mail system would reply to): without a usable Reply-To there is no
  recipient (`Identity.recipient` is None) and a person must answer the form's sender by hand.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from support_core.addresses import AddressError, normalise_address
from support_core.mail import Address, Headers

__all__ = ["Identity", "default_recipient", "safe_name"]

_NAME_MAX = 60
_NAME_FORBIDDEN = re.compile(r"@|://|\bwww\.|\.[a-z]{2,}\b|[<>{}\[\]\\|`$#:;=]|\d{3,}", re.IGNORECASE)


@dataclass(frozen=True)
class Identity:
    """The draft's one recipient, and whether it is verified (only then may tools look customer data up)."""

    recipient: Address | None
    """None: no address a reply may go to (a contact form without a usable Reply-To); a person answers by hand."""
    verified: bool
    source: str
    """Where the address came from: 'From', 'Reply-To' or 'contact form'."""
    problems: tuple[str, ...] = ()
    """Why it is not verified (empty when verified); for the ledger and the reviewer."""

    @property
    def customer_email(self) -> str | None:
        """The address lookups are bound to: the recipient when verified, else nobody."""
        return self.recipient.email if self.verified and self.recipient is not None else None


def safe_name(name: str | None) -> str | None:
    """A display name fit for a greeting and a prompt, or None: one short line of letters, no address, no link,
    no markup, no long digit runs (the name is written by the sender, who may be an attacker)."""
    if not name:
        return None
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "CZ" or c == " ")
    text = " ".join(text.split()).strip(" '\"")
    if not text or len(text) > _NAME_MAX or _NAME_FORBIDDEN.search(text):
        return None
    if sum(c.isalpha() for c in text) < max(1, len(text.replace(" ", "")) // 2):
        return None
    return text


def default_recipient(headers: Headers) -> Address | None:
    """The address a mail client's Reply would choose (the first Reply-To, else From), or None."""
    if headers.reply_to:
        return headers.reply_to[0]
    return headers.from_


def mail_identity(headers: Headers, *, rejected_reply_to: str | None) -> Identity | None:
    """The identity of ordinary mail. `rejected_reply_to` is why the gatekeeper's rules refuse the Reply-To."""
    sender = headers.from_
    if sender is None:
        return None
    problems = [*headers.sender_problems, *_lookalike_local_parts(headers)]
    reply_to = headers.reply_to[0] if len(headers.reply_to) == 1 else None
    if rejected_reply_to and reply_to is not None:
        problems.append(f"Reply-To rejected: {rejected_reply_to}")
        reply_to = None
    recipient, source = (reply_to, "Reply-To") if reply_to is not None else (sender, "From")
    if len(headers.reply_to) > 1:
        recipient, source = sender, "From"  # several Reply-To addresses: none of them is the one
    return Identity(
        recipient=_named(recipient),
        verified=not problems,
        source=source,
        problems=tuple(dict.fromkeys(problems)),
    )


def form_identity(
    headers: Headers,
    *,
    form_sender: str,
    emails: list[str],
    name: str | None,
    rejected_reply_to: str | None,
) -> Identity | None:
    """The identity of a contact-form notification: `emails` are the values of every Email field of the form.
    None when the form names no address at all (no Email field, no Reply-To)."""
    problems = [*headers.sender_problems, *_lookalike_local_parts(headers)]  # From problems count too
    field_email: str | None = None
    if len(emails) != 1:
        problems.append(f"the form has {len(emails)} Email fields" if emails else "the form has no Email field")
    if emails:
        try:
            field_email = normalise_address(emails[0])
        except AddressError as exc:
            problems.append(f"the form's Email field is not one address ({exc})")
    reply_to = headers.reply_to[0] if len(headers.reply_to) == 1 else None
    if not headers.reply_to:
        problems.append("the form has no Reply-To address")
    elif reply_to is not None and rejected_reply_to:
        problems.append(f"Reply-To rejected: {rejected_reply_to}")
        reply_to = None
    elif reply_to is not None and field_email is not None and reply_to.email != field_email:
        problems.append("the form's Email field differs from the Reply-To")
    auth = headers.authentication
    domain = form_sender.rpartition("@")[2]
    if not auth.trusted:
        problems.append("no Authentication-Results from a trusted server vouches for the form relay")
    elif not _authenticated(auth.dmarc, auth.dmarc_domain, auth.dkim_domains, domain):
        problems.append(f"the form relay is not authenticated as {domain}")
    if field_email is None and not headers.reply_to:
        return None
    if len(headers.reply_to) > 1:  # several Reply-To (a sender problem): the Email field, if it is one of them
        reply_to = next((a for a in headers.reply_to if a.email == field_email), None)
    return Identity(
        recipient=reply_to and Address(name=safe_name(name) or safe_name(reply_to.name), email=reply_to.email),
        verified=not problems,
        source="contact form",
        problems=tuple(dict.fromkeys(problems)),
    )


def _authenticated(dmarc: str | None, dmarc_domain: str | None, dkim_domains: list[str], domain: str) -> bool:
    def ours(candidate: str | None) -> bool:
        return bool(candidate) and (candidate == domain or str(candidate).endswith(f".{domain}"))

    return (dmarc == "pass" and dmarc_domain == domain) or any(ours(d) for d in dkim_domains)


def _lookalike_local_parts(headers: Headers) -> list[str]:
    """A quoted local part holding an `@` (`"maria@example.com"@evil.example`) is valid, but a reviewer (and many
    mail clients' address displays) would read the address inside the quotes."""
    senders = headers.from_all or ([headers.from_] if headers.from_ else [])
    found = []
    for header, addresses in (("From", senders), ("Reply-To", headers.reply_to)):
        if any("@" in address.email.rpartition("@")[0] for address in addresses):
            found.append(f"{header}: a quoted local part holds an @ (it reads like another address)")
    return found


def _named(address: Address) -> Address:
    return Address(name=safe_name(address.name), email=address.email)
