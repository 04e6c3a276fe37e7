"""The inbox answers in the shop's configured languages only (`[shop] languages`), on both engines: the sandbox inbox
through the daemon, real stdio tool servers, and (for the LLM engine) the real openai client against the scripted
OpenAI-compatible server, whose router names the customer's own language."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from gmail_mcp.sandbox_mailbox import sandbox_files
from orchestrator.config import AgentConfig, load_config
from orchestrator.daemon import Daemon
from orchestrator.inbox_demo import MAILBOX, draft_file, prepare, specs
from orchestrator.language import detect_language
from orchestrator.ledger import Ledger
from orchestrator.llm import LLM
from orchestrator.pipeline import Outcome, Pipeline
from orchestrator.servers import ToolServers
from support_testing.openai_emulator import EMULATOR_API_KEY, DefaultScript, OpenAIEmulator, serve_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def shop_speaking(*languages: str) -> AgentConfig:
    config = load_config()
    return config.model_copy(update={"shop": config.shop.model_copy(update={"languages": languages})})


def sandbox_language(prefix: str) -> set[str]:
    """The Message-IDs of the sandbox inbox's mails written in one language (their file names say it: `05-fr-...`)."""
    found = set()
    for path in sandbox_files()[0]:
        if path.name.split("-")[1] == prefix:
            found.add(str(message_from_bytes(path.read_bytes(), policy=default)["Message-ID"]).strip())
    return found


def own_words(folder: Path, outcome: Outcome) -> str:
    """The draft's text without the quoted original (which is the customer's French, by design)."""
    message = message_from_bytes((folder / draft_file(folder, outcome.draft_id)).read_bytes(), policy=default)
    body = message.get_body(("plain",))
    assert body is not None
    return "\n".join(line for line in body.get_content().splitlines() if not line.startswith(">"))


async def run(folder: Path, config: AgentConfig, emulator: OpenAIEmulator | None = None) -> list[Outcome]:
    prepare(folder)
    async with ToolServers(*specs(folder)) as servers, Ledger(folder / "ledger.sqlite3") as ledger:
        if emulator is None:
            return await Daemon(servers, ledger, config, own_address=MAILBOX, worker="test").run_once()
        async with serve_emulator(emulator) as url, LLM(api_key=EMULATOR_API_KEY, base_url=url, timeout=5) as llm:
            pipeline = Pipeline(servers, ledger, config, own_address=MAILBOX, worker="test", llm=llm)
            daemon = Daemon(servers, ledger, config, own_address=MAILBOX, worker="test", pipeline=pipeline)
            return await daemon.run_once()


def answered(outcomes: list[Outcome], message_ids: set[str]) -> list[Outcome]:
    return [o for o in outcomes if o.rfc_message_id in message_ids and o.draft_id]


async def test_offline_engine_answers_french_mail_in_the_fallback_language(tmp_path: Path) -> None:
    french, german = sandbox_language("fr"), sandbox_language("de")
    everywhere = await run(tmp_path / "all", load_config())
    assert {o.language for o in answered(everywhere, french)} == {"fr"}, "all six languages: French is answered"
    folder = tmp_path / "en-de"
    outcomes = await run(folder, shop_speaking("en", "de"))
    assert len(answered(outcomes, french)) >= 2
    for outcome in answered(outcomes, french):
        assert (outcome.engine, outcome.language) == ("offline", "en"), outcome.subject
        assert detect_language(own_words(folder, outcome)) == "en", own_words(folder, outcome)
    assert answered(outcomes, german) and {o.language for o in answered(outcomes, german)} == {"de"}
    assert {o.language for o in outcomes if o.draft_id} <= {"en", "de"}


async def test_llm_engine_answers_french_mail_in_the_fallback_language(tmp_path: Path) -> None:
    emulator = OpenAIEmulator(script=DefaultScript())
    outcomes = await run(tmp_path / "en-de", shop_speaking("en", "de"), emulator)
    french = answered(outcomes, sandbox_language("fr"))
    assert french and all(o.engine == "llm" for o in french)
    routed = [json.loads(r.answer["choices"][0]["message"]["content"]) for r in emulator.requests if r.response_format]
    assert "fr" in {decision["language"] for decision in routed}, "the model's router did say French"
    assert {o.language for o in french} == {"en"}, "but the shop does not answer in French"
    prompts = [str(r.request["messages"][1]["content"]) for r in emulator.requests if r.request and r.tools]
    french_prompts = [p for p in prompts if "commande" in p or "Bonjour" in p]
    assert french_prompts and all("Reply language: en" in p for p in french_prompts)
    assert {o.language for o in outcomes if o.draft_id} <= {"en", "de"}
