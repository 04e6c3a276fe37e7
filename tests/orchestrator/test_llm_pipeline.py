"""The LLM engine end to end: the real openai client against the scripted OpenAI-compatible server, over the sandbox.

Includes a hostile model that tries every way to reach another customer's data (invariant 4), and LLM outages that
must fall back to the offline engine without losing mail.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from orchestrator.inbox_demo import MAILBOX, prepare, specs
from orchestrator.ledger import Ledger
from orchestrator.llm import LLM
from orchestrator.models import Verdict
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers
from support_testing.openai_emulator import (
    EMULATOR_API_KEY,
    DefaultScript,
    HostileScript,
    OpenAIEmulator,
    serve_emulator,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
VICTIM = "j.nunez@example.org"  # a sandbox customer who wrote nothing to the inbox
VICTIM_SECRETS = ("j.nunez", "#1011", "5904127364", "Núñez", "evil.example")


async def run(folder: Path, emulator: OpenAIEmulator, *, llm_timeout: float = 5) -> tuple[list[Outcome], Ledger]:
    prepare(folder)
    config = load_config()
    async with serve_emulator(emulator) as url:
        llm = LLM(api_key=EMULATOR_API_KEY, base_url=url, timeout=llm_timeout, max_retries=1)
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
    router_calls = [r for r in emulator.requests if r.response_format]
    assert len(router_calls) == len(answered), "one router call per answered message; ignored mail costs none"
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


def paused_after_the_first_calls(emulator: OpenAIEmulator, answered: list[Outcome]) -> bool:
    """Whether a dead endpoint was asked only by the first messages in flight (each call and its one retry), the
    rest of the inbox going to the offline engine at once (the outage pause), instead of two calls per message."""
    in_flight = load_config().daemon.concurrency
    return len(answered) > in_flight and len(emulator.requests) <= in_flight * 2


async def test_llm_outage_falls_back_to_the_offline_engine(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emulator = OpenAIEmulator(script=DefaultScript())
    emulator.faults.http_status(500, 1000)
    folder = tmp_path / "out"
    outcomes, _ = await run(folder, emulator)
    answered = [o for o in outcomes if o.verdict is Verdict.PROCESS]
    assert answered and all(o.draft_id and o.engine == "offline" for o in answered)
    assert all("engine=offline" in text for text in draft_texts(folder))
    assert paused_after_the_first_calls(emulator, answered)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "LLM" in r.getMessage()]
    assert len(warnings) == 1 and "HTTP 500" in warnings[0] and "Pausing the LLM for 60s" in warnings[0]


@pytest.mark.parametrize("fault", ["timeout", "429", "refusal", "malformed_json"])
async def test_every_llm_failure_keeps_the_mail_moving(tmp_path: Path, fault: str) -> None:
    emulator = OpenAIEmulator(script=DefaultScript())
    if fault == "timeout":
        emulator.faults.timeout(1000, seconds=30)
    elif fault == "429":
        emulator.faults.http_status(429, 1000, retry_after=0)
    elif fault == "refusal":
        emulator.faults.refusal(1000)
    else:
        emulator.faults.malformed_json(1000)
    folder = tmp_path / "out"
    outcomes, _ = await run(folder, emulator, llm_timeout=0.3)
    answered = [o for o in outcomes if o.verdict is Verdict.PROCESS]
    assert answered and all(o.draft_id for o in answered), "every customer message still gets a draft"
    if fault in ("timeout", "429"):  # the endpoint is unavailable: paused after the first calls
        assert paused_after_the_first_calls(emulator, answered)
    else:  # the endpoint answers (unusably): no pause, every message asks it
        assert len([r for r in emulator.requests if r.response_format]) == len(answered)


async def test_malformed_tool_arguments_are_reported_back_to_the_model(tmp_path: Path) -> None:
    from support_testing.openai_emulator import malformed_tool_call, router_answer, text

    decision = {
        "category": "ShippingDelivery", "language": "en", "order_number": "#1019", "sentiment": "negative",
        "urgency": "normal", "handover": [], "confidence": 0.9,
    }  # fmt: skip
    malformed = [malformed_tool_call("lookup_order", "{not json")]

    def script(request: dict[str, Any]) -> Any:  # by request, not by order: several messages are in flight at once
        if request.get("response_format"):
            return router_answer(decision)
        if malformed and not any(m.get("role") == "tool" for m in request.get("messages", [])):
            return malformed.pop()
        return text("Sorry!")

    emulator = OpenAIEmulator(script=script)
    outcomes, _ = await run(tmp_path / "out", emulator)
    assert all(o.draft_id for o in outcomes if o.verdict is Verdict.PROCESS)
    tool_results = [
        m for r in emulator.requests for m in (r.request or {}).get("messages", []) if m.get("role") == "tool"
    ]
    assert any("not valid JSON" in str(m.get("content")) for m in tool_results)
