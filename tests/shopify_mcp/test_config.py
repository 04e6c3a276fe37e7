"""Settings: defaults, aliases from the original product, and readable errors for incoherent settings."""

from __future__ import annotations

import pytest

from shopify_mcp.config import load_settings
from shopify_mcp.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SHOPIFY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_no_store_means_sandbox() -> None:
    settings = load_settings()
    assert settings.sandbox
    assert settings.api_version == "2026-07"
    assert settings.verify_customer_email is True


def test_original_variable_names_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_URL", "my-shop.myshopify.com/")
    monkeypatch.setenv("SHOPIFY_TOKEN", "shpat_abc")
    settings = load_settings()
    assert settings.base_url == "https://my-shop.myshopify.com"
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "shpat_abc"
    assert "shpat_abc" not in repr(settings), "secrets must not appear in reprs or logs"


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_METAFIELD_KEYS", "care_instructions, fabric ,")
    assert load_settings().metafield_keys == ("care_instructions", "fabric")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHOPIFY_STORE": "x.myshopify.com"}, "no credentials"),
        ({"SHOPIFY_CLIENT_ID": "abc"}, "go together"),
        ({"SHOPIFY_API_VERSION": "2026-05"}, "quarter"),
        ({"SHOPIFY_TICKET_SINK": "webhook"}, "SHOPIFY_TICKET_WEBHOOK_URL"),
        ({"SHOPIFY_TICKET_SINK": "zendesk"}, "SHOPIFY_ZENDESK_SUBDOMAIN"),
        ({"SHOPIFY_TICKET_SINK": "carrier-pigeon"}, "SHOPIFY_TICKET_SINK: Input should be"),
        ({"SHOPIFY_TIMEOUT": "abc"}, "SHOPIFY_TIMEOUT: Input should be a valid number"),
        ({"SHOPIFY_MAX_RETRIES": "-1"}, "SHOPIFY_MAX_RETRIES: Input should be greater than or equal to 0"),
    ],
)
def test_incoherent_settings_give_one_readable_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()
