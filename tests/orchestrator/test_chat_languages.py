"""The chat answers in the shop's configured languages only (`[shop] languages`), through the chat entry point over
real stdio tool servers on the sandbox store."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.chat import answer, router
from orchestrator.config import AgentConfig, load_config
from orchestrator.inbox_demo import prepare, specs
from orchestrator.language import detect_language
from orchestrator.servers import ToolServers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

MARIA = "maria.garcia@example.com"


def shop_speaking(*languages: str) -> AgentConfig:
    config = load_config()
    return config.model_copy(update={"shop": config.shop.model_copy(update={"languages": languages})})


async def test_a_shop_configured_for_english_and_german_never_answers_in_french(tmp_path: Path) -> None:
    config = shop_speaking("en", "de")
    messages = {
        "fr": "Bonjour, où est ma commande #1021 ? Je l'attends depuis une semaine.",
        "de": "Hallo, wo ist meine Bestellung #1021? Ich warte seit einer Woche.",
        "en": "Hi, where is my order #1021? I've been waiting for a week.",
    }
    async with ToolServers(*specs(prepare(tmp_path / "sandbox"))) as servers:
        pipeline = router(servers, config)
        replies = {
            language: await answer(servers, config, text, customer_email=MARIA, pipeline=pipeline)
            for language, text in messages.items()
        }
        everywhere = await answer(servers, load_config(), messages["fr"], customer_email=MARIA)
    assert everywhere.language == "fr", "a shop with all six languages answers the French customer in French"
    assert replies["fr"].language == "en", "not French, and not a guess: the fallback language"
    assert detect_language(replies["fr"].response) == "en"
    assert (replies["de"].language, replies["en"].language) == ("de", "en")
    assert detect_language(replies["de"].response) == "de"
    assert all("6219473050" in reply.response for reply in replies.values()), "the order is answered in each"
