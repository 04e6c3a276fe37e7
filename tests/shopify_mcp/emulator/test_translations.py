"""Shop locales and published policy translations: the store file's format, and the emulator's answers to
`shopLocales` and `ShopPolicy.translations` as Shopify gives them (scopes, `published`, `marketId`, `outdated`)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shopify_mcp.emulator import Store, build_store, load_sandbox_store
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.emulator.conftest import gql
from tests.shopify_mcp.emulator.store_data import NOW, store_document

LOCALES = [
    {"locale": "en", "name": "English", "primary": True},
    {"locale": "de", "name": "German"},
    {"locale": "pt-BR", "name": "Portuguese (Brazil)", "published": False},
]


def translated_document(**shop: Any) -> dict[str, Any]:
    document = store_document()
    document["shop"]["locales"] = LOCALES
    document["shop"]["policies"][0].update(
        updated_days_ago=10,
        translations={
            "de": {"body_html": "<p>30 Tage.</p>", "updated_days_ago": 3},
            "pt-BR": {"body_html": "<p>14 dias.</p>", "updated_days_ago": 40},
        },
    )
    document["shop"].update(shop)
    return document


@pytest.fixture
def store() -> Store:
    return build_store(translated_document(), now=NOW)


QUERY = """
query Q($locale: String!, $market: ID, $published: Boolean!) {
  shopLocales(published: $published) { locale name primary published }
  shop { shopPolicies { type translations(locale: $locale, marketId: $market) { key locale value outdated } } }
}
"""


async def ask(http: httpx.AsyncClient, locale: str, *, market: str | None = None, published: bool = True) -> Any:
    return await gql(http, QUERY, {"locale": locale, "market": market, "published": published}, operation="Q")


@pytest.mark.anyio
async def test_published_locales_and_translations_per_locale(http: httpx.AsyncClient) -> None:
    data = (await ask(http, "de"))["data"]
    assert [(x["locale"], x["primary"]) for x in data["shopLocales"]] == [("en", True), ("de", False)]
    refund, shipping = data["shop"]["shopPolicies"]
    assert refund["translations"] == [{"key": "body", "locale": "de", "value": "<p>30 Tage.</p>", "outdated": False}]
    assert shipping["translations"] == []
    every = (await ask(http, "pt-BR", published=False))["data"]
    assert [x["locale"] for x in every["shopLocales"]] == ["en", "de", "pt-BR"]
    assert every["shopLocales"][2]["published"] is False
    assert every["shop"]["shopPolicies"][0]["translations"][0]["outdated"] is True, "older than the policy text"
    assert (await ask(http, "pt"))["data"]["shop"]["shopPolicies"][0]["translations"] == [], "locales match exactly"


@pytest.mark.anyio
async def test_no_market_specific_translations(http: httpx.AsyncClient) -> None:
    data = (await ask(http, "de", market="gid://shopify/Market/1"))["data"]
    assert data["shop"]["shopPolicies"][0]["translations"] == []


@pytest.mark.anyio
@pytest.mark.parametrize(("scope", "field"), [("read_locales", "shopLocales"), ("read_translations", "translations")])
async def test_each_field_needs_its_scope(
    http: httpx.AsyncClient, emu: ShopifyEmulator, scope: str, field: str
) -> None:
    emu.scopes.discard(scope)
    body = await ask(http, "de")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "ACCESS_DENIED" and f"`{scope}`" in error["message"]
    assert error["message"].startswith(f"Access denied for {field} field")


def test_a_shop_without_locales_speaks_english_only() -> None:
    shop = build_store(store_document(), now=NOW).shop
    assert [(x.locale, x.primary, x.published) for x in shop.shop_locales] == [("en", True, True)]
    assert all(policy.translations == [] for policy in shop.shop_policies)


@pytest.mark.parametrize(
    ("locales", "translations", "message"),
    [
        (LOCALES[1:], {}, "exactly one primary"),
        ([*LOCALES, {"locale": "fr", "name": "French", "primary": True}], {}, "exactly one primary"),
        ([{"locale": "en", "name": "English", "primary": True, "published": False}], {}, "always published"),
        ([*LOCALES, {"locale": "de", "name": "Deutsch"}], {}, "duplicate locale 'de'"),
        ([{"locale": "EN_us", "name": "English", "primary": True}], {}, "not a Shopify locale"),
        (LOCALES, {"fr": {"body_html": "<p>x</p>"}}, r"'fr' is not one of the shop's secondary locales"),
        (LOCALES, {"en": {"body_html": "<p>x</p>"}}, r"'en' is not one of the shop's secondary locales"),
        (LOCALES, {"de": {"body_html": ""}}, r"translations\.de: `body_html` must be a non-empty string"),
    ],
)
def test_bad_locales_and_translations_are_named(
    locales: list[dict[str, Any]], translations: dict[str, Any], message: str
) -> None:
    document = store_document()
    document["shop"]["locales"] = locales
    document["shop"]["policies"][0]["translations"] = translations
    with pytest.raises(ValueError, match=message):
        build_store(document, now=NOW)


def _shape(html: str) -> tuple[list[str], list[str]]:
    return re.findall(r"<(h2|p|ul|li)>", html), re.findall(r'href="([^"]+)"', html)


def test_sandbox_translations_mirror_the_policies_they_translate() -> None:
    """Same headings, paragraphs, bullets and links in the same order: a reply can quote the same section."""
    shop = load_sandbox_store().shop
    published = {x.locale for x in shop.shop_locales if x.published and not x.primary}
    assert {"de", "es", "fr"} <= published and "nl" not in published
    current = {(t.locale, p.type) for p in shop.shop_policies for t in p.translations if not t.outdated}
    assert {("de", p.type) for p in shop.shop_policies} <= current
    assert {("es", p.type) for p in shop.shop_policies} <= current
    assert ("fr", "PRIVACY_POLICY") not in current, "French is partly translated: the fallback is exercised"
    assert not any(t.locale.startswith("pt") for p in shop.shop_policies for t in p.translations)
    for policy in shop.shop_policies:
        for translation in policy.translations:
            if translation.outdated:
                continue
            where = f"{policy.type} in {translation.locale}"
            assert _shape(translation.value) == _shape(policy.body), where
            assert re.findall(r"#\d+|\+[\d ]+\d", translation.value) == re.findall(r"#\d+|\+[\d ]+\d", policy.body)
