"""The gatekeeper: every rule, the original product's false positives, the sandbox inbox and a spam corpus."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path

import pytest
from pydantic import ValidationError

from gmail_mcp.mime import parse_message
from orchestrator.gatekeeper import GatekeeperRules, gatekeep, lookalike_of
from orchestrator.models import Verdict
from support_core.mail import Address, Attachment, AuthResults, Headers, Message

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "gmail_mcp" / "sandbox"
RSPAMD = ROOT.parent / "shared" / "corpora" / "mime" / "rspamd"
OWN = "support@aurora-activewear.example"
RULES = GatekeeperRules(
    partner_domains=("fabrics-supplier.example",),
    shop_domains=("aurora-activewear.example",),
    blocked_domains=("spammy.example",),
)
_ROW = re.compile(r"^\| `(\d\d-[^`/]+\.eml)` \|.*\| (PROCESS|IGNORE|INTERNAL_ALERT)\b[^|]*\|\s*$", re.MULTILINE)


def _message(raw: bytes, name: str = "m1") -> Message:
    parsed = parse_message(raw, authserv_ids=frozenset({"mx.aurora-activewear.example"}))
    return Message(
        id=name,
        thread_id=name,
        labels=["INBOX", "UNREAD"],
        unread=True,
        from_me=False,
        received_at=datetime(2026, 11, 24, tzinfo=UTC),
        headers=parsed.headers,
        text=parsed.text,
        new_text=parsed.new_text,
        attachments=parsed.attachments,
    )


def _address(value: str) -> Address:
    name, email = parseaddr(value)
    return Address(name=name or None, email=email.lower())


def mail(
    sender: str | None = "Ana Ruiz <ana.ruiz@example.com>",
    body: str = "Hello, where is my order #1021? Thanks, Ana",
    *,
    subject: str = "Order #1021",
    reply_to: str | None = None,
    labels: tuple[str, ...] = ("INBOX", "UNREAD"),
    dmarc: str | None = None,
    auth: AuthResults | None = None,
    attachment: str | None = None,
    **headers: str,
) -> Message:
    """A parsed message from a few header values (list_id, auto_submitted, precedence, return_path...) and a body."""
    domain = sender.rpartition("@")[2].rstrip(">") if sender else None
    return Message(
        id="m1",
        thread_id="t1",
        labels=list(labels),
        unread=True,
        from_me=False,
        received_at=datetime(2026, 11, 24, tzinfo=UTC),
        headers=Headers(
            from_=_address(sender) if sender else None,
            reply_to=[_address(reply_to)] if reply_to else [],
            subject=subject,
            authentication=auth or AuthResults(dmarc=dmarc, dmarc_domain=domain if dmarc else None),
            **headers,
        ),
        text=body,
        new_text=body,
        attachments=[Attachment(filename=None, content_type=attachment, size=10)] if attachment else [],
    )


@dataclass(frozen=True)
class Case:
    id: str
    message: Message
    verdict: Verdict
    reason: str
    customer: str | None = None
    name: str | None = None
    body: str | None = None


IGNORE, PROCESS, ALERT = Verdict.IGNORE, Verdict.PROCESS, Verdict.INTERNAL_ALERT
ANA = "ana.ruiz@example.com"
FORM = "Shopify <mailer@shopify.com>"
PITCH = "Hi, I noticed a few problems with your store."
PHISH = "phishing:dmarc"
KIM = "Kim <kim@googlemail.com>"
SHOPIFY = AuthResults(authserv_id="mx.example", trusted=True, dmarc="pass", dmarc_domain="shopify.com")
SHOPIFY_DKIM = AuthResults(authserv_id="mx.example", trusted=True, dkim="pass", dkim_domains=["email.shopify.com"])
CASES = [
    # (1) the mailbox itself
    Case("self-from-own-address", mail(f"Aurora <{OWN}>"), IGNORE, "self"),
    Case("self-sent-label", mail(labels=("SENT",)), IGNORE, "self"),
    Case("self-draft-label", mail(labels=("DRAFT",)), IGNORE, "self"),
    # (2) headers
    Case("auto-submitted-auto-replied", mail(auto_submitted="auto-replied"), IGNORE, "header:auto-submitted"),
    Case("auto-submitted-generated", mail(auto_submitted="auto-generated; owner=x"), IGNORE, "header:auto-submitted"),
    Case("auto-submitted-no-is-a-person", mail(auto_submitted="no"), PROCESS, "customer", ANA),
    Case("precedence-bulk", mail(precedence="bulk"), IGNORE, "header:precedence"),
    Case("precedence-junk", mail(precedence="Junk"), IGNORE, "header:precedence"),
    Case("precedence-list", mail(precedence="list"), IGNORE, "header:precedence"),
    Case("list-id", mail(list_id="<news.shop.example>"), IGNORE, "header:list"),
    Case("list-unsubscribe", mail(list_unsubscribe="<https://x.example/u>"), IGNORE, "header:list"),
    Case("bounce-mailer-daemon", mail("MAILER-DAEMON@mx.example.net", "Undeliverable"), IGNORE, "bounce"),
    Case("bounce-postmaster", mail("postmaster@example.net", "Delivery failed"), IGNORE, "bounce"),
    Case("bounce-delivery-status-part", mail(attachment="message/delivery-status"), IGNORE, "bounce"),
    Case("bounce-null-return-path", mail(return_path="<>"), IGNORE, "bounce"),
    Case("dmarc-fail-spoofed-shopify", mail("Shopify <billing@shopify.com>", dmarc="fail"), IGNORE, "phishing:dmarc"),
    Case("dmarc-fail-spoofed-shop", mail("orders@aurora-activewear.example", dmarc="fail"), IGNORE, "phishing:dmarc"),
    Case("dmarc-fail-digit-swap", mail("PayPal <service@paypa1.com>", dmarc="fail"), IGNORE, "phishing:dmarc"),
    Case("dmarc-fail-edit-distance", mail("team@shopiify.com", dmarc="fail"), IGNORE, "phishing:dmarc"),
    Case("dmarc-fail-brand-plus-words", mail("x@aurora-activewear-help.example", dmarc="fail"), IGNORE, PHISH),
    Case("dmarc-fail-unrelated-customer", mail(dmarc="fail"), PROCESS, "customer", ANA),
    Case("dmarc-fail-googlemail-customer", mail(KIM, dmarc="fail"), PROCESS, "customer", "kim@googlemail.com"),
    # (3) the Shopify contact form
    Case(
        "form-email-field-inline",
        mail(
            FORM, f"Name: Ana Ruiz\nEmail: {ANA}\nMessage:\nIs #1021 shipped?\nNote: gift", reply_to=ANA, auth=SHOPIFY
        ),
        PROCESS,
        "form:contact",
        ANA,
        "Ana Ruiz",
        "Is #1021 shipped?\nNote: gift",
    ),
    Case(
        "form-dkim-of-the-relay-domain",
        mail(FORM, f"Name:\nAna Ruiz\n\nEmail:\n{ANA}\n\nMessage:\nHi", reply_to=ANA, auth=SHOPIFY_DKIM),
        PROCESS,
        "form:contact",
        ANA,
    ),
    Case(
        "form-spanish-fields",
        mail(
            FORM,
            "Nombre:\nLucía Gómez\n\nCorreo:\nlucia@example.es\n\nMensaje:\n¿Tenéis la talla M?",
            reply_to="lucia@example.es",
            auth=SHOPIFY,
        ),
        PROCESS,
        "form:contact",
        "lucia@example.es",
        "Lucía Gómez",
        "¿Tenéis la talla M?",
    ),
    # an unverified form gets a reply without customer data (customer_email None) and a review label
    Case(
        "form-email-field-differs-from-reply-to",
        mail(
            FORM, f"Name: Ana Ruiz\nEmail: {ANA}\nMessage:\nIs #1021 shipped?", reply_to="x@example.org", auth=SHOPIFY
        ),
        PROCESS,
        "review:form",
    ),
    Case(
        "form-not-authenticated",
        mail(FORM, f"Name: Ana Ruiz\nEmail: {ANA}\nMessage:\nIs #1021 shipped?", reply_to=ANA),
        PROCESS,
        "review:form",
    ),
    Case(
        "form-authenticated-as-someone-else",
        mail(
            FORM,
            f"Email: {ANA}\nMessage:\nhi",
            reply_to=ANA,
            auth=SHOPIFY.model_copy(update={"dmarc_domain": "evil.example"}),
        ),
        PROCESS,
        "review:form",
    ),
    Case(
        "form-with-two-email-fields",
        mail(FORM, f"Name: M\nEmail: {ANA}\nEmail: x@evil.example\nMessage:\nhi", reply_to=ANA, auth=SHOPIFY),
        PROCESS,
        "review:form",
    ),
    Case(
        "form-reply-to-when-no-email-field",
        mail(FORM, "Message:\nDo you ship to Norway?", reply_to="Ola Nordmann <ola@example.no>", auth=SHOPIFY),
        PROCESS,
        "review:form",
        None,
        "Ola Nordmann",
        "Do you ship to Norway?",
    ),
    Case("form-without-any-address", mail(FORM, "Message:\nHello?"), ALERT, "form:no-address"),
    Case("form-failing-dmarc", mail(FORM, "Email: a@example.com\nMessage: hi", dmarc="fail"), IGNORE, "phishing:dmarc"),
    Case("form-seo-pitch", mail(FORM, "Email: r@example.com\nMessage: We offer SEO services."), IGNORE, "spam:b2b"),
    Case("form-from-gmail-with-keyword", mail(FORM, "E-mail: r@gmail.com\nMessage: Backlinks?"), IGNORE, "spam:b2b"),
    # (4) sender lists
    Case("blocked-domain", mail("x@spammy.example"), IGNORE, "sender:blocked"),
    Case("blocked-subdomain", mail("x@mail.spammy.example"), IGNORE, "sender:blocked"),
    Case("blocked-is-not-a-suffix", mail("ana@notspammy.example"), PROCESS, "customer", "ana@notspammy.example"),
    Case("system-domain", mail("Facebook <x@facebookmail.com>"), IGNORE, "sender:automated"),
    Case("automated-noreply", mail("Store <noreply@example.com>"), IGNORE, "sender:automated"),
    Case("automated-no-reply-plus-tag", mail("no-reply+orders@example.com"), IGNORE, "sender:automated"),
    Case("automated-bounce-number", mail("bounce-7731@example.com"), IGNORE, "sender:automated"),
    Case("automated-notifications", mail("notifications@example.com"), IGNORE, "sender:automated"),
    Case(
        "automated-prefix-needs-separator",
        mail("bounceback@example.com"),
        PROCESS,
        "customer",
        "bounceback@example.com",
    ),
    Case("partner-domain", mail("c.ferraro@fabrics-supplier.example"), ALERT, "sender:partner"),
    Case("partner-subdomain", mail("ops@eu.fabrics-supplier.example"), ALERT, "sender:partner"),
    # (5) phishing subjects
    Case("subject-store-suspended", mail(subject="Your Shopify store has been suspended"), IGNORE, "phishing:subject"),
    Case("subject-verify-account", mail(subject="VERIFY YOUR ACCOUNT within 24h"), IGNORE, "phishing:subject"),
    Case("subject-unusual-sign-in", mail(subject="Unusual sign-in activity"), IGNORE, "phishing:subject"),
    Case("subject-password-expires", mail(subject="Your password expires today"), IGNORE, "phishing:subject"),
    Case("subject-invoice-attached", mail(subject="Invoice attached"), IGNORE, "phishing:subject"),
    Case("subject-customer-account-locked", mail(subject="My account is locked"), PROCESS, "customer", ANA),
    # (6) spam keywords with free mail, B2B patterns from anyone
    Case("free-mail-seo-services", mail("r@gmail.com", "Need SEO services?"), IGNORE, "spam:b2b"),
    Case("free-mail-backlinks", mail("r@hotmail.co.uk", "Cheap backlinks"), IGNORE, "spam:b2b"),
    Case("free-mail-guest-post-hyphen", mail("r@yahoo.fr", "A guest-post for you"), IGNORE, "spam:b2b"),
    Case("free-mail-web-design", mail("r@outlook.com", "Web design offer"), IGNORE, "spam:b2b"),
    Case("free-mail-rank-your-website", mail("r@gmail.com", "We rank your website"), IGNORE, "spam:b2b"),
    Case("free-mail-crypto-trading", mail("r@gmail.com", "Crypto trading signals"), IGNORE, "spam:b2b"),
    Case("b2b-we-offer-web-design", mail("sam@agency.example", f"{PITCH} We offer web design."), IGNORE, "spam:b2b"),
    Case("b2b-increase-your-traffic", mail("sam@agency.example", "Increase your traffic 3x"), IGNORE, "spam:b2b"),
    Case(
        "b2b-website-not-ranking",
        mail("sam@agency.example", "I noticed your website is not ranking on Google."),
        IGNORE,
        "spam:b2b",
    ),
    Case("b2b-first-page-of-google", mail("sam@agency.example", "Get to the first page of Google"), IGNORE, "spam:b2b"),
    # false positives of the original product: each of these is a customer
    Case("fp-googlemail-is-gmail", mail("Kim <kim@googlemail.com>"), PROCESS, "customer", "kim@googlemail.com"),
    Case(
        "fp-seonaid-name",
        mail("seonaid@gmail.com", "Hi, Seonaid here: size M?"),
        PROCESS,
        "customer",
        "seonaid@gmail.com",
    ),
    Case("fp-seoul-city", mail("min@gmail.com", "Do you ship to Seoul?"), PROCESS, "customer", "min@gmail.com"),
    Case("fp-seo-surname", mail("p@gmail.com", "Thanks,\nSeo Yeon Park"), PROCESS, "customer", "p@gmail.com"),
    Case(
        "fp-commission-in-complaint",
        mail("tom@gmail.com", "My bank took a commission on your refund, this is unacceptable!"),
        PROCESS,
        "customer",
        "tom@gmail.com",
    ),
    Case("fp-free-mail-customer", mail("jo@hotmail.co.uk", "Tee in stock?"), PROCESS, "customer", "jo@hotmail.co.uk"),
    Case(
        "fp-web-design-from-a-company-customer",
        mail("lee@example.org", "The web design of your checkout hides the size chart."),
        PROCESS,
        "customer",
        "lee@example.org",
    ),
    Case(
        "fp-customer-noticed-your-website",
        mail("lee@gmail.com", "I noticed your website shows the leggings in stock, but checkout says sold out."),
        PROCESS,
        "customer",
        "lee@gmail.com",
    ),
    # (7) customers and their address
    Case("customer-from", mail(), PROCESS, "customer", ANA, "Ana Ruiz"),
    Case("customer-reply-to", mail(reply_to="Ana <ana@example.net>"), PROCESS, "customer", "ana@example.net", "Ana"),
    # a Reply-To the rules reject: the reply goes to From, with no customer data, for review
    Case("reply-to-own-address-is-reviewed", mail(reply_to=OWN), PROCESS, "review:sender"),
    Case("reply-to-robot-is-reviewed", mail(reply_to="noreply@example.com"), PROCESS, "review:sender"),
    Case(
        "reply-to-another-person-is-the-customer",
        mail(reply_to="bea@example.com"),
        PROCESS,
        "customer",
        "bea@example.com",
    ),
    Case("no-address-at-all", mail(None), IGNORE, "sender:missing"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_table(case: Case) -> None:
    decision = gatekeep(case.message, own_address=OWN, rules=RULES)
    assert (decision.verdict, decision.reason) == (case.verdict, case.reason), decision.detail
    assert decision.detail
    if case.verdict is PROCESS:
        assert decision.customer_email == case.customer
        assert decision.recipient and (decision.review == ()) == (case.customer is not None)
    if case.name is not None:
        assert decision.customer_name == case.name
    if case.body is not None:
        assert decision.body == case.body


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def _expected_sandbox() -> dict[str, Verdict]:
    return {name: Verdict(verdict) for name, verdict in _ROW.findall((SANDBOX / "README.md").read_text("utf-8"))}


@pytest.mark.parametrize("name", sorted(_expected_sandbox()))
def test_sandbox_inbox_gets_the_documented_verdict(name: str) -> None:
    decision = gatekeep(_message((SANDBOX / name).read_bytes()), own_address=OWN, rules=RULES)
    assert decision.verdict is _expected_sandbox()[name], decision


def test_sandbox_readme_lists_the_first_seventeen_messages() -> None:
    assert len([n for n in _expected_sandbox() if n < "18"]) == 17


def _sandbox(prefix: str) -> Message:
    return _message(next(SANDBOX.glob(f"{prefix}-*.eml")).read_bytes())


def test_sandbox_contact_form_resolves_to_the_customer() -> None:
    decision = gatekeep(_sandbox("10"), own_address=OWN, rules=RULES)
    assert (decision.verdict, decision.reason) == (PROCESS, "form:contact")
    assert (decision.customer_email, decision.customer_name) == ("emily.carter@example.com", "Emily Carter")
    assert decision.body is not None
    assert decision.body.startswith("Hi! I got an email that my order #1026 is on hold")
    assert "Country Code" not in decision.body and "+1 503" not in decision.body


@pytest.mark.parametrize(
    ("prefix", "reason", "customer"),
    [
        ("01", "header:precedence", None),
        ("02", "sender:partner", None),
        ("07", "bounce", None),
        ("09", "spam:b2b", None),
        ("11", "phishing:dmarc", None),
        ("13", "customer", "dan.marsh77@freemail.example"),
        ("14", "header:auto-submitted", None),
        ("17", "customer", "maria.garcia@example.com"),
    ],
)
def test_sandbox_reasons(prefix: str, reason: str, customer: str | None) -> None:
    decision = gatekeep(_sandbox(prefix), own_address=OWN, rules=RULES)
    assert (decision.reason, decision.customer_email) == (reason, customer), decision.detail


def test_partner_mail_is_a_customer_without_the_partner_list() -> None:
    decision = gatekeep(_sandbox("02"), own_address=OWN, rules=GatekeeperRules())
    assert decision.verdict is PROCESS


@pytest.mark.parametrize(
    ("domain", "imitated"),
    [
        ("shopiify-merchants.example", "shopify.com"),
        ("paypa1.com", "paypal.com"),
        ("rnicrosoft.com", "microsoft.com"),
        ("aur0ra-activewear.example", "aurora-activewear.example"),
        ("shopify.com.login.example", "shopify.com"),
        ("shopify.com", None),
        ("mail.shopify.com", None),
        ("example.com", None),
        ("ups-fans.example", None),  # three-letter brands are matched exactly, never fuzzily
    ],
)
def test_lookalike_of(domain: str, imitated: str | None) -> None:
    assert lookalike_of(domain, RULES.trusted_domains) == imitated


def test_rules_are_normalised_frozen_and_validated() -> None:
    rules = GatekeeperRules.model_validate(
        {"partner_domains": [" Supplier.Example. "], "spam_keywords": ["Dropship Agent"]}
    )
    assert rules.partner_domains == ("supplier.example",)
    assert gatekeep(mail("x@a.supplier.example"), own_address=OWN, rules=rules).verdict is ALERT
    assert gatekeep(mail("r@gmail.com", "Your dropship-agent here"), own_address=OWN, rules=rules).reason == "spam:b2b"
    with pytest.raises(ValidationError):
        rules.partner_domains = ()  # type: ignore[misc]
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        GatekeeperRules(b2b_body_patterns=("(unclosed",))
    with pytest.raises(ValidationError, match="Extra inputs"):
        GatekeeperRules.model_validate({"partner_domain": ["typo.example"]})


def test_empty_keyword_list_disables_the_free_mail_rule() -> None:
    rules = GatekeeperRules(spam_keywords=())
    assert gatekeep(mail("r@gmail.com", "Cheap backlinks"), own_address=OWN, rules=rules).verdict is PROCESS


def test_rspamd_corpus_measurement(report: Callable[[str], None]) -> None:
    if not RSPAMD.is_dir():
        pytest.skip(f"{RSPAMD} is absent (the rspamd test corpus lives in ../shared; present in CI)")
    files = sorted(RSPAMD.glob("*.eml"))
    assert files
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for path in files:
        decision = gatekeep(_message(path.read_bytes(), path.stem), own_address=OWN, rules=GatekeeperRules())
        counts[f"{decision.verdict.value} {decision.reason}"] += 1
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{key}={n}" for key, n in counts.most_common())
    report(f"gatekeeper on rspamd corpus: {len(files)} messages in {elapsed * 1000:.0f} ms (parse included): {summary}")


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("We do SEO for shops like yours", IGNORE),
        ("seo-optimised listings, cheap", IGNORE),
        ("Hi, Seonaid here: is the tee true to size?", PROCESS),
        ("Please ship to Seoul, apartment 4", PROCESS),
        ("I work in SEOUL-based logistics", PROCESS),
    ],
    ids=["seo-word", "seo-hyphenated", "seonaid", "seoul", "seoul-upper"],
)
def test_keywords_match_whole_words_only(body: str, verdict: Verdict) -> None:
    rules = GatekeeperRules(spam_keywords=("SEO",))  # the original product's bare keyword
    assert gatekeep(mail("kim@gmail.com", body), own_address=OWN, rules=rules).verdict is verdict


def test_huge_hostile_bodies_are_decided_quickly() -> None:
    blob = "x" * 1_000_000
    messages = [mail(body=blob), mail("r@gmail.com", f"seo {blob}"), mail(FORM, f"Email:\n{blob}\nMessage:\n{blob}")]
    started = time.perf_counter()
    decisions = [gatekeep(m, own_address=OWN, rules=RULES) for m in messages]
    assert time.perf_counter() - started < 2.0
    assert [d.verdict for d in decisions] == [PROCESS, PROCESS, ALERT]


# -- upstream filters, advertising tags, pitches, impersonation (issue "a gatekeeper that stops real spam") ----------
def _raw(headers: str, body: str = "Hello, where is my order #1021? Thanks, Ana") -> bytes:
    base = (
        "From: Ana Ruiz <ana.ruiz@example.com>\nTo: support@aurora-activewear.example\nSubject: Order #1021\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0100\nMessage-ID: <a1@example.com>\n"
    )
    return (base + headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


SA_STATUS = (
    "X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99,BAYES_999,DKIM_ADSP_NXDOMAIN,\n"
    "\tHTML_MESSAGE,RDNS_NONE,URIBL_ABUSE_SURBL autolearn=no autolearn_force=no\n\tversion=4.0.1"
)
RSPAMD_RESULT = (
    "X-Spamd-Result: default: True [16.20 / 15.00];\n\tBAYES_SPAM(5.10)[99.99%];\n\tR_SPF_FAIL(1.00)[-all];\n"
    "\tMIME_GOOD(-0.10)[text/plain]"
)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("X-Spam-Flag: YES\nX-Spam-Level: *********\n" + SA_STATUS, "upstream:spam-header"),
        (SA_STATUS, "upstream:spam-header"),
        ("X-Spam-Status: No, score=-0.1 required=5.0 tests=ALL_TRUSTED", "customer"),
        (RSPAMD_RESULT, "upstream:spam-header"),
        ("X-Spamd-Result: default: False [21.05 / 15.00]; ADVANCE_FEE_3(5.00)", "upstream:spam-header"),
        ("X-Spamd-Result: default: False [8.30 / 15.00]; FUZZY_DENIED(3.00)", "customer"),  # only the action says
        ("X-Rspamd-Action: add header\nX-Spamd-Bar: ++++++++", "upstream:spam-header"),
        ("X-Rspamd-Action: rewrite subject", "upstream:spam-header"),
        ("X-Rspamd-Action: reject", "upstream:spam-header"),
        ("X-Rspamd-Action: no action", "customer"),
        ("X-Rspamd-Action: soft reject", "customer"),
        ("X-Spam: Yes", "upstream:spam-header"),
        ("X-Spam: No", "customer"),
        ("X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:;LANG:en;SCL:5;SRV:;IPV:NLI;SFV:SPM;H:x;",
         "upstream:spam-header"),
        ("X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;", "customer"),
        ("X-MS-Exchange-Organization-SCL: 6", "upstream:spam-header"),
        ("X-Barracuda-Spam-Status: Yes, SCORE=8.61 using global scores of TAG_LEVEL=3.5", "upstream:spam-header"),
    ],
    ids=[
        "sa-flag-and-status", "sa-status-folded", "sa-status-no", "rspamd-result-true", "rspamd-score-over-reject",
        "rspamd-score-below-reject", "rspamd-add-header", "rspamd-rewrite-subject", "rspamd-reject",
        "rspamd-no-action", "rspamd-soft-reject", "x-spam-yes", "x-spam-no", "microsoft-sfv-spm",
        "microsoft-sfv-nspm", "microsoft-scl-6", "barracuda-yes",
    ],
)  # fmt: skip
def test_upstream_spam_headers_in_their_real_formats(headers: str, reason: str) -> None:
    decision = gatekeep(_message(_raw(headers)), own_address=OWN, rules=RULES)
    assert decision.reason == reason, decision.detail
    assert decision.verdict is (PROCESS if reason == "customer" else IGNORE)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ("X-Spam-Flag: NO\nX-Spam-Status: No, score=-5.0 required=5.0 tests=ALL_TRUSTED", "We offer SEO services.",
         "spam:b2b"),
        ("X-Spam-Flag: NO\nX-Spam: No\nX-Rspamd-Action: no action",
         "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X", "spam:gtube"),
        # the receiving server's YES sits above the sender's forged NO: any YES counts, a NO never does
        ("X-Spam-Flag: YES\nX-Spam-Flag: NO\nX-Spam-Status: No, score=-5.0 required=5.0", "Hello",
         "upstream:spam-header"),
    ],
    ids=["forged-no-on-a-pitch", "forged-no-on-gtube", "yes-above-a-forged-no"],
)  # fmt: skip
def test_a_not_spam_header_never_turns_spam_into_a_customer(headers: str, body: str, reason: str) -> None:
    decision = gatekeep(_message(_raw(headers, body)), own_address=OWN, rules=RULES)
    assert (decision.verdict, decision.reason) == (IGNORE, reason), decision.detail


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (("INBOX", "SPAM", "UNREAD"), "upstream:spam-folder"),
        (("TRASH",), "upstream:trash"),
        (("INBOX", "STARRED"), "customer"),
    ],
)  # fmt: skip
def test_gmail_spam_and_trash_labels(labels: tuple[str, ...], reason: str) -> None:
    assert gatekeep(mail(labels=labels), own_address=OWN, rules=RULES).reason == reason


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("*****SPAM***** Cheap watches", "upstream:subject-tag"),
        ("***SPAM*** Your loan", "upstream:subject-tag"),
        ("[SPAM] Offer", "upstream:subject-tag"),
        ("{Spam?} Hello", "upstream:subject-tag"),
        ("Is this spam? My order #1021 email", "customer"),
        ("Your newsletter is spam to me", "customer"),
    ],
)
def test_spam_subject_tags(subject: str, reason: str) -> None:
    assert gatekeep(mail(subject=subject), own_address=OWN, rules=RULES).reason == reason


def test_gtube_anywhere_in_the_text() -> None:
    body = "Hi\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n"
    assert gatekeep(mail(body=body), own_address=OWN, rules=RULES).reason == "spam:gtube"


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("ADV: 50% off hang tags", "spam:adv"),
        ("ADV - printing deals", "spam:adv"),
        ("Re: ADV: follow-up", "spam:adv"),
        ("[PUBLICIDAD] Envíos desde 2,95 €", "spam:adv"),
        ("PUBLI: cajas personalizadas", "spam:adv"),
        ("[PUBLICIDADE] Etiquetas", "spam:adv"),
        ("[PUBBLICITÀ] Etichette", "spam:adv"),
        ("[Werbung] Versandkartons", "spam:adv"),
        ("[PUB] Flyers", "spam:adv"),
        ("(광고) 스포츠웨어 원단", "spam:adv"),
        ("未承諾広告※ 越境EC", "spam:adv"),
        ("Publicidad: no quiero más correos vuestros", "customer"),
        ("Advice on sizes for order #1021", "customer"),
        ("adv question", "customer"),
    ],
)
def test_unsolicited_advertising_tags(subject: str, reason: str) -> None:
    assert gatekeep(mail(subject=subject), own_address=OWN, rules=RULES).reason == reason


PITCHES = {
    "influencer-collab": "Hi! I'm a fitness content creator (48K followers) and I'd love to collaborate with your "
    "brand: 1 reel + 3 stories in exchange for a few pieces. My media kit is attached.",
    "ugc": "I'm a UGC creator for activewear brands. My UGC videos start at $150 each. Would you be interested?",
    "affiliate-network": "We'd like to invite you to join our affiliate network of 25,000 publishers.",
    "dropshipping": "This is Kevin, a professional dropshipping agent in Yiwu with our own warehouse.",
    "factory": "We are a manufacturer of yoga leggings. OEM/ODM service, MOQ 200 pcs per style.",
    "marketplace": "We can launch and scale your products on Amazon EU. Would you be open to a 20-minute intro call?",
    "store-buyer": "We buy profitable e-commerce brands and would be interested in acquiring your business.",
    "wholesale-es": "Somos fabricantes de ropa deportiva y trabajamos con marca blanca. Pedido mínimo 100 unidades.",
    "agency-hints": "Hi, I came across your store and noticed your product pages load slowly.\nWorth a quick chat "
    "this week? Our clients include 40 fashion brands.",
    "collab-fr": "Je suis influenceuse sur Instagram (21,5k abonnés). Seriez-vous intéressés par une collaboration ?",
}


@pytest.mark.parametrize("body", PITCHES.values(), ids=PITCHES.keys())
def test_cold_pitches_are_ignored(body: str) -> None:
    decision = gatekeep(mail("Sam <sam@pitchers.example>", body, subject="Hello"), own_address=OWN, rules=RULES)
    assert (decision.verdict, decision.reason.split(":")[0]) == (IGNORE, "spam"), decision.detail


CUSTOMERS = {
    "influencer-whose-order-is-late": "I'm an influencer and my order #1021 never arrived",
    "influencer-with-followers-and-order": "I'm an influencer with 50k followers, and my order #1021 never arrived. "
    "Would you be open to refunding the shipping?",
    "creator-asking-plainly": "Hi, I'm a run coach with about 12k followers on Instagram and I'd love to work "
    "together on a collaboration. Who would be the best person to talk to?",
    "came-across-your-store-shopper": "Hi! I came across your store on Instagram and love the leggings. Would you "
    "be open to shipping to Norway?",
    "affiliate-question": "Do you have an affiliate program? I love your leggings and tell all my friends.",
    "sells-on-amazon-question": "Do you sell on Amazon? I prefer to buy there.",
    "exchange-for-products": "Can I return the items in exchange for products of the same value?",
    "wholesale-for-a-club": "Do you offer wholesale prices? Our running club has 30 members who want the tee.",
    "photographer-customer": "I'm a photographer and the leggings I got last week already ripped at the seam.",
    "grow-word": "The leggings help me grow my running distance, thank you!",
    "partnership-word": "My partnership with my running buddy started with your socks, we both love them.",
}


@pytest.mark.parametrize("body", CUSTOMERS.values(), ids=CUSTOMERS.keys())
def test_pitch_rules_spare_customers(body: str) -> None:
    decision = gatekeep(mail("Jo Doe <jo@gmail.com>", body, subject="Hi"), own_address=OWN, rules=RULES)
    assert (decision.verdict, decision.reason) == (PROCESS, "customer"), decision.detail


LOOKALIKE_RULES = GatekeeperRules(
    shop_domains=("aurora-activewear.example", "aurora-activewear.myshopify.com"),
    partner_domains=("fabrics-supplier.example",),
)


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("Aurora Activewear Support <help@aurora-activevvear.com>", "phishing:lookalike"),
        ("Orders <orders@aur0ra-activewear.example>", "phishing:lookalike"),
        ("Billing <billing@aurora-activewear-billing.example>", "phishing:lookalike"),
        ("Team <team@auroraactivewear.com>", "phishing:lookalike"),
        ("Lena <lena@aurora-actlvewear.example>", "phishing:lookalike"),
        ("Support <x@\u0430urora-activewear.example>", "phishing:lookalike"),  # a Cyrillic a
        ("Help <help@aurora-activewear-help.myshopify.com>", "phishing:lookalike"),
        ("Service <service@paypa1.com>", "phishing:lookalike"),
        ("Service <service@paypal-secure.example>", "phishing:lookalike"),
        ("Team <team@shopiify.com>", "phishing:lookalike"),
        ("Aurora Activewear <aurora.team@proton.me>", "phishing:display-name"),
        ("Aur0ra Actívewear Billing <x@billing-center.example>", "phishing:display-name"),
        ("Aurora Activwear Payroll <x@staff-portal.example>", "phishing:display-name"),
        ("PayPal Service <service@intl-check.example>", "phishing:display-name"),
        # not imitations
        ("Aurora Acevedo <aurora.acevedo@gmail.com>", "customer"),
        ("Jane <jane@evil.myshopify.com>", "customer"),  # another shop under the myshopify.com suffix
        ("Jane <jane@applebee.example>", "customer"),
        ("Jane <jane@strive.example>", "customer"),
        ("Jane <jane@paypal.de>", "customer"),  # the same brand under another suffix
        ("Kim <kim@googlemail.com>", "customer"),
        ("Lena Park <lena@aurora-activewear.example>", "customer"),  # the shop's own staff
        ("Aurora Activewear <orders@shop.aurora-activewear.example>", "customer"),
        ("Jim Stripes <jim@stripes.example>", "customer"),
    ],
)
def test_senders_imitating_the_shop_or_a_brand(sender: str, reason: str) -> None:
    decision = gatekeep(mail(sender, subject="Hello"), own_address=OWN, rules=LOOKALIKE_RULES)
    assert decision.reason == reason, decision.detail


def test_lookalike_reply_to_is_phishing() -> None:
    message = mail("Ana <ana@example.com>", reply_to="refunds@aurora-activevvear.com", subject="Hi")
    assert gatekeep(message, own_address=OWN, rules=LOOKALIKE_RULES).reason == "phishing:lookalike"


def test_contact_form_named_after_the_shop_is_still_the_form() -> None:
    message = mail(
        "Aurora Activewear <mailer@shopify.com>",
        f"Name: Ana Ruiz\nEmail: {ANA}\nMessage:\nHi",
        reply_to=ANA,
        auth=SHOPIFY,
    )
    decision = gatekeep(message, own_address=OWN, rules=LOOKALIKE_RULES)
    assert (decision.reason, decision.customer_email) == ("form:contact", ANA)


def test_shop_names_can_be_configured() -> None:
    rules = GatekeeperRules(shop_names=("Northwind Running",))
    sender = "Northwind Running Support <help@secure-desk.example>"
    assert gatekeep(mail(sender, subject="Hi"), own_address=OWN, rules=rules).reason == "phishing:display-name"
    assert gatekeep(mail("North Wind <nw@gmail.com>", subject="Hi"), own_address=OWN, rules=rules).reason == "customer"


@pytest.mark.parametrize(
    ("domain", "protected", "imitated"),
    [
        ("evil.myshopify.com", ("aurora-activewear.myshopify.com",), None),
        ("aurora-activewear.myshopify.com", ("aurora-activewear.myshopify.com",), None),
        ("aurora-activewear-help.myshopify.com", ("aurora-activewear.myshopify.com",),
         "aurora-activewear.myshopify.com"),
        ("aurora-activewear.myshopify.com.evil.example", ("aurora-activewear.myshopify.com",),
         "aurora-activewear.myshopify.com"),
        ("shopiify.co.uk", ("shopify.com",), "shopify.com"),
        ("mail.example.co.uk", ("example.co.uk",), None),
        ("myshopify-login.example", ("myshopify.com",), None),  # a public suffix has no name to imitate
    ],
)  # fmt: skip
def test_lookalike_names_come_from_the_public_suffix_list(
    domain: str, protected: tuple[str, ...], imitated: str | None
) -> None:
    assert lookalike_of(domain, protected) == imitated


@pytest.mark.parametrize(
    ("rules", "sender", "verdict"),
    [
        (GatekeeperRules(blocked_domains=("myshopify.com",)), "x@evil.myshopify.com", PROCESS),
        (GatekeeperRules(blocked_domains=("evil.myshopify.com",)), "x@mail.evil.myshopify.com", IGNORE),
        (GatekeeperRules(partner_domains=("fabrics.myshopify.com",)), "ops@fabrics.myshopify.com", ALERT),
        (GatekeeperRules(partner_domains=("fabrics.myshopify.com",)), "ops@runners.myshopify.com", PROCESS),
        (GatekeeperRules(blocked_domains=("spam.co.uk",)), "x@news.spam.co.uk", IGNORE),
    ],
)
def test_domain_lists_respect_public_suffixes(rules: GatekeeperRules, sender: str, verdict: Verdict) -> None:
    """Under a public suffix such as myshopify.com every subdomain belongs to someone else."""
    assert gatekeep(mail(sender, subject="Hi"), own_address=OWN, rules=rules).verdict is verdict


def test_dmarc_failure_on_another_myshopify_store_is_not_the_shops() -> None:
    rules = GatekeeperRules(shop_domains=("aurora-activewear.myshopify.com",), brand_domains=("myshopify.com",))
    own = gatekeep(mail("x@aurora-activewear.myshopify.com", dmarc="fail"), own_address=OWN, rules=rules)
    other = gatekeep(mail("x@evil.myshopify.com", dmarc="fail"), own_address=OWN, rules=rules)
    assert (own.reason, other.reason) == ("phishing:dmarc", "customer"), (own.detail, other.detail)


@pytest.mark.parametrize(
    ("sender", "verdict"),
    [
        ("yahoo-user@yahoo.co.jp", IGNORE),  # free mail (yahoo.*) with a spam keyword
        ("x@mail.yahoo.co.jp", IGNORE),
        ("x@yahoo.evil-host.co", PROCESS),  # yahoo.* means yahoo under a public suffix, not any yahoo label
    ],
)
def test_wildcard_free_mail_entries_use_the_public_suffix(sender: str, verdict: Verdict) -> None:
    assert gatekeep(mail(sender, "Cheap backlinks here", subject="Hi"), own_address=OWN, rules=RULES).verdict is verdict


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("billing-noreply@registrar.example", "sender:automated"),
        ("calendar-notification@calendar.example", "sender:automated"),
        ("notificaciones@seur-avisos.example", "sender:automated"),
        ("ne-pas-repondre@colis.example", "sender:automated"),
        ("jo.mailer@example.com", "customer"),  # a short robot word as a suffix may be a surname
    ],
)
def test_automated_local_parts(sender: str, reason: str) -> None:
    assert gatekeep(mail(sender, subject="Hi"), own_address=OWN, rules=RULES).reason == reason


@pytest.mark.parametrize(
    ("subject", "extra", "reason"),
    [
        ("Automatic reply: Order #1021", {}, "header:auto-submitted"),
        ("Réponse automatique : Votre commande", {}, "header:auto-submitted"),
        ("Abwesenheitsnotiz: Lieferung", {}, "header:auto-submitted"),
        ("Hello", {"autoreply": "yes"}, "header:auto-submitted"),
        ("Re: Automatic reply: Order #1021", {}, "customer"),
    ],
)
def test_auto_replies_without_auto_submitted(subject: str, extra: dict[str, str], reason: str) -> None:
    assert gatekeep(mail(subject=subject, **extra), own_address=OWN, rules=RULES).reason == reason


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("Your parcel is on hold: customs fee unpaid", "Pay now", "phishing:subject"),
        ("Copyright infringement notice regarding your store", "See the file", "phishing:subject"),
        ("Your page Aurora Activewear will be disabled", "Appeal here", "phishing:subject"),
        ("Mailbox storage full", "Upgrade", "phishing:subject"),
        ("Complaint", "View document (password: 4471): https://docs.example/f", "phishing:body"),
        ("Wallet", "Validate your recovery phrase to avoid losing funds", "phishing:body"),
        ("My parcel is on hold at customs", "Can you help? Order #1021", "customer"),
        ("Customs fee", "I had to pay a customs fee of 12 EUR for order #1021, is that right?", "customer"),
    ],
)
def test_more_phishing(subject: str, body: str, reason: str) -> None:
    decision = gatekeep(mail("Someone <someone@example.net>", body, subject=subject), own_address=OWN, rules=RULES)
    assert decision.reason == reason, decision.detail


def test_new_regex_lists_are_validated() -> None:
    for field in ("advertising_subject_patterns", "pitch_patterns", "pitch_hints", "creator_hints"):
        with pytest.raises(ValidationError, match="not a valid regular expression"):
            GatekeeperRules.model_validate({field: ["(unclosed"]})
