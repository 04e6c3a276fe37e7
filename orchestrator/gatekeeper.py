"""Gatekeeper: fast rule-based triage of one parsed message into PROCESS, IGNORE or INTERNAL_ALERT (no LLM)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property, lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gmail_mcp.models import Address, Message
from orchestrator.identity import Identity, form_identity, mail_identity
from orchestrator.models import GateDecision, Verdict

__all__ = ["GatekeeperRules", "gatekeep", "lookalike_of"]

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_PREFIX_END = frozenset("+-._0123456789")
_HOMOGLYPHS = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_TWO_PART_SUFFIX = frozenset({"co", "com", "org", "net", "ac", "gov", "or", "ne"})
_SCAN_CHARS = 20_000  # a sales pitch shows itself early; this keeps huge mail fast
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_FIELD_LINE = re.compile(r"^\s*([^\W\d_][\w .-]{0,30}?)\s*:\s*(.*)$")
_FORM_LABELS = {
    "name": ("name", "full name", "your name", "nombre", "nom", "nome", "vorname und nachname"),
    "email": ("email", "e-mail", "email address", "your email", "correo", "correo electrónico", "courriel"),
    "message": ("message", "your message", "mensaje", "messaggio", "mensagem", "nachricht", "comment", "comments"),
    "other": ("phone", "phone number", "teléfono", "telefono", "country code", "order number", "subject"),
}
_FORM_FIELD = {label: kind for kind, labels in _FORM_LABELS.items() for label in labels}


# fmt: off
_REPORT_TYPES = frozenset({
    "multipart/report", "message/delivery-status", "message/global-delivery-status", "message/disposition-notification",
})
SYSTEM_DOMAINS = (
    "facebookmail.com", "mail.instagram.com", "accounts.google.com", "amazonses.com", "sendgrid.net",
    "mailgun.org", "mcsv.net", "mcdlv.net", "rsgsv.net", "sparkpostmail.com", "shopifyemail.com",
)
AUTOMATED_LOCAL_PARTS = (
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon",
    "mailer", "postmaster", "bounce", "bounces", "notifications", "notification", "notify", "autoreply",
    "auto-reply", "auto-confirm", "newsletter",
)
FREE_MAIL_DOMAINS = (
    "gmail.com", "googlemail.com", "outlook.*", "hotmail.*", "live.*", "msn.com", "yahoo.*", "ymail.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me", "gmx.*", "web.de",
    "mail.com", "yandex.*", "mail.ru", "zoho.com", "libero.it", "orange.fr", "free.fr", "laposte.net",
    "t-online.de", "qq.com", "163.com",
)
SPAM_KEYWORDS = (
    "seo services", "seo package", "seo audit", "seo expert", "seo agency", "seo consultant",
    "seo ranking", "seo optimization", "seo optimisation", "backlinks", "link building", "guest post",
    "guest posting", "sponsored post", "web design", "website design", "website redesign",
    "web development", "app development", "rank your website", "lead generation", "domain authority",
    "crypto trading", "crypto investment", "forex trading", "investment opportunity",
)
BRAND_DOMAINS = (
    "shopify.com", "myshopify.com", "paypal.com", "stripe.com", "klarna.com", "google.com", "apple.com",
    "microsoft.com", "amazon.com", "dhl.com", "ups.com", "fedex.com",
)
# fmt: on


class GatekeeperRules(BaseModel):
    """The gatekeeper's lists: configuration the merchant edits (TOML), with defaults that are safe for any shop.

    Domains match exactly or as a subdomain (`mail.example.com` matches `example.com`, `notexample.com` does
    not); an entry ending in `.*` matches any top-level domain (`yahoo.*` matches `yahoo.com`, `yahoo.co.uk`).
    Keywords and patterns are case-insensitive and must match whole words.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocked_domains: tuple[str, ...] = Field(
        default=(),
        description="Sender domains always ignored (known spammers). Empty: no domain is bad for every shop.",
    )
    system_domains: tuple[str, ...] = Field(
        default=SYSTEM_DOMAINS,
        description="Domains that only send machine mail (notification hosts, bulk-mail senders): ignored.",
    )
    automated_local_parts: tuple[str, ...] = Field(
        default=AUTOMATED_LOCAL_PARTS,
        description="Robots' local parts, whole or as a prefix before + - . _ or a digit (`bounce-77@`): ignored.",
    )
    free_mail_domains: tuple[str, ...] = Field(
        default=FREE_MAIL_DOMAINS,
        description="Personal mailbox providers: customers, unless a spam keyword matches too.",
    )
    spam_keywords: tuple[str, ...] = Field(
        default=SPAM_KEYWORDS,
        description="Sales-pitch words, used only with a free-mail sender. Plain phrases (not regexes); a space "
        "also matches a hyphen. 'SEO' alone is left out on purpose: it is a common Korean surname.",
    )
    partner_domains: tuple[str, ...] = Field(
        default=(),
        description="Suppliers and agencies: their mail alerts a person (label + ticket) instead of a reply.",
    )
    phishing_subject_patterns: tuple[str, ...] = Field(
        default=(
            r"\byour (?:\w+ ){0,2}(?:account|store|shop|payouts?|mailbox|domain) (?:has been|have been|is|was|will "
            r"be) (?:temporarily |permanently )?(?:suspended|locked|disabled|deactivated|restricted|terminated)\b",
            r"\bverify your (?:account|identity|store|mailbox|email|payment (?:details|information|method))\b",
            r"\b(?:unusual|suspicious) (?:sign[- ]?in|login) (?:activity|attempt)|\bunusual activity (?:on|in) your\b",
            r"\byour (?:password|mailbox|email account) (?:expires|will expire|has expired|is expiring|is full)\b",
            r"\bconfirm your (?:billing|payment) (?:details|information)\b",
            r"\binvoice attached\b",
        ),
        description="Regexes for phishing subjects aimed at the merchant ('your store has been suspended'); "
        "written with 'your' so a customer's 'my account is locked' still reaches a person.",
    )
    b2b_body_patterns: tuple[str, ...] = Field(
        default=(
            r"\bwe (?:offer|provide|specialize in|specialise in) (?:affordable |professional |high[- ]quality )?"
            r"(?:seo|search engine optimi[sz]ation|web ?design|website design|web development|app development|"
            r"digital marketing|social media marketing|link building|lead generation|content writing)\b",
            r"\bincrease your (?:website'?s? |site'?s? |store'?s? |organic )?(?:traffic|ranking|rankings)\b",
            r"\b(?:noticed|found|saw) (?:that )?your (?:website|site|store) (?:is not|isn't|doesn't|does not) "
            r"(?:(?:rank|appear|show up)\w* (?:well |high |at all )?(?:on|in) google|(?:on|in) the first page)\b",
            r"\b(?:first|1st|top) page of google\b",
            r"\b\d[\d,]*\+? (?:high[- ]authority |high[- ]quality |quality |do-?follow )?backlinks\b",
            r"\b(?:free|complimentary) (?:seo |website |site )?audit\b",
            r"\bguest post(?:ing)? (?:on|for) your (?:blog|website|site)\b",
            r"\bif you (?:do not|don't) want to hear from (?:us|me) again\b",
        ),
        description="Regexes that mark a cold sales pitch from any sender (SEO, web design, link building). "
        "Kept specific: words a customer also uses ('commission', 'website', 'sales') are not patterns.",
    )
    contact_form_senders: tuple[str, ...] = Field(
        default=("mailer@shopify.com",),
        description="Relays of the shop's contact form: the customer is its Email field (or the Reply-To).",
    )
    shop_domains: tuple[str, ...] = Field(
        default=(),
        description="The merchant's own domains: mail from them that fails DMARC, or from a lookalike, is phishing.",
    )
    brand_domains: tuple[str, ...] = Field(
        default=BRAND_DOMAINS,
        description="Domains phishers imitate: failed DMARC on them (or the shop's, a partner's) or a lookalike.",
    )

    @field_validator("*")
    @classmethod
    def _clean(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Lower-case the names; check that every regex compiles, so a bad config fails at start-up."""
        if info.field_name not in ("phishing_subject_patterns", "b2b_body_patterns"):
            return tuple(v.strip().lower().rstrip(".") for v in values if v.strip())
        for pattern in values:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {error}") from error
        return values

    @cached_property
    def trusted_domains(self) -> tuple[str, ...]:
        """Domains whose failed DMARC, or whose lookalike, is phishing."""
        forms = (_split(sender)[1] for sender in self.contact_form_senders)
        return tuple(dict.fromkeys((*self.shop_domains, *self.brand_domains, *self.partner_domains, *forms)))

    @cached_property
    def spam_keyword_re(self) -> re.Pattern[str] | None:
        words = [re.escape(k).replace(r"\ ", r"[\s-]+") for k in self.spam_keywords]
        return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)", re.IGNORECASE) if words else None


def gatekeep(message: Message, *, own_address: str, rules: GatekeeperRules) -> GateDecision:
    """Decide what happens to one incoming message: answer it (PROCESS), drop it (IGNORE), or alert a person.

    Rules run in a fixed order and the first that matches decides: mail from the mailbox itself; headers
    (bounces, failed DMARC on a trusted or lookalike domain, Auto-Submitted, Precedence, mailing lists); the
    Shopify contact form; sender lists; phishing subjects; spam and sales pitches; otherwise a customer.
    """
    headers = message.headers
    own = own_address.strip().lower()
    sender = headers.from_.email.strip().lower() if headers.from_ else ""
    if message.from_me or sender == own or {"SENT", "DRAFT"} & set(message.labels):
        return _ignore("self", "sent by this mailbox (or one of its drafts)")
    body = (message.new_text.strip() or message.text)[:_SCAN_CHARS]
    decision = (
        _header_rules(message, sender, rules)
        or _contact_form(message, sender, own, rules)
        or _sender_rules(sender, rules)
        or _content_rules(headers.subject, body, _split(sender)[1], rules)
    )
    if decision is not None:
        return decision
    identity = mail_identity(headers, rejected_reply_to=_reply_to_rejection(headers.reply_to, own, rules))
    if identity is None:
        return _ignore("sender:missing", "no From or Reply-To address to answer")
    return _process(identity, "customer", f"no rule matched; the reply goes to the {identity.source} address")


def _process(identity: Identity, reason: str, detail: str, body: str | None = None) -> GateDecision:
    """PROCESS with the identity: verified, or unverified with its problems (no customer data, review label)."""
    if not identity.verified:
        reason = "review:form" if reason.startswith("form") else "review:sender"
        detail = f"{detail}; not verified: {'; '.join(identity.problems)}"
    return GateDecision(
        verdict=Verdict.PROCESS,
        reason=reason,
        detail=detail,
        customer_email=identity.customer_email,
        recipient=identity.recipient.email,
        customer_name=identity.recipient.name,
        review=identity.problems,
        body=body,
    )


def lookalike_of(domain: str, protected: Iterable[str]) -> str | None:
    """The protected domain that `domain` imitates (edit distance <= 2, 0/o 1/l swaps, the brand plus extra words)."""
    domain = domain.lower().rstrip(".")
    protected = tuple(protected)
    if _first(domain, protected):
        return None  # the real thing (or its subdomain), not an imitation
    names = [_normalise(label) for label in _registrable_labels(domain)]
    for real in protected:
        brand = _normalise(_registrable_labels(real)[-1])
        if len(brand) < 4:
            continue
        limit = 1 if len(brand) <= 5 else 2
        for name in names:
            if brand in name or any(_distance(token, brand, limit) <= limit for token in {name, *name.split("-")}):
                return real
    return None


def _header_rules(message: Message, sender: str, rules: GatekeeperRules) -> GateDecision | None:
    headers = message.headers
    local, domain = _split(sender)
    reports = [a.content_type for a in message.attachments if a.content_type.lower() in _REPORT_TYPES]
    if local in _BOUNCE_SENDERS or reports:
        return _ignore("bounce", f"delivery report ({', '.join(reports) or f'sender {local}'})")
    auth = headers.authentication
    if (auth.dmarc or "").strip().lower() == "fail":
        for candidate in dict.fromkeys(d for d in (domain, (auth.dmarc_domain or "").lower()) if d):
            trusted = _first(candidate, rules.trusted_domains)
            if trusted:
                return _ignore("phishing:dmarc", f"DMARC failed for {candidate}, a domain the shop trusts ({trusted})")
            free = _first(candidate, rules.free_mail_domains)  # googlemail.com is Gmail, not a fake google.com
            imitated = None if free else lookalike_of(candidate, rules.trusted_domains)
            if imitated:
                return _ignore("phishing:dmarc", f"DMARC failed for {candidate}, a lookalike of {imitated}")
    auto = (headers.auto_submitted or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return _ignore("header:auto-submitted", f"Auto-Submitted: {auto}")
    precedence = (headers.precedence or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return _ignore("header:precedence", f"Precedence: {precedence}")
    if headers.list_id or headers.list_unsubscribe:
        return _ignore("header:list", "mailing-list headers (List-Id or List-Unsubscribe)")
    if (headers.return_path or "").strip() == "<>":
        return _ignore("bounce", "empty Return-Path <> (a delivery report)")
    return None


def _contact_form(message: Message, sender: str, own: str, rules: GatekeeperRules) -> GateDecision | None:
    # A form sender that fails DMARC never gets here: its domain is trusted, so _header_rules calls it phishing.
    if sender not in rules.contact_form_senders:
        return None
    fields = _form_fields(message.text)
    emails = [e for e in fields.get("email", []) if e.strip()]
    rejected = _reply_to_rejection(message.headers.reply_to, own, rules)
    name = next(iter(fields.get("name", [])), "").split("\n")[0]
    identity = form_identity(message.headers, form_sender=sender, emails=emails, name=name, rejected_reply_to=rejected)
    if identity is None:
        return _decide(Verdict.INTERNAL_ALERT, "form:no-address", "contact form without a customer address")
    body = "\n".join(fields.get("message", [])) or message.new_text
    email = identity.recipient.email
    decision = _sender_rules(email, rules) or _content_rules("", body[:_SCAN_CHARS], _split(email)[1], rules)
    if decision is not None:
        return decision.model_copy(update={"detail": f"contact form: {decision.detail}"})
    return _process(identity, "form:contact", "shop contact form; the customer is its Email field", body=body)


def _sender_rules(sender: str, rules: GatekeeperRules) -> GateDecision | None:
    local, domain = _split(sender)
    if blocked := _first(domain, rules.blocked_domains):
        return _ignore("sender:blocked", f"sender domain is blocked ({blocked})")
    if system := _first(domain, rules.system_domains):
        return _ignore("sender:automated", f"sender domain only sends machine mail ({system})")
    if robot := _automated_local_part(local, rules):
        return _ignore("sender:automated", f"automated sender address ({robot}@...)")
    if partner := _first(domain, rules.partner_domains):
        return _decide(Verdict.INTERNAL_ALERT, "sender:partner", f"partner ({partner})")
    return None


def _content_rules(subject: str, body: str, domain: str, rules: GatekeeperRules) -> GateDecision | None:
    for pattern in _compiled(rules.phishing_subject_patterns):
        if found := pattern.search(subject):
            return _ignore("phishing:subject", f"phishing subject: {found.group(0)!r}")
    text = f"{subject}\n{body}"
    free = _first(domain, rules.free_mail_domains)
    if free and rules.spam_keyword_re and (found := rules.spam_keyword_re.search(text)):
        return _ignore("spam:b2b", f"free-mail sender ({free}) with spam keyword {found.group(0)!r}")
    for pattern in _compiled(rules.b2b_body_patterns):
        if found := pattern.search(text):
            return _ignore("spam:b2b", f"sales pitch: {found.group(0)!r}")
    return None


def _reply_to_rejection(reply_to: list[Address], own: str, rules: GatekeeperRules) -> str | None:
    """Why the rules refuse the (first) Reply-To address as a recipient, or None when it is acceptable."""
    if not reply_to:
        return None
    local, domain = _split(reply_to[0].email)
    if reply_to[0].email == own:
        return "it is this mailbox"
    if blocked := _first(domain, (*rules.blocked_domains, *rules.system_domains)):
        return f"its domain only sends machine mail or is blocked ({blocked})"
    if robot := _automated_local_part(local, rules):
        return f"it is an automated address ({robot}@...)"
    return None


def _form_fields(text: str) -> dict[str, list[str]]:
    """Name, email and message of a contact-form notification ('Label:' then the value, same or next lines); each
    field's values in order, so a field that appears twice (a forged 'Email:' line) is visible as such."""
    fields: dict[str, list[list[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _FIELD_LINE.match(line)
        kind = _FORM_FIELD.get(match.group(1).strip().lower()) if match else None
        if match and kind and (current != "message" or kind == "email"):  # the message runs to the end ...
            current = kind  # ... except that an Email line inside it is counted: a second Email field is a forgery
            fields.setdefault(kind, []).append([match.group(2)])
        elif current is not None:
            fields[current][-1].append(line)
    return {kind: ["\n".join(lines).strip() for lines in values] for kind, values in fields.items() if kind != "other"}


def _automated_local_part(local: str, rules: GatekeeperRules) -> str | None:
    for prefix in rules.automated_local_parts:
        if local == prefix or (local.startswith(prefix) and local[len(prefix)] in _PREFIX_END):
            return prefix
    return None


def _ignore(reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=Verdict.IGNORE, reason=reason, detail=detail)


def _decide(verdict: Verdict, reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=verdict, reason=reason, detail=detail)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain.rstrip(".")


def _matches(domain: str, entry: str) -> bool:
    if entry.endswith(".*"):
        return re.fullmatch(rf"(?:.+\.)?{re.escape(entry[:-2])}\.[a-z0-9-]+(?:\.[a-z]{{2}})?", domain) is not None
    return domain == entry or domain.endswith("." + entry)


def _first(domain: str, entries: Iterable[str]) -> str | None:
    return next((entry for entry in entries if _matches(domain, entry)), None) if domain else None


def _registrable_labels(domain: str) -> list[str]:
    """The labels without the public suffix (`shop.example.co.uk` -> ['shop', 'example'])."""
    labels = domain.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _TWO_PART_SUFFIX:
        return labels[:-2]
    return labels[:-1] if len(labels) >= 2 else labels


def _normalise(label: str) -> str:
    return label.translate(_HOMOGLYPHS).replace("rn", "m").replace("vv", "w")


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it is certainly larger than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
