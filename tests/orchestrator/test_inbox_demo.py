"""`support-agent demo` end to end on the sandbox: real stdio servers, the offline engine, the expected outcomes."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from gmail_mcp.sandbox_mailbox import SANDBOX_DIR, sandbox_files
from orchestrator.inbox_demo import run_inbox_demo
from orchestrator.models import Verdict
from orchestrator.phrasebook import phrasebook
from orchestrator.pipeline import Outcome
from tests.orchestrator.test_templates import contradictions

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ROW = re.compile(r"^\| `(\d\d-[^`]+\.eml)` \|.*\| (PROCESS|IGNORE|INTERNAL_ALERT)(?::\s*(\w+))?")


def expectations() -> dict[str, tuple[str, str | None]]:
    """file -> (verdict, category) from the sandbox README's table (the single source of truth for the demo)."""
    rows = {}
    for line in (SANDBOX_DIR / "README.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            verdict, category = match.group(2), match.group(3)
            rows[match.group(1)] = (verdict, category if verdict == "PROCESS" else None)
    return rows


def message_ids() -> dict[str, str]:
    found = {}
    for path in sandbox_files()[0]:
        found[path.name] = message_from_bytes(path.read_bytes(), policy=default)["Message-ID"].strip()
    return found


def drafts(folder: Path) -> list[dict[str, str]]:
    out = []
    for path in sorted((folder / "maildir" / ".Drafts" / "cur").iterdir()):
        message = message_from_bytes(path.read_bytes(), policy=default)
        body = message.get_body(("plain",))
        out.append(
            {"in_reply_to": str(message["In-Reply-To"]).strip(), "to": str(message["To"]), "text": body.get_content()}
        )
    return out


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Outcome], str]:
    folder = tmp_path_factory.mktemp("demo") / "out"
    out = io.StringIO()
    outcomes = await run_inbox_demo(folder, out)
    return folder, outcomes, out.getvalue()


async def test_every_message_gets_its_expected_verdict_and_category(demo: tuple[Path, list[Outcome], str]) -> None:
    _, outcomes, _ = demo
    by_id = {o.rfc_message_id: o for o in outcomes}
    expected = expectations()
    assert len(expected) == len(sandbox_files()[0]) >= 20
    for name, rfc_id in message_ids().items():
        verdict, category = expected[name]
        outcome = by_id[rfc_id]
        if outcome.superseded:
            assert verdict == "PROCESS", name
            continue
        assert outcome.verdict == Verdict(verdict), (name, outcome.reason)
        if category:
            assert outcome.category == category, (name, outcome.category)


async def test_every_answered_message_has_exactly_one_threaded_draft(demo: tuple[Path, list[Outcome], str]) -> None:
    folder, outcomes, _ = demo
    answered = [o for o in outcomes if o.verdict is Verdict.PROCESS]
    saved = drafts(folder)
    assert len(saved) == len(answered) == len({o.message_id for o in answered})
    assert {d["in_reply_to"] for d in saved} == {o.rfc_message_id for o in answered}
    superseded = [o for o in outcomes if o.superseded]
    assert superseded, "María's two unread messages in one thread get one draft, answering the latest"


async def test_nothing_was_sent(demo: tuple[Path, list[Outcome], str]) -> None:
    folder, _, text = demo
    sent = list((folder / "maildir" / ".Sent" / "cur").iterdir())
    assert len(sent) == len(sandbox_files()[1]), "only the shop's earlier message is in Sent"
    assert "none sent" in text


async def test_prompt_injection_reveals_nothing_about_another_customer(demo: tuple[Path, list[Outcome], str]) -> None:
    folder, outcomes, _ = demo
    stranger = next(o for o in outcomes if o.sender == "dan.marsh77@freemail.example")
    draft = next(d for d in drafts(folder) if d["in_reply_to"] == stranger.rfc_message_id)
    assert "maria.garcia" not in draft["text"].lower().split("wrote:")[0]
    assert "#1021" not in draft["text"].split("wrote:")[0]
    assert not stranger.tools or stranger.tools == ["escalate_ticket"]


async def test_replies_use_the_tools_facts(demo: tuple[Path, list[Outcome], str]) -> None:
    folder, outcomes, _ = demo
    oliver = next(o for o in outcomes if o.sender == "oliver.bennett@example.net")
    draft = next(d for d in drafts(folder) if d["in_reply_to"] == oliver.rfc_message_id)
    assert "lookup_order" in oliver.tools and "#1019" in draft["text"] and "UPS" in draft["text"]
    assert draft["to"].endswith("<oliver.bennett@example.net>")


async def test_the_drafts_answer_what_was_asked(demo: tuple[Path, list[Outcome], str]) -> None:
    """Whatever the time of day the demo runs: no draft contradicts itself; Giulia's request for the difference goes
    to a person (a ticket) and she is offered no welcome code; Camille is not asked for the error she quoted."""
    folder, outcomes, _ = demo
    by_sender = {o.sender: o for o in outcomes if o.verdict is Verdict.PROCESS}
    texts = {d["in_reply_to"]: d["text"] for d in drafts(folder)}
    for outcome in by_sender.values():
        text = texts[outcome.rfc_message_id]
        assert contradictions(text, outcome.language or "en") == [], (outcome.sender, text)
    giulia = texts[by_sender["giulia.rossi@example.com"].rfc_message_id]
    assert phrasebook("it").say("note_price_adjustment") in giulia and "Il tuo riferimento: T-" in giulia
    assert "WELCOME10" not in giulia.split("ha scritto:")[0]
    camille = texts[by_sender["camille.lefevre@example.org"].rfc_message_id].split("a écrit :")[0]
    book = phrasebook("fr")
    assert book.say("tech_screenshot") not in camille and book.say("tech_workarounds_payment") in camille
    assert "avant le 13 décembre" in camille


def test_the_cli_prints_the_table_and_where_the_drafts_are(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sender" in result.stdout and "PROCESS (customer)" in result.stdout
    assert "reply drafts, none sent" in result.stdout and ".Drafts" in result.stdout
    copies = sorted((tmp_path / "demo" / "drafts").glob("*.eml"))
    assert len(copies) == len(list((tmp_path / "demo" / "maildir" / ".Drafts" / "cur").iterdir()))
    assert all(f"drafts/{copy.name}" in result.stdout for copy in copies), "the table names each readable copy"
    for copy in copies:  # a text viewer shows the reply: 8-bit UTF-8 text, no quoted-printable or base64
        message = message_from_bytes(copy.read_bytes(), policy=default)
        texts = [part for part in message.walk() if part.get_content_maintype() == "text"]
        assert texts and message.get_body(("plain",)) is not None, copy.name
        assert {str(part["Content-Transfer-Encoding"]) for part in texts} <= {"8bit", "7bit"}, copy.name
    spanish = next(copy for copy in copies if "maria-garcia" in copy.name).read_text("utf-8")
    assert "Pedido #1021" in spanish and "María" in spanish


@pytest.mark.anyio
async def test_which_categories_always_escalate_is_configuration(tmp_path: Path) -> None:
    from orchestrator.config import load_config

    config = load_config()
    categories = dict(config.categories)
    categories["TechnicalIssues"] = categories["TechnicalIssues"].model_copy(update={"escalate": False})
    categories["PromotionsDiscountsPricing"] = categories["PromotionsDiscountsPricing"].model_copy(
        update={"escalate": True}
    )
    changed = config.model_copy(update={"categories": categories})
    outcomes = await run_inbox_demo(tmp_path / "demo", io.StringIO(), changed)
    escalated = {o.category for o in outcomes if o.escalated and o.verdict is Verdict.PROCESS}
    assert "PromotionsDiscountsPricing" in escalated and "TechnicalIssues" not in escalated
