"""The gatekeeper's evaluation: the targets the README quotes, the labelled robot set itself, and the report."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from evaluation import gatekeeper as evaluation
from evaluation.dataset import DATA, LabelledMessage, robot_mails
from orchestrator.gatekeeper import gatekeep
from orchestrator.models import Verdict

ROBOTS = DATA / "robots"
KINDS = (
    "newsletter", "bounce", "autoreply", "notification", "seo", "agency", "influencer", "marketplace", "phishing",
    "lookalike", "upstream", "gtube", "adv", "partner",
)  # fmt: skip


@pytest.fixture(scope="module")
def score() -> evaluation.Score:
    return evaluation.score()


def test_targets_every_customer_answered_and_robots_caught(score: evaluation.Score) -> None:
    ignored = [(m.id, d.reason, d.detail) for m, d in score.customers_ignored]
    assert not ignored, f"customers the gatekeeper would not answer: {ignored}"
    missed = [(o.name, o.decision.verdict.value, o.decision.reason) for o in score.robots if not o.right]
    assert len(score.robots) >= evaluation.ROBOTS_MINIMUM
    assert score.robot_rate >= evaluation.ROBOT_TARGET, f"missed: {missed}"
    assert score.targets_met


def test_customers_are_sent_as_plain_mail_and_answered_to_their_address(score: evaluation.Score) -> None:
    if not score.customers:
        pytest.skip("evaluation/data/customers_*.toml holds no message yet")
    for message, decision in score.customers:
        assert (decision.reason, decision.customer_email) == ("customer", message.address), message.id


def test_robot_set_is_labelled_and_covers_every_kind() -> None:
    labels = tomllib.loads((ROBOTS / "labels.toml").read_text("utf-8"))["labels"]
    assert set(labels) == {path.name for path in ROBOTS.glob("*.eml")}, "every .eml is labelled, every label a file"
    kinds = Counter(name.split("-")[0] for name in labels)
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 3, kinds
    mails = robot_mails()
    assert {m.verdict for m in mails} == {"IGNORE", "INTERNAL_ALERT"}
    assert all(m.verdict == "INTERNAL_ALERT" for m in mails if m.path.name.startswith("partner-"))
    assert all(m.raw.startswith(b"Return-Path: ") or m.raw.startswith(b"X-Spam-") for m in mails), "raw mail files"


def test_gmail_labels_of_an_exported_mail_become_message_labels() -> None:
    mail = next(m for m in robot_mails() if m.path.name == "upstream-07-gmail-spam-label.eml")
    assert evaluation.robot_message(mail).labels == ["SPAM", "UNREAD"]


def test_partners_alert_a_person(score: evaluation.Score) -> None:
    partners = [o for o in score.robots if o.mail_type == "partner"]
    assert partners and all(o.decision.verdict is Verdict.INTERNAL_ALERT for o in partners)


def test_report_tables() -> None:
    text = evaluation.report()
    assert text.startswith("## Gatekeeper")
    assert "| customers (PROCESS) |" in text and "| robots and spam (IGNORE, partners INTERNAL_ALERT) |" in text
    assert "### Robots and spam: verdicts by reason" in text
    assert "### rspamd corpus" in text


def test_rspamd_table_without_shared(tmp_path: Path) -> None:
    assert evaluation.rspamd_table(tmp_path / "absent").startswith("_Skipped:")


def test_rspamd_table_counts_every_message(shared_dir: Path) -> None:
    folder = shared_dir / "corpora" / "mime" / "rspamd"
    table = evaluation.rspamd_table(folder)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| verdict")]
    assert sum(int(row.rstrip(" |").rsplit("|", 1)[1]) for row in rows) == len(list(folder.glob("*.eml")))
    assert "`spam:gtube`" in table  # rspamd's gtube.eml


def test_a_customer_who_proposes_a_collaboration_is_answered_a_cold_pitch_is_not(score: evaluation.Score) -> None:
    proposing = [(m.id, d.verdict) for m, d in score.customers if "-gate-" in m.id]
    assert len(proposing) >= 6 and {verdict for _, verdict in proposing} == {Verdict.PROCESS}, proposing
    pitches = [
        "Hi! I run a fitness Instagram page with 20k engaged followers. Would you be open to a collaboration?",
        "Hello, we'd love to collaborate with your brand: our creators get results. Would you be interested?",
    ]
    for number, body in enumerate(pitches):
        pitch = LabelledMessage(f"pitch-{number}", "Collaboration", body, "AccountProfileOther", "en")
        decision = gatekeep(evaluation.customer_message(pitch), own_address=evaluation.OWN, rules=evaluation.rules())
        assert (decision.verdict, decision.reason) == (Verdict.IGNORE, "spam:pitch"), body


def test_customers_in_every_language_whose_mail_looks_like_a_pitch_are_answered(score: evaluation.Score) -> None:
    """A purchase, a restock question or a shipping question beside a collaboration proposal or a phrase a pitch
    pattern knows ('wir sind Hersteller', 'primera página de Google'): answered in all six languages, while the
    pitches that use the same words as statements stay ignored."""
    gate = [(m, d) for m, d in score.customers if "-gate-" in m.id]
    languages = Counter(m.language for m, _ in gate)
    assert set(languages) == {"en", "es", "fr", "de", "it", "pt"} and min(languages.values()) >= 3, languages
    assert all(d.verdict is Verdict.PROCESS for _, d in gate)
    near = [o for o in score.robots if o.name.split("-")[0] in ("influencer", "marketplace", "agency")]
    statements = ("retour-en-stock", "back-in-stock", "hersteller-lieferung")
    assert sum(any(s in o.name for s in statements) for o in near) == len(statements)
    assert all(o.right and o.family_right for o in near), [(o.name, o.decision.reason) for o in near if not o.right]
