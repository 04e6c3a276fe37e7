"""`[[mailboxes]]` in the configuration file: validation, per-mailbox shop and tone, and each server's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_CONFIG, Secrets, load_config, read_env_file
from orchestrator.errors import ConfigError
from orchestrator.runner import mailbox_specs, mailboxes

TWO = """
[[mailboxes]]
name = "aurora"
address = "Support@Aurora-Activewear.example"
gmail = { env = { GMAIL_MAILDIR = "/var/mail/aurora" }, env_file = "ENV_FILE" }

[[mailboxes]]
name = "borealis"
shopify = { url = "http://127.0.0.1:8000/mcp" }
shop = { name = "Borealis Outdoor", domains = ["borealis-outdoor.example"] }
tone = { persona_name = "Bruno", signature = "Bruno\\nBorealis Outdoor", signatures = {} }
"""


def config_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def test_two_mailboxes_load_with_their_own_shop_tone_and_servers(tmp_path: Path) -> None:
    env_file = tmp_path / "aurora.env"
    env_file.write_text("# tokens here\nexport GMAIL_ADDRESS=support@aurora-activewear.example\n\nTOKEN='s3cret'\n")
    config = load_config(config_file(tmp_path, TWO.replace("ENV_FILE", str(env_file))))
    aurora, borealis = config.mailboxes
    assert (aurora.name, aurora.address) == ("aurora", "support@aurora-activewear.example")

    own = config.for_mailbox(borealis)
    assert own.shop.name == "Borealis Outdoor" and own.shop.domains == ("borealis-outdoor.example",)
    assert (own.tone.persona_name, own.tone.signature_for("es")) == ("Bruno", "Bruno\nBorealis Outdoor")
    assert own.tone.fallback_language == config.tone.fallback_language  # fields not named are kept
    assert config.for_mailbox(aurora).shop == config.shop

    shopify, gmail = mailbox_specs(aurora)
    assert shopify.url is None and shopify.module == "shopify_mcp"
    assert gmail.env["GMAIL_MAILDIR"] == "/var/mail/aurora"
    assert gmail.env["GMAIL_ADDRESS"] == "support@aurora-activewear.example"
    assert gmail.env["TOKEN"] == "s3cret"
    shopify, _ = mailbox_specs(borealis)
    assert shopify.url == "http://127.0.0.1:8000/mcp"


def test_the_env_table_wins_over_the_env_file_which_wins_over_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GMAIL_MAILDIR", "/from/process")
    monkeypatch.setenv("GMAIL_ADDRESS", "process@example.com")
    env_file = tmp_path / "box.env"
    env_file.write_text("GMAIL_MAILDIR=/from/file\nGMAIL_BACKEND=maildir\n")
    config = load_config(config_file(tmp_path, TWO.replace("ENV_FILE", str(env_file))))
    _, gmail = mailbox_specs(config.mailboxes[0])
    assert gmail.env["GMAIL_MAILDIR"] == "/var/mail/aurora"  # the table
    assert gmail.env["GMAIL_BACKEND"] == "maildir"  # the file
    assert gmail.env["GMAIL_ADDRESS"] == "process@example.com"  # the process


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[[mailboxes]]\nname = "a"\n[[mailboxes]]\nname = "a"\n', "repeated: a"),
        ('[[mailboxes]]\nname = "Big Shop"\n', "mailbox name"),
        ('[[mailboxes]]\nname = "a"\naddress = "not an address"\n', "one email address"),
        ('[[mailboxes]]\nname = "a"\ntone = { signatures = { spanish = "x" } }\n', "two-letter language codes"),
        ('[[mailboxes]]\nname = "a"\nshop = { name = "A", colour = "red" }\n', "colour"),
        ('[[mailboxes]]\nname = "a"\ngmail = { urls = "http://x" }\n', "urls"),
    ],
)
def test_a_wrong_mailbox_is_a_one_line_config_error(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, extra))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_env_file_that_is_missing_or_malformed_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        read_env_file(tmp_path / "absent.env")
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis is not an assignment\n")
    with pytest.raises(ConfigError, match=r"bad\.env, line 2: expected NAME=value"):
        read_env_file(bad)


def test_without_mailboxes_the_environment_describes_one_named_default() -> None:
    secrets = Secrets(_env_file=None, mailbox="Shop@Example.com", gmail_url="http://127.0.0.1:9/mcp")
    (only,) = mailboxes(secrets, load_config())
    assert (only.name, only.address, only.gmail.url, only.shopify.url) == (
        "default",
        "shop@example.com",
        "http://127.0.0.1:9/mcp",
        None,
    )


def test_a_mailbox_with_its_own_signature_gets_none_of_the_top_level_ones_per_language(tmp_path: Path) -> None:
    extra = '[[mailboxes]]\nname = "mine"\ntone = { signature = "Ana\\nMy Shop" }\n'
    extra += '[[mailboxes]]\nname = "theirs"\ntone = { signature = "Bo", signatures = { de = "Bo\\nKundendienst" } }\n'
    config = load_config(config_file(tmp_path, extra))
    mine, theirs = (config.for_mailbox(mailbox).tone for mailbox in config.mailboxes)
    assert "Aurora" in config.tone.signature_for("es"), "the check below would prove nothing"
    assert (mine.signatures, mine.signature_for("es")) == ({}, "Ana\nMy Shop")
    assert (theirs.signature_for("de"), theirs.signature_for("es")) == ("Bo\nKundendienst", "Bo")
