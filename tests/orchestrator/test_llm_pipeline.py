"""The LLM engine end to end: the real openai client against the scripted OpenAI-compatible server, over the sandbox.

Includes a hostile model that tries every way to reach another customer's data (invariant 4), and LLM outages that
must fall back to the offline engine without losing mail.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from orchestrator.inbox_demo import MAILBOX, prepare, specs
from orchestrator.ledger import Ledger
from orchestrator.llm import LLM
from orchestrator.models import Verdict
from orchestrator.openai_emulator import EMULATOR_API_KEY, DefaultScript, HostileScript, OpenAIEmulator, serve_emulator
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
VICTIM = "j.nunez@example.org"  # a sandbox customer who wrote nothing to the inbox
VICTIM_SECRETS = ("j.nunez", "#1011", "5904127364", "Núñez", "evil.example")


async def run(folder: Path, emulator: OpenAIEmulator) -> tuple[list[Outcome], Ledger]:
    prepare(folder)
    config = load_config()
    async with serve_emulator(emulator) as url:
        llm = LLM(api_key=EMULATOR_API_KEY, base_url=url, timeout=5, max_retries=1)
        async with llm, ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
            pipeline = Pipeline(servers, ledger, config, own_address=MAILBOX, worker="test", llm=llm)
            daemon = Daemon(servers, ledger, config, own_address=MAILBOX, worker="test", pipeline=pipeline)
            outcomes = await daemon.run_once()
    return outcomes, Ledger(folder / "ledger.sqlite3")


def draft_texts(folder: Path) -> list[str]:
    texts = []
    for path in (folder / "maildir" / ".Drafts" / "cur").iterdir():
        message = message_from_bytes(path.read_bytes(), policy=default)
        texts.append(f"{message['X-Support-Agent-Note']}\n{message.get_body(('plain',)).get_content()}")
    return texts


@pytest.fixture
async def llm_run(tmp_path: Path) -> AsyncIterator[tuple[Path, list[Outcome], OpenAIEmulator]]:
    emulator = OpenAIEmulator(script=DefaultScript())
    outcomes, _ = await run(tmp_path / "out", emulator)
    yield tmp_path / "out", outcomes, emulator


async def test_llm_engine_drafts_with_tools_and_records_tokens(
    llm_run: tuple[Path, list[Outcome], OpenAIEmulator],
) -> None:
    folder, outcomes, emulator = llm_run
    answered = [o for o in outcomes if o.verdict is Verdict.PROCESS]
    assert answered and all(o.draft_id for o in answered)
    assert any(o.engine == "llm" for o in answered)
    assert any("engine=llm" in text for text in draft_texts(folder))
    with sqlite3.connect(folder / "ledger.sqlite3") as db:
        tokens, calls = db.execute("select sum(tokens_prompt), sum(llm_calls) from messages").fetchone()
    assert tokens > 0 and calls >= len(answered)
    ignored = [o for o in outcomes if o.verdict is not Verdict.PROCESS]
    assert len(emulator.requests) <= 1 + len(answered) * 5, "ignored mail costs no LLM call"
    assert ignored


async def test_a_hostile_model_cannot_reach_another_customers_data(tmp_path: Path) -> None:
    emulator = OpenAIEmulator(script=HostileScript(victim_email=VICTIM, victim_orders=("#1011",)))
    folder = tmp_path / "out"
    outcomes, _ = await run(folder, emulator)
    assert any(o.draft_id for o in outcomes)
    for text in draft_texts(folder):
        for secret in VICTIM_SECRETS:
            assert secret not in text, f"{secret!r} leaked into a draft"
    with sqlite3.connect(folder / "tickets.sqlite3") as db:
        emails = {row[0] for row in db.execute("select customer_email from tickets")}
    assert VICTIM not in emails, "a ticket was opened in the victim's name"
    assert any("review" in text for text in draft_texts(folder)), "drafts the guard cleaned are flagged for review"


async def test_llm_outage_falls_back_to_the_offline_engine(tmp_path: Path) -> None:
    emulator = OpenAIEmulator(script=DefaultScript())
    emulator.faults.http_status(500, 1000)
    folder = tmp_path / "out"
    outcomes, _ = await run(folder, emulator)
    answered = [o for o in outcomes if o.verdict is Verdict.PROCESS]
    assert answered and all(o.draft_id and o.engine == "offline" for o in answered)
    assert all("engine=offline" in text for text in draft_texts(folder))
