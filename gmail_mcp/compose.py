"""Reply drafts as RFC 822 bytes: threaded headers derived from the original, text and escaped HTML alternatives."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address as HeaderAddress
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import nh3

from gmail_mcp.errors import InvalidInputError
from support_core.addresses import AddressError, ascii_domain, same_address
from support_core.mail import Address, Headers

NOTE_HEADER = "X-Support-Agent-Note"
"""A short note for reviewers and statistics (e.g. which engine wrote the draft); never shown to the customer."""
MARKER_HEADER = "X-Support-Agent-Reply-To"
"""Names the Message-ID a draft answers, so a repeated request finds the existing draft instead of adding one."""

_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|odp|vs|ynt|r|rif|res|tr|fw|fwd|wg|enc)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_REFERENCES = 20
_ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "blockquote", "a"}
_LINK_LIKE = re.compile(r"@|://|\bwww\.|\.[a-z]{2,}\b|[<>]", re.IGNORECASE)


class _HeaderClasses(HeaderRegistry):
    """The stdlib's header registry, remembering the class it makes for each header name: the stdlib builds a new
    class (`type(...)`) every time a header is set, read or counted, a sixth of composing a reply. The classes hold
    no state, so reusing one writes the same bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = SMTP.clone(header_factory=_HeaderClasses())
"""`email.policy.SMTP` with header classes made once per name; `POLICY_UTF8` is the same with `utf8=True`."""
POLICY_UTF8 = POLICY.clone(utf8=True)


def header_value(value: str) -> str:
    """One line with no CR, LF, NUL or other control characters (no header injection)."""
    return " ".join(_UNSAFE.sub("", value.replace("\r", " ").replace("\n", " ")).split())


def reply_subject(subject: str) -> str:
    """Exactly one 'Re:' in front of the original subject, whatever prefixes it carried."""
    bare = _PREFIX.sub("", header_value(subject)).strip()
    return f"Re: {bare}" if bare else "Re:"


@dataclass(frozen=True)
class Reply:
    raw: bytes
    to: list[Address]
    subject: str
    in_reply_to: str | None


def _references(original: Headers) -> list[str]:
    chain = [r for r in original.references if r]
    if original.message_id and original.message_id not in chain:
        chain.append(original.message_id)
    if len(chain) > _MAX_REFERENCES:  # keep the root and the most recent ones (RFC 5322 section 3.6.4)
        chain = [chain[0], *chain[-(_MAX_REFERENCES - 1) :]]
    return [header_value(r) for r in chain]


def sanitise_html(fragment: str) -> str:
    """A caller's HTML reduced to simple formatting and https/mailto links, with balanced tags (nh3: ammonia)."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Escaped paragraphs: every character of the text is shown as written, nothing becomes markup."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "\n".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>\n") + "</p>" for p in paragraphs)


def compose_reply(
    original: Headers,
    *,
    own_address: str,
    to: Address,
    own_name: str | None = None,
    body_text: str,
    body_html: str | None = None,
    quoted: str | None = None,
    note: str | None = None,
    language: str = "en",
) -> Reply:
    """A reply to `original` from `own_address` to exactly one address (`to`, chosen by the caller): threaded, one
    'Re:', bodies escaped. A non-ASCII local part makes an SMTPUTF8 (RFC 6532) message; an IDN domain alone is
    written in its ASCII (punycode, IDNA 2008) form, which every mail system reads and which names the same domain."""
    text = _UNSAFE.sub("", body_text.replace("\r\n", "\n")).strip()
    if not text:
        raise InvalidInputError("body_text is empty: write the reply text.")
    local, _at, domain = to.email.rpartition("@")
    utf8 = not local.isascii()
    addr_spec = to.email if utf8 or domain.isascii() else _ascii_address(to.email)
    subject = reply_subject(original.subject)
    message = EmailMessage(policy=POLICY_UTF8 if utf8 else POLICY)
    message["From"] = HeaderAddress(display_name=header_value(own_name or ""), addr_spec=own_address)
    if utf8:  # the stdlib refuses to build a non-ASCII local part: write the RFC 6532 header text ourselves
        name = header_value(to.name or "").replace("\\", "\\\\").replace('"', '\\"')
        message["To"] = f'"{name}" <{header_value(addr_spec)}>' if name else f"<{header_value(addr_spec)}>"
    else:
        message["To"] = HeaderAddress(display_name=header_value(to.name or ""), addr_spec=addr_spec)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = own_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring="support-agent", domain=domain)
    if original.message_id:
        message["In-Reply-To"] = header_value(original.message_id)
        message["References"] = " ".join(_references(original))
        message[MARKER_HEADER] = header_value(original.message_id)
    if note and header_value(note):
        message[NOTE_HEADER] = header_value(note)[:200]
    full_text = text
    html_body = sanitise_html(body_html) if body_html else text_to_html(text)
    if quoted:
        attribution = _attribution(original, language)
        full_text += f"\n\n{attribution}\n" + "\n".join(f"> {line}" for line in quoted.strip().splitlines())
        html_body += f"\n<p>{html.escape(attribution)}</p>\n<blockquote>{text_to_html(quoted)}</blockquote>"
    message.set_content(full_text + "\n", subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n{html_body}\n</body></html>\n',
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    return Reply(raw=message.as_bytes(), to=[to], subject=subject, in_reply_to=original.message_id)


def _ascii_address(address: str) -> str:
    """`address` with its IDN domain in ASCII, by IDNA 2008 (support_core.addresses.ascii_domain, the same reading
    as the normal form), checked to be the same address: Python's own `idna` codec is IDNA 2003, which maps `ß` to `ss`
    (`straße.example` would become `strasse.example`, a different domain and perhaps a different owner)."""
    local = address.rpartition("@")[0]
    try:
        domain = ascii_domain(address)
    except AddressError as exc:
        raise InvalidInputError(f"The recipient's address cannot be written in ASCII: {exc}") from None
    written = f"{local}@{domain}"
    if not same_address(written, address):
        raise InvalidInputError("The recipient's domain has no ASCII form that names the same domain.")
    return written


ATTRIBUTIONS: dict[str, tuple[str, str, str, str]] = {
    # language: (line with {when} and {who}, date format, "an earlier date", "the customer")
    "en": ("On {when}, {who} wrote:", "%Y-%m-%d %H:%M", "an earlier date", "the customer"),
    "es": ("El {when}, {who} escribió:", "%d/%m/%Y %H:%M", "una fecha anterior", "el cliente"),
    "fr": ("Le {when}, {who} a écrit :", "%d/%m/%Y %H:%M", "une date antérieure", "le client"),
    "de": ("Am {when} schrieb {who}:", "%d.%m.%Y %H:%M", "einem früheren Datum", "der Kunde"),
    "pt": ("Em {when}, {who} escreveu:", "%d/%m/%Y %H:%M", "uma data anterior", "o cliente"),
    "it": ("Il {when}, {who} ha scritto:", "%d/%m/%Y %H:%M", "una data precedente", "il cliente"),
}
"""The line above a quoted message, in the languages the offline engine writes; any other language gets English."""


def _attribution(original: Headers, language: str = "en") -> str:
    """'On <date>, <author> wrote:' in `language`; a display name that looks like an address or a link is replaced
    by the address."""
    line, date_format, no_date, nobody = ATTRIBUTIONS.get(language.lower()[:2], ATTRIBUTIONS["en"])
    author = original.from_
    name = author.name if author and author.name and not _LINK_LIKE.search(author.name) else None
    who = (name or author.email) if author else nobody
    when = original.date.strftime(date_format) if original.date else no_date
    return header_value(line.format(when=when, who=who))
