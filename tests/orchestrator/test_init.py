"""`support-agent init`: the answers (flags, or questions in a terminal), their checks, and the minimal file."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from orchestrator.config import demo_traits, load_config
from orchestrator.errors import ConfigError
from orchestrator.init_command import QUESTIONS, ask, toml_text

FLAGS = [
    "--name", "Nordlicht Sport",
    "--domain", "nordlicht-sport.example",
    "--domain", "Nordlicht-Sport.myshopify.com",
    "--address", "Hilfe@Nordlicht-Sport.example",
    "--persona", "Lena",
    "--signature", "Lena\\nKundenservice, Nordlicht Sport",
    "--language", "de",
    "--language", "en",
    "--timezone", "Europe/Berlin",
]  # fmt: skip


def init(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`support-agent init` through the real entry point, its standard input not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "init", *args],
        cwd=folder,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(folder)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_flags_write_a_file_holding_only_what_differs_from_the_defaults(tmp_path: Path) -> None:
    done = init(tmp_path, *FLAGS)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "support-agent.toml"
    assert f"SUPPORT_AGENT_CONFIG={path}" in done.stdout and "support-agent doctor" in done.stdout
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# support-agent configuration for Nordlicht Sport")
    assert tomllib.loads(text) == {
        "shop": {
            "name": "Nordlicht Sport",
            "domains": ["nordlicht-sport.example", "nordlicht-sport.myshopify.com"],
            "languages": ["de", "en"],
            "timezone": "Europe/Berlin",
        },
        "tone": {"persona_name": "Lena", "signature": "Lena\nKundenservice, Nordlicht Sport"},
        "gatekeeper": {
            "shop_domains": ["nordlicht-sport.example", "nordlicht-sport.myshopify.com"],
            "partner_domains": [],
        },
        "mailboxes": [
            {
                "name": "default",
                "address": "hilfe@nordlicht-sport.example",
                "gmail": {"env": {"GMAIL_ADDRESS": "hilfe@nordlicht-sport.example"}},
            }
        ],
    }
    config = load_config(path)
    assert demo_traits(config) == ()
    assert config.tone.signature_for("es") == "Lena\nKundenservice, Nordlicht Sport"
    assert config.categories == load_config().categories, "everything else is the defaults"


def test_answers_equal_to_the_defaults_are_left_out(tmp_path: Path) -> None:
    done = init(
        tmp_path,
        *("--name", "Sol", "--domain", "sol.example", "--address", "help@sol.example", "--persona", "Rui"),
        *("--timezone", "Europe/Madrid", "--language", "es,en,fr,de,pt,it"),
    )
    assert done.returncode == 0, done.stderr
    settings = tomllib.loads((tmp_path / "support-agent.toml").read_text(encoding="utf-8"))
    assert settings["shop"] == {"name": "Sol", "domains": ["sol.example"]}, "the defaults' zone and languages"
    assert settings["tone"] == {"persona_name": "Rui", "signature": "Rui\nCustomer care, Sol"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["--address", "not-an-address"], "--address: 'not-an-address' is not an email address"),
        (["--address", "support@aurora-activewear.example"], "--address: support@aurora-activewear.example is the"),
        (["--domain", "https://shop.example/"], "--domain: 'https://shop.example/' is not a host name: give the name"),
        (["--domain", "shop..example"], "--domain: 'shop..example' is not a host name"),
        (["--language", "nl"], "--language: languages are one or more of es, en, fr, de, pt, it, not nl"),
        (["--timezone", "Mars/Olympus"], "--timezone: 'Mars/Olympus' is not an IANA time zone name"),
        (["--name", "Aurora Activewear"], "--name: Aurora Activewear is the demo shop"),
        (["--persona", " "], "--persona: the persona's name cannot be empty"),
    ],
)
def test_a_wrong_flag_is_one_line_and_nothing_is_written(tmp_path: Path, change: list[str], expected: str) -> None:
    flags = [*FLAGS]
    for flag, value in zip(change[::2], change[1::2], strict=True):
        at = flags.index(flag)
        flags[at + 1] = value
        while flag in flags[at + 2 :]:  # a repeated flag: only the changed value
            later = flags.index(flag, at + 2)
            del flags[later : later + 2]
    done = init(tmp_path, *flags)
    assert done.returncode == 2
    assert done.stderr.startswith(f"support-agent: {expected}") and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "support-agent.toml").exists()


def test_without_a_terminal_the_flags_still_needed_are_named(tmp_path: Path) -> None:
    done = init(tmp_path, "--name", "Sol")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("support-agent: --domain, --address, --persona needed: standard input is not a")
    assert not list(tmp_path.glob("*.toml"))


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "shop.toml"
    target.parent.mkdir()
    target.write_text("# mine\n", encoding="utf-8")
    refused = init(tmp_path, *FLAGS, "--output", str(target))
    assert refused.returncode == 2 and "already exists: give --force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "# mine\n"
    replaced = init(tmp_path, *FLAGS, "--output", str(target), "--force")
    assert replaced.returncode == 0, replaced.stderr
    assert load_config(target).shop.name == "Nordlicht Sport"
    assert sorted(path.name for path in target.parent.iterdir()) == ["shop.toml"], "no temporary file is left"
    missing = init(tmp_path, *FLAGS, "--output", str(tmp_path / "absent" / "shop.toml"))
    assert missing.returncode == 2 and missing.stderr.startswith("support-agent: Cannot write ")


def test_in_a_terminal_init_asks_again_until_each_answer_is_valid(tmp_path: Path) -> None:
    """The real command on a pseudo-terminal: a wrong answer is explained and asked again; Enter takes the
    suggestion."""
    answers = [
        "Nordlicht Sport",
        "nordlicht-sport.example",
        "nobody",  # not an address: asked again
        "hilfe@nordlicht-sport.example",
        "Lena",
        "",  # the suggested signature
        "de en",
        "Berlin",  # not a zone: asked again
        "Europe/Berlin",
    ]
    output = run_in_terminal(tmp_path, answers)
    assert "'nobody' is not an email address (no @); try again." in output
    assert "'Berlin' is not an IANA time zone name" in output
    assert "Signature (\\n between lines) [Lena\\nCustomer care, Nordlicht Sport]:" in output
    assert "Wrote support-agent.toml for Nordlicht Sport (hilfe@nordlicht-sport.example)" in output
    config = load_config(tmp_path / "support-agent.toml")
    assert (config.shop.name, config.shop.languages, config.shop.timezone) == (
        "Nordlicht Sport",
        ("de", "en"),
        "Europe/Berlin",
    )
    assert config.tone.signature == "Lena\nCustomer care, Nordlicht Sport"
    assert config.mailboxes[0].address == "hilfe@nordlicht-sport.example"


def run_in_terminal(folder: Path, answers: list[str]) -> str:
    """`support-agent init` with a pseudo-terminal as its standard input and output: each answer is typed once
    its question has been printed; everything the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "init"],
        cwd=folder,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(folder), "TERM": "dumb"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    shown, pending, deadline = b"", list(answers), time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(b":"):
                os.write(controller, pending.pop(0).encode() + b"\n")
        assert process.wait(timeout=30) == 0, shown.decode(errors="replace")
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    assert not pending, shown.decode(errors="replace")
    return shown.decode().replace("\r\n", "\n")


def test_the_question_loop_reads_streams_and_stops_at_the_end_of_the_input() -> None:
    out = io.StringIO()
    domains = next(question for question in QUESTIONS if question.key == "domain")
    answer = ask(domains, {}, io.StringIO("\nshop.example, www.shop.example\n"), out)
    assert answer == ("shop.example", "www.shop.example")
    assert "give at least one domain" in out.getvalue()
    zone = next(question for question in QUESTIONS if question.key == "timezone")
    assert ask(zone, {}, io.StringIO("\n"), io.StringIO()) == "UTC", "Enter takes the suggestion"
    with pytest.raises(ConfigError, match="no answer to 'Shop domains'; nothing was written"):
        ask(domains, {}, io.StringIO(""), io.StringIO())


@pytest.mark.parametrize(
    "text",
    ['a "quoted" name', "back\\slash \\n not a newline", "two\nlines\ttab", "bell\x07 and del\x7f", "Ünïcödé ✓ 店"],
)
def test_strings_are_written_as_toml_that_reads_back_the_same(text: str) -> None:
    settings = {"shop": {"name": text, "domains": [text]}, "mailboxes": [{"name": text, "gmail": {"env": {"K": text}}}]}
    assert tomllib.loads(toml_text(settings)) == settings
