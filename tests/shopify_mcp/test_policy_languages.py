"""`get_policies(language=...)` through the in-memory MCP client over the sandbox store: the shop's published
translations when it has them, the shop's own text (flagged) when it does not, and clear errors for bad codes."""

from __future__ import annotations

from typing import Any

import graphql
import pytest
from mcp import Client

from shopify_mcp.emulator.cost import CostCalculator
from shopify_mcp.queries import ALL_OPERATIONS
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.support import error_text, ok
from tests.shopify_mcp.test_queries_schema import SCHEMA_FILE, admin_schema

pytestmark = pytest.mark.anyio


async def policies(client: Client, **arguments: Any) -> dict[str, Any]:
    return ok(await client.call_tool("get_policies", arguments))


def by_type(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["type"]: p for p in result["policies"]}


def operations(emulator: ShopifyEmulator) -> list[tuple[str | None, dict[str, Any] | None]]:
    return [(r.operation, r.variables or None) for r in emulator.requests]


async def test_the_tool_declares_an_optional_language(client: Client) -> None:
    tool = next(t for t in (await client.list_tools()).tools if t.name == "get_policies")
    assert "language" in tool.input_schema["properties"]
    assert "language" not in tool.input_schema.get("required", [])
    assert tool.description is not None and "translated" in tool.description
    assert tool.output_schema is not None
    assert {"requested_language", "primary_language"} <= set(tool.output_schema["properties"])


async def test_a_translated_policy_is_given_in_the_customers_language(client: Client) -> None:
    english = (await policies(client, kind="refund"))["policies"][0]
    result = await policies(client, kind="refund", language="de")
    assert result["requested_language"] == "de" and result["primary_language"] == "en"
    [refund] = result["policies"]
    assert refund["translated"] is True and refund["language"] == "de"
    assert refund["title"] == "Rückerstattungsrichtlinie"
    assert "innerhalb von 30 Tagen nach der Zustellung" in refund["text"]
    assert "<" not in refund["text"], "the translation's HTML is turned into plain text like the original"
    assert "support@aurora-activewear.example" in refund["text"]
    assert refund["url"] == english["url"]


async def test_policies_without_a_translation_fall_back_to_the_shop_language(client: Client) -> None:
    english = by_type(await policies(client))
    french = by_type(await policies(client, language="fr"))
    assert set(french) == set(english)
    for kind in ("REFUND_POLICY", "SHIPPING_POLICY"):
        assert french[kind]["translated"] is True and french[kind]["language"] == "fr"
        assert french[kind]["text"] != english[kind]["text"]
    assert "offerte pour toute commande de plus de 60 €" in french["SHIPPING_POLICY"]["text"]
    for kind in ("PRIVACY_POLICY", "TERMS_OF_SERVICE", "CONTACT_INFORMATION"):
        assert french[kind]["translated"] is False and french[kind]["language"] == "en"
        assert french[kind]["text"] == english[kind]["text"] and french[kind]["title"] == english[kind]["title"]


@pytest.mark.parametrize("language", ["pt", "pt-BR"])
async def test_a_published_language_without_translations_gets_the_shop_text(client: Client, language: str) -> None:
    english = (await policies(client, kind="shipping"))["policies"][0]
    result = await policies(client, kind="shipping", language=language)
    assert result["requested_language"] == "pt" and result["primary_language"] == "en"
    [shipping] = result["policies"]
    assert shipping["translated"] is False and shipping["language"] == "en"
    assert shipping["text"] == english["text"]


async def test_an_outdated_translation_is_not_quoted(client: Client, emulator: ShopifyEmulator) -> None:
    """The Italian refund policy still says 14 days; the shop has since moved to 30."""
    [refund] = (await policies(client, kind="refund", language="it"))["policies"]
    assert refund["translated"] is False and refund["language"] == "en"
    assert "30 days of delivery" in refund["text"] and "14 giorni" not in refund["text"]
    assert ("ShopPolicyTranslations", {"locale": "it"}) in operations(emulator)


async def test_a_language_the_shop_does_not_publish_is_not_fetched(client: Client, emulator: ShopifyEmulator) -> None:
    """Dutch has a translation, but buyers cannot see Dutch yet; Japanese is not a shop language at all."""
    for language in ("nl", "ja"):
        [refund] = (await policies(client, kind="refund", language=language))["policies"]
        assert refund["translated"] is False and refund["language"] == "en"
    assert [op for op, _ in operations(emulator)] == ["ShopPolicies", "ShopLocales"]


async def test_the_shop_language_needs_no_translation(client: Client, emulator: ShopifyEmulator) -> None:
    result = await policies(client, language="en")
    assert all(p["language"] == "en" and p["translated"] is False for p in result["policies"])
    assert "ShopPolicyTranslations" not in [op for op, _ in operations(emulator)]


@pytest.mark.parametrize("language", ["DE", " de ", "de-AT", "de_de"])
async def test_language_codes_are_read_leniently(client: Client, language: str) -> None:
    result = await policies(client, kind="refund", language=language)
    assert result["requested_language"] == "de"
    assert result["policies"][0]["translated"] is True and result["policies"][0]["language"] == "de"


@pytest.mark.parametrize("language", ["german", "deu", "d", "", "xx", "de-", "12"])
async def test_an_invalid_language_is_a_clear_error(client: Client, emulator: ShopifyEmulator, language: str) -> None:
    text = error_text(await client.call_tool("get_policies", {"kind": "refund", "language": language}))
    assert f"Unknown language {language!r}" in text and "ISO 639-1" in text and "'de'" in text
    assert emulator.requests == [], "nothing is asked of Shopify for a bad argument"


async def test_translations_are_cached_per_locale(client: Client, emulator: ShopifyEmulator) -> None:
    for language in ("de", "es", "de", "es", "fr"):
        await policies(client, kind="shipping", language=language)
    await policies(client, language="de")
    assert operations(emulator) == [
        ("ShopPolicies", None),
        ("ShopLocales", None),
        ("ShopPolicyTranslations", {"locale": "de"}),
        ("ShopPolicyTranslations", {"locale": "es"}),
        ("ShopPolicyTranslations", {"locale": "fr"}),
    ]
    assert max(r.requested_cost or 0 for r in emulator.requests) <= 3


async def test_without_language_the_answer_is_unchanged(client: Client, emulator: ShopifyEmulator) -> None:
    result = await policies(client)
    assert result["requested_language"] is None and result["primary_language"] is None
    assert all(p["language"] is None and p["translated"] is False for p in result["policies"])
    assert [op for op, _ in operations(emulator)] == ["ShopPolicies"]


async def test_without_the_translations_scope_the_shop_text_is_given(client: Client, emulator: ShopifyEmulator) -> None:
    emulator.scopes.discard("read_translations")
    [refund] = (await policies(client, kind="refund", language="de"))["policies"]
    assert refund["translated"] is False and refund["language"] == "en"
    assert "30 days of delivery" in refund["text"]


async def test_without_the_locales_scope_translations_are_still_found(
    client: Client, emulator: ShopifyEmulator
) -> None:
    emulator.scopes.discard("read_locales")
    german = await policies(client, kind="refund", language="de")
    assert german["primary_language"] is None
    assert german["policies"][0]["translated"] is True and german["policies"][0]["language"] == "de"
    [untranslated] = (await policies(client, kind="refund", language="pt"))["policies"]
    assert untranslated["translated"] is False and untranslated["language"] is None, "the shop's language is unknown"


@pytest.mark.parametrize("name", ["ShopLocales", "ShopPolicyTranslations"])
def test_the_translation_operations_are_valid_and_cheap_on_shopifys_schema(name: str) -> None:
    if not SCHEMA_FILE.is_file():
        pytest.skip(f"{SCHEMA_FILE} is absent: the Shopify schema lives in ../shared beside the checkout")
    schema = admin_schema()
    document = graphql.parse(ALL_OPERATIONS[name])
    assert graphql.validate(schema, document) == []
    [operation] = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    assert CostCalculator(schema, document, operation, {"locale": "de"}).requested() <= 3
