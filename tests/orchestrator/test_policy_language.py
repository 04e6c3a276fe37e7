"""Policy excerpts in the customer's language when the shop publishes a translation, and the shop's time zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_CONFIG, ConfigError, load_config
from orchestrator.policy_excerpts import policy_excerpt
from support_core.store import Policy

ORIGINAL = Policy(
    type="REFUND_POLICY",
    title="Refund policy",
    url="https://shop.example/policies/refund-policy",
    text="Returns\n\nYou can return unworn items within 30 days.\n\nShipping costs\n\nWe pay the return label.",
)
GERMAN = ORIGINAL.model_copy(
    update={
        "title": "Rückerstattungsrichtlinie",
        "text": "Rücksendungen\n\nUngetragene Artikel kannst du innerhalb von 30 Tagen zurücksenden.\n\n"
        "Versandkosten\n\nWir zahlen das Rücksendeetikett.",
        "language": "de",
        "translated": True,
    }
)


def test_paragraphs_chosen_in_the_original_are_quoted_from_the_translation() -> None:
    excerpt = policy_excerpt(ORIGINAL, ["returns"], (), GERMAN)
    assert excerpt is not None and excerpt.language == "de"
    assert "Ungetragene Artikel" in excerpt.text and "unworn" not in excerpt.text
    untranslated = policy_excerpt(ORIGINAL, ["returns"], ())
    assert untranslated is not None and untranslated.language == "en" and "unworn" in untranslated.text


def test_a_translation_laid_out_differently_is_not_used() -> None:
    merged = GERMAN.model_copy(update={"text": GERMAN.text.replace("\n\nVersandkosten\n\n", " ")})
    excerpt = policy_excerpt(ORIGINAL, ["returns"], (), merged)
    assert excerpt is not None and excerpt.language == "en" and "unworn" in excerpt.text


def test_the_shop_time_zone_is_an_iana_name(tmp_path: Path) -> None:
    assert load_config().shop.timezone == "Europe/Madrid"
    path = tmp_path / "c.toml"
    path.write_text(DEFAULT_CONFIG.read_text("utf-8").replace('"Europe/Madrid"', '"Mars/Olympus"'))
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        load_config(path)
