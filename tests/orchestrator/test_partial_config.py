"""A configuration file holds only what differs from the defaults: it is merged over them, then validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import (
    demo_traits,
    load_config,
    merge_settings,
    settings_given,
)
from orchestrator.errors import ConfigError
from orchestrator.models import CATEGORIES, LANGUAGES

DEFAULTS = load_config()


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_shop_name_alone_loads_with_every_other_setting_from_the_defaults(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, '[shop]\nname = "My Shop"\n'))
    assert config.shop.name == "My Shop"
    assert config.shop.domains == DEFAULTS.shop.domains and config.shop.timezone == DEFAULTS.shop.timezone
    assert config.labels == DEFAULTS.labels and config.engine == DEFAULTS.engine and config.daemon == DEFAULTS.daemon
    assert config.categories == DEFAULTS.categories and config.gatekeeper == DEFAULTS.gatekeeper
    assert config.tone == DEFAULTS.tone and config.mailboxes == ()


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(config_file(tmp_path, "# nothing changed yet\n")) == DEFAULTS


def test_a_nested_override_keeps_the_rest_of_its_table_and_the_other_categories(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "[categories.PaymentBilling]\nescalate = true\n"))
    payment = config.categories["PaymentBilling"]
    assert payment.escalate is True and DEFAULTS.categories["PaymentBilling"].escalate is False
    assert (payment.prompt, payment.tools) == (
        DEFAULTS.categories["PaymentBilling"].prompt,
        DEFAULTS.categories["PaymentBilling"].tools,
    )
    assert set(config.categories) == set(CATEGORIES)
    assert {k: v for k, v in config.categories.items() if k != "PaymentBilling"} == {
        k: v for k, v in DEFAULTS.categories.items() if k != "PaymentBilling"
    }


def test_arrays_and_values_replace_the_defaults_instead_of_adding_to_them(tmp_path: Path) -> None:
    text = '[shop]\ndomains = ["my-shop.example"]\nlanguages = ["de"]\n[daemon]\nconcurrency = 2\n'
    config = load_config(config_file(tmp_path, text))
    assert config.shop.domains == ("my-shop.example",) and config.shop.languages == ("de",)
    assert config.daemon.concurrency == 2 and config.daemon.max_attempts == DEFAULTS.daemon.max_attempts
    assert config.shop.name == DEFAULTS.shop.name


def test_an_own_signature_drops_the_demo_shops_signatures_per_language(tmp_path: Path) -> None:
    assert "Aurora Activewear" in DEFAULTS.tone.signature_for("es"), "the check below would prove nothing"
    own = load_config(config_file(tmp_path, '[tone]\nsignature = "Ana\\nMy Shop"\n'))
    assert own.tone.signatures == {}
    assert all(own.tone.signature_for(language) == "Ana\nMy Shop" for language in LANGUAGES)
    per_language = load_config(config_file(tmp_path, '[tone.signatures]\nes = "Ana\\nMi Tienda"\n'))
    assert per_language.tone.signatures == {"es": "Ana\nMi Tienda"}, "only the file's own, none of the demo's"
    assert per_language.tone.signature == DEFAULTS.tone.signature


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[shop]\nnam = "My Shop"\n', "shop.nam: Extra inputs are not permitted"),
        ("[categories.PaymentBilling]\nescalat = true\n", "categories.PaymentBilling.escalat: Extra inputs"),
        ('[categories.Refunds]\nprompt = "x"\ntools = []\n', "categories: Value error, categories must be exactly"),
        ("[daemon]\nconcurrency = 0\n", "daemon.concurrency: Input should be greater than or equal to 1"),
        ('shop = "My Shop"\n', "shop: Input should be a valid dictionary"),
        ("[colours]\nprimary = 1\n", "colours: Extra inputs are not permitted"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_file_and_the_setting(tmp_path: Path, text: str, where: str) -> None:
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and where in message and "\n" not in message


def test_mailboxes_come_from_the_file_only() -> None:
    defaults = {"shop": {"name": "Demo", "domains": ["demo.example"]}, "mailboxes": [{"name": "demo"}]}
    assert "mailboxes" not in merge_settings(defaults, {"shop": {"name": "Mine"}})
    merged = merge_settings(defaults, {"mailboxes": [{"name": "mine"}]})
    assert merged["mailboxes"] == [{"name": "mine"}]
    assert merged["shop"] == {"name": "Demo", "domains": ["demo.example"]}
    assert defaults["shop"] == {"name": "Demo", "domains": ["demo.example"]}, "the defaults are left as they were"


def test_the_settings_a_file_gives_are_named_by_their_dotted_paths(tmp_path: Path) -> None:
    text = (
        '[shop]\nname = "My Shop"\ndomains = ["a.example", "b.example"]\n[categories.PaymentBilling]\nescalate = true\n'
    )
    assert settings_given(config_file(tmp_path, text)) == {
        "shop.name",
        "shop.domains",
        "categories.PaymentBilling.escalate",
    }
    assert settings_given(None) == frozenset()


def test_the_demo_shops_identity_is_recognised_until_every_trace_of_it_is_replaced(tmp_path: Path) -> None:
    assert demo_traits(DEFAULTS) == ("shop.name", "shop.domains", "tone.signature", "tone.signatures")
    renamed = load_config(config_file(tmp_path, '[shop]\nname = "My Shop"\ndomains = ["my-shop.example"]\n'))
    assert demo_traits(renamed) == ("tone.signature", "tone.signatures")
    own = load_config(
        config_file(
            tmp_path,
            '[shop]\nname = "My Shop"\ndomains = ["my-shop.example"]\n[tone]\nsignature = "Carolina\\nMy Shop"\n',
        )
    )
    assert demo_traits(own) == ()
