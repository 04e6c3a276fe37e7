"""The gatekeeper on the labelled set (every customer answered, robots and spam caught) and on the rspamd corpus.

Rules are the shipped configuration (`orchestrator/default_config.toml`), the mailbox is the sandbox shop's
(`support@aurora-activewear.example`, whose receiving server `mx.aurora-activewear.example` is trusted for
Authentication-Results), and every message goes through the real parser (`gmail_mcp.mime.parse_message`) first.
"""

from __future__ import annotations

import email.policy
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from pathlib import Path

from evaluation.dataset import DATA, LabelledMail, LabelledMessage, customer_messages, robot_mails
from gmail_mcp.backend import RawMessage
from gmail_mcp.mailbox import to_message
from gmail_mcp.mime import parse_message
from orchestrator.config import load_config
from orchestrator.gatekeeper import GatekeeperRules, gatekeep
from orchestrator.models import GateDecision, Verdict
from support_core.mail import Message

__all__ = [
    "ROBOT_TARGET",
    "RSPAMD",
    "Score",
    "customer_message",
    "report",
    "robot_message",
    "rspamd_counts",
    "rspamd_table",
    "score",
]

OWN = "support@aurora-activewear.example"
AUTHSERV_IDS = frozenset({"mx.aurora-activewear.example"})
RSPAMD = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "mime" / "rspamd"
ROBOT_TARGET = 0.97
ROBOTS_MINIMUM = 100
_RECEIVED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
_GMAIL_LABELS = {"spam": "SPAM", "trash": "TRASH", "inbox": "INBOX", "unread": "UNREAD", "sent": "SENT"}


@dataclass(frozen=True)
class RobotOutcome:
    """One robot or spam mail: what the labels expect and what the gatekeeper decided."""

    name: str
    mail_type: str
    """What the mail is: the file name's first word (newsletter, bounce, phishing, ...)."""
    expected: Verdict
    kind: str
    """The expected reason family (`spam` for `spam:pitch`)."""
    decision: GateDecision

    @property
    def right(self) -> bool:
        return self.decision.verdict is self.expected

    @property
    def family_right(self) -> bool:
        return self.decision.reason.split(":")[0] == self.kind


@dataclass(frozen=True)
class Score:
    customers: list[tuple[LabelledMessage, GateDecision]]
    robots: list[RobotOutcome]

    @property
    def customers_ignored(self) -> list[tuple[LabelledMessage, GateDecision]]:
        return [(m, d) for m, d in self.customers if d.verdict is not Verdict.PROCESS]

    @property
    def robots_right(self) -> int:
        return sum(outcome.right for outcome in self.robots)

    @property
    def robot_rate(self) -> float:
        return self.robots_right / len(self.robots) if self.robots else 0.0

    @property
    def targets_met(self) -> bool:
        enough = len(self.robots) >= ROBOTS_MINIMUM
        return enough and self.robot_rate >= ROBOT_TARGET and not self.customers_ignored


def rules() -> GatekeeperRules:
    """The gatekeeper lists a new installation runs with."""
    return load_config().gatekeeper


def customer_message(labelled: LabelledMessage) -> Message:
    """A labelled customer text as the mail a customer sends: plain headers (From with a name, To, Subject, Date,
    Message-ID), a text/plain UTF-8 body, no authentication results; parsed like any incoming mail."""
    mail = EmailMessage(policy=email.policy.SMTP)
    parts = labelled.address.partition("@")[0].replace("_", ".").replace("-", ".").split(".")
    name = " ".join(part.capitalize() for part in parts if part.isalpha())
    mail["From"] = f"{name} <{labelled.address}>" if name else labelled.address
    mail["To"] = f"Aurora Activewear <{OWN}>"
    mail["Subject"] = labelled.subject
    mail["Date"] = format_datetime(_RECEIVED)
    mail["Message-ID"] = f"<{labelled.id}@customers.example>"
    mail.set_content(labelled.body)
    return _message(mail.as_bytes(), labelled.id, ["INBOX", "UNREAD"])


def robot_message(mail: LabelledMail) -> Message:
    """A raw robot mail, parsed. An `X-Gmail-Labels` header (as in a Google Takeout export) gives the labels the
    mailbox would report, e.g. `Spam` -> SPAM; without one the mail is unread in the inbox."""
    head = BytesHeaderParser(policy=email.policy.compat32).parsebytes(mail.raw)
    exported = [label.strip() for label in str(head.get("X-Gmail-Labels", "")).split(",") if label.strip()]
    labels = [_GMAIL_LABELS.get(label.lower(), label) for label in exported] or ["INBOX", "UNREAD"]
    return _message(mail.raw, mail.path.name, labels)


def score(data: Path = DATA, gatekeeper_rules: GatekeeperRules | None = None) -> Score:
    """Every labelled customer message and robot mail through the gatekeeper."""
    active = gatekeeper_rules or rules()
    customers = [(m, gatekeep(customer_message(m), own_address=OWN, rules=active)) for m in customer_messages(data)]
    robots = []
    for mail in robot_mails(data):
        decision = gatekeep(robot_message(mail), own_address=OWN, rules=active)
        mail_type = mail.path.stem.split("-")[0]
        robots.append(RobotOutcome(mail.path.name, mail_type, Verdict(mail.verdict), mail.kind, decision))
    return Score(customers=customers, robots=robots)


def rspamd_counts(
    folder: Path = RSPAMD, gatekeeper_rules: GatekeeperRules | None = None
) -> Counter[tuple[str, str]] | None:
    """(verdict, reason) -> messages on rspamd's test messages (spam, phishing, forged senders, broken MIME), or None
    when the corpus is absent."""
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    if not files:
        return None
    active = gatekeeper_rules or rules()
    counts: Counter[tuple[str, str]] = Counter()
    for path in files:
        decision = gatekeep(_message(path.read_bytes(), path.name, ["INBOX", "UNREAD"]), own_address=OWN, rules=active)
        counts[decision.verdict.value, decision.reason] += 1
    return counts


def rspamd_table(
    folder: Path = RSPAMD,
    gatekeeper_rules: GatekeeperRules | None = None,
    counts: Counter[tuple[str, str]] | None = None,
) -> str:
    """Verdicts by reason on rspamd's test messages, or a note when the corpus is absent (`counts`: already scored)."""
    counts = counts if counts is not None else rspamd_counts(folder, gatekeeper_rules)
    if counts is None:
        return f"_Skipped: {folder} is absent (the rspamd test corpus is in ../shared, present in CI)._"
    rows = [(verdict, f"`{reason}`", str(n)) for (verdict, reason), n in sorted(counts.items(), key=_by_count)]
    return f"{sum(counts.values())} messages.\n\n" + _table(("verdict", "reason", "messages"), rows)


def report(result: Score | None = None, rspamd: Counter[tuple[str, str]] | None = None) -> str:
    """The gatekeeper section of evaluation/REPORT.md (`result`, `rspamd`: already scored, else scored now)."""
    result = result or score()
    customers, robots = result.customers, result.robots
    ignored = result.customers_ignored
    family = sum(outcome.family_right for outcome in robots)
    targets = _table(
        ("set", "messages", "right verdict", "rate", "target", "met"),
        [
            (
                "customers (PROCESS)",
                str(len(customers)),
                str(len(customers) - len(ignored)),
                _percent(len(customers) - len(ignored), len(customers)),
                "0 ignored",
                _yes(not ignored),
            ),
            (
                "robots and spam (IGNORE, partners INTERNAL_ALERT)",
                str(len(robots)),
                str(result.robots_right),
                _percent(result.robots_right, len(robots)),
                f">= {ROBOT_TARGET:.0%} of >= {ROBOTS_MINIMUM}",
                _yes(len(robots) >= ROBOTS_MINIMUM and result.robot_rate >= ROBOT_TARGET),
            ),
        ],
    )
    by_type: dict[str, list[RobotOutcome]] = {}
    for outcome in robots:
        by_type.setdefault(outcome.mail_type, []).append(outcome)
    types = _table(
        ("mail", "mails", "expected", "right verdict", "reason family as labelled"),
        [
            (
                name,
                str(len(group)),
                "/".join(sorted({o.expected.value for o in group})),
                str(sum(o.right for o in group)),
                str(sum(o.family_right for o in group)),
            )
            for name, group in sorted(by_type.items())
        ],
    )
    reasons = Counter((o.decision.verdict.value, o.decision.reason) for o in robots)
    reason_rows = [(verdict, f"`{reason}`", str(n)) for (verdict, reason), n in sorted(reasons.items(), key=_by_count)]
    misses = [f"- `{o.name}`: {o.decision.verdict.value} `{o.decision.reason}` ({o.decision.detail})" for o in robots]
    misses = [line for line, o in zip(misses, robots, strict=True) if not o.right]
    misses += [f"- customer `{m.id}`: {d.verdict.value} `{d.reason}` ({d.detail})" for m, d in ignored]
    customer_reasons = Counter(d.reason for _m, d in customers)
    sections = [
        "## Gatekeeper",
        "Rules: the shipped configuration (`orchestrator/default_config.toml`); every message goes through the real "
        "MIME parser first. Customers are the labelled messages of `evaluation/data/customers_*.toml` sent as plain "
        "mail; robots and spam are the raw mails of `evaluation/data/robots/`.",
        targets,
        f"Reason family as labelled: {family} of {len(robots)}. Customers by reason: "
        + (", ".join(f"`{r}` {n}" for r, n in customer_reasons.most_common()) or "none yet")
        + ".",
        "### Robots and spam by kind of mail",
        types,
        "### Robots and spam: verdicts by reason",
        _table(("verdict", "reason", "mails"), reason_rows),
        "### Misses",
        "\n".join(misses) or "None.",
        "### rspamd corpus (`../shared/corpora/mime/rspamd`): verdicts by reason",
        "Test messages of another project (spam, phishing, forged senders, DKIM/DMARC cases, broken MIME) with no "
        "label of ours: most are MIME or header test cases from `user@example.com`-style senders, so PROCESS here is "
        "not a miss count; `sender:missing` means no From address a reply could go to. The rules were not tuned on "
        "these messages.",
        rspamd_table(counts=rspamd),
    ]
    return "\n\n".join(sections)


def _message(raw: bytes, name: str, labels: list[str]) -> Message:
    stored = RawMessage(id=name, thread_id=name, labels=tuple(labels), raw=raw, internal_date=_RECEIVED)
    return to_message(stored, parse_message(raw, authserv_ids=AUTHSERV_IDS), own="")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _by_count(item: tuple[tuple[str, str], int]) -> tuple[int, str, str]:
    (verdict, reason), count = item
    return -count, verdict, reason


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"
