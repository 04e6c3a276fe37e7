"""Gatekeeper: fast rule-based triage of one parsed message into PROCESS, IGNORE or INTERNAL_ALERT (no LLM)."""

from __future__ import annotations

import re
from functools import lru_cache

from orchestrator.domains import (
    edit_distance,
    first_match,
    lookalike_of,
    name_key,
    split_address,
)
from orchestrator.gatekeeper_rules import PITCH_HINTS_NEEDED, GatekeeperRules
from orchestrator.identity import Identity, form_identity, mail_identity
from orchestrator.models import GateDecision, Verdict
from support_core.addresses import AddressError, normalise_address
from support_core.mail import Address, Message

__all__ = ["GatekeeperRules", "gatekeep", "ledger_reason", "lookalike_of"]

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_PREFIX_END = frozenset("+-._0123456789")
_SEPARATORS = frozenset("+-._")
_UPSTREAM_LABELS = {"SPAM": "upstream:spam-folder", "TRASH": "upstream:trash"}
_SUBJECT_TAG = re.compile(r"^\s*(?:\*{2,}\s*spam\s*\*{2,}|[\[{(]\s*spam\s*\??\s*[\]})]|spam\s*\?\s*:)", re.IGNORECASE)
_GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-"
_QUESTION = r"[^.!?]{0,80}\?"
"""The rest of a sentence that ends in a question mark: what makes the restock and shipping words below a question."""
_OWN_WORDS = (
    # the customer's own order
    r"#\s?\d{3,}|\border (?:no\.?|number|nr\.?|n[º°])\s?#?\d{3,}|\bmy (?:order|package|parcel|delivery|refund|return|"
    r"exchange|purchase|size)\b|\bmi pedido\b|\bma commande\b|\bmeine bestellung\b|\bil mio ordine\b|\bo meu pedido\b|"
    r"\ba minha encomenda\b",
    # a purchase of their own, in the six languages
    r"\bi(?:'ve|\u2019ve| have)? (?:ordered|bought|purchased|returned)\b|\b(?:compré|ped[ií]|he (?:comprado|"
    r"pedido)|hice (?:un|el|mi) pedido)\b|\bj['\u2019]ai (?:achet|command|pass[ée] (?:une|ma) commande)|"
    r"\bnous avons (?:achet|command)|\b(?:ich|wir) (?:habe|hab|haben) (?:\S+ ){0,10}?(?:gekauft|bestellt)\b|"
    r"\b(?:habe|hab|haben) (?:ich|wir) (?:\S+ ){0,10}?(?:gekauft|bestellt)\b|\b(?:ho|abbiamo) (?:comprato|acquistato|"
    r"ordinato)\b|\b(?:comprei|encomendei|fiz (?:uma|a) encomenda)\b",
    # is it coming back? (a restock question)
    rf"\b(?:coming back|come back|be back|back in stock|restock(?:ed|ing)?)\b(?! to\b){_QUESTION}|\b(?:vuelve|vuelven|"
    rf"volver[áa]n?|repon[eé]is|reponen|reposici[oó]n)\b{_QUESTION}|\b(?:revient|reviennent|reviendra|reviendront|de "
    rf"retour|r[ée]assort\w*)\b{_QUESTION}|\bwieder (?:da|verf(?:ü|ue)gbar|lieferbar|auf lager|erh(?:ä|ae)ltlich|"
    rf"vorr(?:ä|ae)tig)\b{_QUESTION}|\bkommt (?:\S+ ){{0,6}}?wieder\b{_QUESTION}|\b(?:torna|tornano|torner[àa]|"
    rf"torneranno|rientra|rientrer[àa]|di nuovo disponibil[ei])\b{_QUESTION}|\b(?:volta|voltam|voltar[áa]|"
    rf"voltar(?:[ãa]o)?|rep[õo]em|de novo dispon[ií]ve(?:l|is))\b{_QUESTION}",
    # do you ship...? (a shipping question)
    rf"\b(?:do|can|could|will) you (?:ship|deliver|post)\b{_QUESTION}|\b(?:(?:hac[eé]is|hacen) (?:env[ií]os|entregas)|"
    rf"envi[áa]is|env[ií]an|mand[áa]is|entreg[áa]is)\b{_QUESTION}|\b(?:(?:livrez|exp[ée]diez|envoyez)[- ]vous|vous "
    rf"(?:livrez|exp[ée]diez|envoyez))\b{_QUESTION}|\b(?:(?:liefert|versendet|verschickt|schickt) ihr|(?:liefern|"
    rf"versenden|verschicken) sie) (?:auch )?(?:nach|in|ins)\b{_QUESTION}|\b(?:spedite|consegnate|(?:fate|effettuate) "
    rf"spedizioni)\b{_QUESTION}|\b(?:enviam|entregam|mandam|fazem (?:envios|entregas))\b{_QUESTION}",
)
_SHOPPER_WORDS = (
    # what shoppers ask before they buy, and words a supplier's pitch may use too
    r"\border (?:no\.? |number |nr\.? |n[º°]\s?)?#?\d{3,}|\bi received\b|\btracking (?:number|code)\b|"
    r"\bdo you (?:ship|deliver)\b|\b(?:ship|shipping|deliver|delivery|send)(?: it| them)? to (?-i:[A-Z])[a-z]+\b|"
    r"\b(?:in|back in|out of) stock\b|"
    r"\b(?:what|which) size\b|\bsize (?:guide|chart)\b|\b(?:discount|promo|coupon) code\b|"
    r"\b(?:can|could|may) i (?:order|buy|return|exchange|pay|cancel)\b|"
    r"\bi(?:'d|\u2019d| would) like to (?:order|buy|return|exchange|cancel)\b|"
    r"\b(?:talla|taille|gr(?:ö|oe)(?:ß|ss)e|taglia|tamanho)\b",
)
_OWN_EVIDENCE = re.compile("|".join(_OWN_WORDS), re.IGNORECASE)
"""A mail in a customer's own words: their order, their purchase, a restock or shipping question. It outweighs every
pitch rule, the patterns that mark a pitch by themselves (`pitch_patterns`) as well."""
_CUSTOMER_EVIDENCE = re.compile("|".join((*_OWN_WORDS, *_SHOPPER_WORDS)), re.IGNORECASE)
"""A mail that reads like a customer's: it outweighs the weak signs of a pitch (`pitch_hints`). Beyond the customer's
own words, it counts what a supplier writes too ('we deliver to Europe', 'in stock', 'tracking numbers', sizes)."""
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office(?: reply| autoreply)?|"
    r"r[ée]ponse automatique|absence du bureau|automatische antwort|abwesenheitsnotiz|respuesta autom[áa]tica|"
    r"fuera de la oficina|risposta automatica|fuori sede|resposta autom[áa]tica|automatisch antwoord|"
    r"autosvar|automaattinen vastaus|automatyczna odpowied[źz])\s*:",
    re.IGNORECASE,
)
_SCAN_CHARS = 20_000  # a sales pitch shows itself early; this keeps huge mail fast
_REASON_MAX = 200
_ADDRESS_LIKE = re.compile(r"\S*[\w.+'-]@[\w-]\S*")
"""A token that reads like an address (`noreply@...` and a lone `@` do not): masked in the ledger's reason."""
_FIELD_LINE = re.compile(r"^\s*([^\W\d_][\w .-]{0,30}?)\s*:\s*(.*)$")
_FORM_LABELS = {
    "name": ("name", "full name", "your name", "nombre", "nom", "nome", "vorname und nachname"),
    "email": ("email", "e-mail", "email address", "your email", "correo", "correo electrónico", "courriel"),
    "message": ("message", "your message", "mensaje", "messaggio", "mensagem", "nachricht", "comment", "comments"),
    "other": ("phone", "phone number", "teléfono", "telefono", "country code", "order number", "subject"),
}
_FORM_FIELD = {label: kind for kind, labels in _FORM_LABELS.items() for label in labels}


_REPORT_TYPES = frozenset(
    {
        "multipart/report",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
    }
)


def gatekeep(message: Message, *, own_address: str, rules: GatekeeperRules) -> GateDecision:
    """Decide what happens to one incoming message: answer it (PROCESS), drop it (IGNORE), or alert a person.

    Rules run in a fixed order and the first that matches decides: mail from the mailbox itself; what spam filters
    on the way already decided (Gmail's SPAM and TRASH labels, X-Spam-* and rspamd headers, a ***SPAM*** subject
    tag) and the GTUBE test string; headers (bounces, failed DMARC on a trusted or lookalike domain,
    Auto-Submitted, Precedence, mailing lists, auto-reply subjects); the Shopify contact form; sender lists;
    senders imitating the shop or a brand; phishing subjects, advertising tags, spam and sales pitches;
    otherwise a customer. A filter's "not spam" is never a reason to answer: only the rules above decide that.
    """
    headers = message.headers
    own = own_address.strip().lower()
    sender = headers.from_.email.strip().lower() if headers.from_ else ""
    if message.from_me or sender == own or {"SENT", "DRAFT"} & set(message.labels):
        return _ignore("self", "sent by this mailbox (or one of its drafts)")
    body = (message.new_text.strip() or message.text)[:_SCAN_CHARS]
    decision = (
        _upstream_rules(message)
        or _header_rules(message, sender, rules)
        or _contact_form(message, sender, own, rules)
        or _sender_rules(sender, rules)
        or _impersonation(message, split_address(sender)[1], rules)
        or _content_rules(headers.subject, body, split_address(sender)[1], rules)
    )
    if decision is not None:
        return decision
    identity = mail_identity(headers, rejected_reply_to=_reply_to_rejection(headers.reply_to, own, rules))
    if identity is None:
        return _ignore("sender:missing", "no From or Reply-To address to answer")
    return _process(identity, "customer", f"no rule matched; the reply goes to the {identity.source} address")


def ledger_reason(decision: GateDecision) -> str:
    """The reason the ledger keeps: the rule, then what is wrong with the sender headers when there is something,
    e.g. `review:sender: From: 2 addresses` (addresses masked, invisible characters dropped, at most 200 chars)."""
    if not decision.review:
        return decision.reason
    problems = "; ".join(_ADDRESS_LIKE.sub("<address>", problem) for problem in decision.review)
    text = "".join(c for c in f"{decision.reason}: {problems}" if c.isprintable())
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def _process(identity: Identity, reason: str, detail: str, body: str | None = None) -> GateDecision:
    """PROCESS with the identity: verified, or unverified with its problems (no customer data, review label)."""
    if identity.recipient is None:
        raise ValueError("an identity without a recipient is an alert for a person, not a reply")
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


def _upstream_rules(message: Message) -> GateDecision | None:
    """What filters before us decided: a SPAM or TRASH label, a spam verdict header, a subject tag; and GTUBE.
    Only verdicts of "spam" count: a header saying "not spam" may have been written by the sender."""
    for label, reason in _UPSTREAM_LABELS.items():
        if label in message.labels:
            return _ignore(reason, f"the mailbox filed it under {label}")
    for verdict in message.headers.spam_verdicts:
        if verdict.spam is True:
            detail = f"an upstream spam filter said spam: {verdict.header}: {verdict.value[:120]}"
            return _ignore("upstream:spam-header", detail)
    if found := _SUBJECT_TAG.search(message.headers.subject):
        return _ignore("upstream:subject-tag", f"an upstream spam filter tagged the subject ({found.group(0).strip()})")
    if _GTUBE in message.text:
        return _ignore("spam:gtube", "the GTUBE spam test string is in the body")
    return None


def _header_rules(message: Message, sender: str, rules: GatekeeperRules) -> GateDecision | None:
    headers = message.headers
    local, domain = split_address(sender)
    reports = [a.content_type for a in message.attachments if a.content_type.lower() in _REPORT_TYPES]
    if local in _BOUNCE_SENDERS or reports:
        return _ignore("bounce", f"delivery report ({', '.join(reports) or f'sender {local}'})")
    auth = headers.authentication
    if (auth.dmarc or "").strip().lower() == "fail":
        for candidate in dict.fromkeys(d for d in (domain, (auth.dmarc_domain or "").lower()) if d):
            trusted = first_match(candidate, rules.trusted_domains)
            if trusted:
                return _ignore("phishing:dmarc", f"DMARC failed for {candidate}, a domain the shop trusts ({trusted})")
            free = first_match(candidate, rules.free_mail_domains)  # googlemail.com is Gmail, not a fake google.com
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
    if headers.autoreply and headers.autoreply.strip().lower() not in ("no", "false", "0"):
        return _ignore("header:auto-submitted", f"autoresponder header (X-Autoreply: {headers.autoreply[:40]})")
    if found := _AUTO_REPLY_SUBJECT.search(headers.subject):
        return _ignore("header:auto-submitted", f"an autoresponder's subject ({found.group(0).strip()!r})")
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
    email = identity.recipient.email if identity.recipient else _address_or_blank(emails)
    decision = _sender_rules(email, rules) or _content_rules("", body[:_SCAN_CHARS], split_address(email)[1], rules)
    if decision is not None:
        return decision.model_copy(update={"detail": f"contact form: {decision.detail}"})
    if identity.recipient is None:  # no Reply-To a reply may go to: the relay is a robot, so a person answers
        detail = "contact form with no usable Reply-To: a person must answer the form's sender by hand"
        return GateDecision(
            verdict=Verdict.INTERNAL_ALERT,
            reason="review:form",
            detail=f"{detail}; not verified: {'; '.join(identity.problems)}",
            review=identity.problems,
            body=body,
        )
    return _process(identity, "form:contact", "shop contact form; the customer is its Email field", body=body)


def _address_or_blank(emails: list[str]) -> str:
    """The form's (first) Email field in normal form, for the sender rules; blank when it is not an address."""
    try:
        return normalise_address(emails[0]) if emails else ""
    except AddressError:
        return ""


def _sender_rules(sender: str, rules: GatekeeperRules) -> GateDecision | None:
    local, domain = split_address(sender)
    if blocked := first_match(domain, rules.blocked_domains):
        return _ignore("sender:blocked", f"sender domain is blocked ({blocked})")
    if system := first_match(domain, rules.system_domains):
        return _ignore("sender:automated", f"sender domain only sends machine mail ({system})")
    if robot := _automated_local_part(local, rules):
        return _ignore("sender:automated", f"automated sender address ({robot}@...)")
    if partner := first_match(domain, rules.partner_domains):
        return _decide(Verdict.INTERNAL_ALERT, "sender:partner", f"partner ({partner})")
    return None


def _impersonation(message: Message, domain: str, rules: GatekeeperRules) -> GateDecision | None:
    """Mail from outside that poses as the shop or a brand: a lookalike domain (From or Reply-To), or a display
    name that is the shop's name (or imitates it) or a brand's name. Trusted domains and free mail are exempt
    from the domain check (googlemail.com is Gmail); the display-name check spares trusted domains only."""
    headers = message.headers
    if domain and first_match(domain, rules.trusted_domains):
        return None
    candidates = [domain, *(split_address(address.email)[1] for address in headers.reply_to[:1])]
    for candidate in dict.fromkeys(c for c in candidates if c and not first_match(c, rules.free_mail_domains)):
        imitated = lookalike_of(candidate, rules.shop_domains, strict=True, own=True) or lookalike_of(
            candidate, rules.trusted_domains, strict=True, own=False
        )
        if imitated:
            return _ignore("phishing:lookalike", f"the sender's domain {candidate} imitates {imitated}")
    name = headers.from_.name if headers.from_ else None
    if name and (posed := _posed_name(name, rules)):
        return _ignore("phishing:display-name", f"the display name poses as {posed} but the mail is from {domain}")
    return None


def _content_rules(subject: str, body: str, domain: str, rules: GatekeeperRules) -> GateDecision | None:
    for pattern in _compiled(rules.phishing_subject_patterns):
        if found := pattern.search(subject):
            return _ignore("phishing:subject", f"phishing subject: {found.group(0)!r}")
    for pattern in _compiled(rules.advertising_subject_patterns, 0):
        if found := pattern.search(subject):
            return _ignore("spam:adv", f"advertising tag in the subject: {found.group(0).strip()!r}")
    text = " ".join(f"{subject}\n{body}".split())  # a pattern's space also matches a line break of the mail
    for pattern in _compiled(rules.phishing_body_patterns):
        if found := pattern.search(text):
            return _ignore("phishing:body", f"phishing text: {found.group(0)!r}")
    free = first_match(domain, rules.free_mail_domains)
    if free and rules.spam_keyword_re and (found := rules.spam_keyword_re.search(text)):
        return _ignore("spam:b2b", f"free-mail sender ({free}) with spam keyword {found.group(0)!r}")
    for pattern in _compiled(rules.b2b_body_patterns):
        if found := pattern.search(text):
            return _ignore("spam:b2b", f"sales pitch: {found.group(0)!r}")
    own_words = _OWN_EVIDENCE.search(text)
    for pattern in _compiled(rules.pitch_patterns):
        if not own_words and (found := pattern.search(text)):
            return _ignore("spam:pitch", f"cold pitch: {found.group(0)!r}")
    hints = [found.group(0) for pattern in _compiled(rules.pitch_hints) if (found := pattern.search(text))]
    hints += [found.group(0) for pattern in _compiled(rules.creator_hints) if hints and (found := pattern.search(text))]
    if len(hints) >= PITCH_HINTS_NEEDED and not _CUSTOMER_EVIDENCE.search(text):
        return _ignore("spam:pitch", f"cold pitch ({len(hints)} signs: {', '.join(repr(h) for h in hints[:4])})")
    return None


def _posed_name(name: str, rules: GatekeeperRules) -> str | None:
    """The shop or brand a display name poses as: the shop's name (or within an edit or two of it, or written with
    look-alike letters) as words of the name; a brand's name as a word ('PayPal Service')."""
    key = name_key(name)
    words, compact = key.split(), key.replace(" ", "")
    for shop in rules.own_names:
        shop_words, target = shop.split(), shop.replace(" ", "")
        if _has_run(words, shop_words) or (len(target) >= 8 and target in compact):
            return f"the shop ({shop})"
        limit = 1 if len(target) <= 10 else 2
        if len(target) >= 8 and any(
            edit_distance(" ".join(words[i : i + len(shop_words)]).replace(" ", ""), target, limit) <= limit
            for i in range(len(words))
        ):
            return f"the shop ({shop})"
    return next((f"the brand {brand}" for brand in rules.brand_names if brand in words), None)


def _has_run(words: list[str], run: list[str]) -> bool:
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _reply_to_rejection(reply_to: list[Address], own: str, rules: GatekeeperRules) -> str | None:
    """Why the rules refuse the (first) Reply-To address as a recipient, or None when it is acceptable."""
    if not reply_to:
        return None
    local, domain = split_address(reply_to[0].email)
    if reply_to[0].email == own:
        return "it is this mailbox"
    if blocked := first_match(domain, (*rules.blocked_domains, *rules.system_domains)):
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
    """The robot word a local part is, starts with (`bounce-77`), or, for words of 7 letters or more, ends with
    (`billing-noreply`, `calendar-notification`; short words like 'mailer' could be a surname: `jo.mailer`)."""
    for prefix in rules.automated_local_parts:
        if local == prefix or (local.startswith(prefix) and local[len(prefix)] in _PREFIX_END):
            return prefix
        if len(prefix) >= 7 and local.endswith(prefix) and local[-len(prefix) - 1 : -len(prefix)] in _SEPARATORS:
            return prefix
    return None


def _ignore(reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=Verdict.IGNORE, reason=reason, detail=detail)


def _decide(verdict: Verdict, reason: str, detail: str) -> GateDecision:
    return GateDecision(verdict=verdict, reason=reason, detail=detail)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...], flags: int = re.IGNORECASE) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)
