"""`support-agent init`: ask for the shop's identity (or take it as flags) and write a minimal configuration file."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from orchestrator.config import (
    DEFAULT_CONFIG,
    SANDBOX_MAILBOX,
    AgentConfig,
    demo_shop,
    demo_traits,
    merge_settings,
    read_toml,
)
from orchestrator.errors import ConfigError
from orchestrator.models import LANGUAGES
from orchestrator.stats_command import AddParser
from support_core.addresses import AddressError, normalise_address

__all__ = ["QUESTIONS", "add_init_parser", "ask", "minimal_settings", "run_init", "toml_text"]

MAILBOX_NAME = "default"
HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


# --- reading one answer: each raises ValueError with a one-line reason ---------------------------------------------


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError(f"the {what} cannot be empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise ValueError(f"the {what} is one line of text, without control characters")
    return text


def read_name(value: str) -> str:
    name = _text(value, "shop's name")
    if name.casefold() == demo_shop()[0].casefold():
        raise ValueError(f"{name} is the demo shop: give your shop's own name")
    return name


def read_domains(value: str) -> tuple[str, ...]:
    domains = tuple(dict.fromkeys(_host(part) for part in re.split(r"[,\s]+", value) if part))
    if not domains:
        raise ValueError("give at least one domain, such as shop.example or my-shop.myshopify.com")
    if demo := set(domains) & demo_shop()[1]:
        raise ValueError(f"{', '.join(sorted(demo))} is the demo shop's: give your shop's own domains")
    return domains


def _host(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if any(mark in host for mark in ("/", ":", "@")):
        raise ValueError(f"{value!r} is not a host name: give the name only, such as shop.example (no https://)")
    try:
        labels = host.encode("idna").decode("ascii").split(".")
    except UnicodeError:
        labels = []
    if len(labels) < 2 or not all(HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(f"{value!r} is not a host name such as shop.example")
    return host


def read_address(value: str) -> str:
    try:
        address = normalise_address(value)
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    if address == SANDBOX_MAILBOX:
        raise ValueError(f"{address} is the sandbox's mailbox: give your shop's support address")
    return address


def read_persona(value: str) -> str:
    return _text(value, "persona's name")


def read_signature(value: str) -> str:
    lines = [line.strip() for line in value.replace("\\n", "\n").splitlines()]
    signature = "\n".join(_text(line, "signature") for line in lines if line)
    if not signature:
        raise ValueError("the signature cannot be empty (use \\n between its lines)")
    if demo_shop()[0].casefold() in signature.casefold():
        raise ValueError(f"the signature names the demo shop ({demo_shop()[0]}): sign with your shop's name")
    return signature


def read_languages(value: str) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(code.lower() for code in re.split(r"[,\s]+", value) if code))
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown or not codes:
        raise ValueError(f"languages are one or more of {', '.join(LANGUAGES)}, not {', '.join(unknown) or 'none'}")
    return codes


def read_timezone(value: str) -> str:
    zone = value.strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone name such as Europe/Madrid or UTC") from None
    return zone


# --- the questions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One setting init asks for: its flag's destination, the prompt, how an answer is read, and the answer
    suggested from the earlier ones (None: the question must be answered)."""

    key: str
    prompt: str
    read: Callable[[str], Any]
    suggest: Callable[[dict[str, Any]], str] | None = None


QUESTIONS = (
    Question("name", "Shop name, as customers know it", read_name),
    Question("domain", "Shop domains (comma-separated: website, myshopify.com name)", read_domains),
    Question("address", "Support address (the mailbox the assistant reads)", read_address),
    Question("persona", "Persona (the first name replies are written by)", read_persona),
    Question(
        "signature",
        "Signature (\\n between lines)",
        read_signature,
        lambda answers: f"{answers['persona']}\nCustomer care, {answers['name']}",
    ),
    Question(
        "language", f"Reply languages (any of {', '.join(LANGUAGES)})", read_languages, lambda _: ", ".join(LANGUAGES)
    ),
    Question("timezone", "Time zone (IANA name, e.g. Europe/Madrid)", read_timezone, lambda _: "UTC"),
)


def ask(question: Question, answers: dict[str, Any], inp: TextIO, out: TextIO) -> Any:
    """Ask `question` on `out` until `inp` gives a valid answer (an empty one takes the suggestion); `ConfigError`
    at the end of the input."""
    suggestion = question.suggest(answers) if question.suggest else None
    shown = f" [{suggestion.replace(chr(10), chr(92) + 'n')}]" if suggestion else ""
    while True:
        out.write(f"{question.prompt}{shown}: ")
        out.flush()
        line = inp.readline()
        if not line:
            raise ConfigError(f"no answer to {question.prompt.split(' (')[0]!r}; nothing was written.")
        try:
            return question.read(line.strip() or suggestion or "")
        except ValueError as exc:
            out.write(f"  {exc}; try again.\n")


def answers_from(given: dict[str, str | None], inp: TextIO | None, out: TextIO) -> dict[str, Any]:
    """Every answer: the flags' (read the same way; a wrong one is a `ConfigError`), then, with `inp` (a terminal),
    the others asked; without it the suggestions, and `ConfigError` naming the flags still needed."""
    answers: dict[str, Any] = {}
    missing = [f"--{q.key}" for q in QUESTIONS if given.get(q.key) is None and q.suggest is None]
    if inp is None and missing:
        raise ConfigError(
            f"{', '.join(missing)} needed: standard input is not a terminal, so init takes its answers from flags "
            "(run it in a terminal to be asked)."
        )
    for question in QUESTIONS:
        value = given.get(question.key)
        if value is None and inp is not None:
            answers[question.key] = ask(question, answers, inp, out)
            continue
        if value is None and question.suggest is not None:
            value = question.suggest(answers)
        try:
            answers[question.key] = question.read(value or "")
        except ValueError as exc:
            raise ConfigError(f"--{question.key}: {exc}") from None
    return answers


# --- the file ----------------------------------------------------------------------------------------------------


def minimal_settings(answers: dict[str, Any]) -> dict[str, Any]:
    """The settings that differ from the bundled defaults for these answers, as the TOML file's tables."""
    defaults = AgentConfig.model_validate(read_toml(DEFAULT_CONFIG)).model_dump(mode="json")
    wanted: dict[str, dict[str, Any]] = {
        "shop": {
            "name": answers["name"],
            "domains": list(answers["domain"]),
            "languages": list(answers["language"]),
            "timezone": answers["timezone"],
        },
        "tone": {"persona_name": answers["persona"], "signature": answers["signature"]},
        "gatekeeper": {"shop_domains": list(answers["domain"]), "partner_domains": []},
    }
    settings: dict[str, Any] = {}
    for table, values in wanted.items():
        changed = {key: value for key, value in values.items() if defaults[table].get(key) != value}
        if changed:
            settings[table] = changed
    address = answers["address"]
    settings["mailboxes"] = [{"name": MAILBOX_NAME, "address": address, "gmail": {"env": {"GMAIL_ADDRESS": address}}}]
    return settings


HEADER = """\
# support-agent configuration for {name}, written by `support-agent init`.
# Only what differs from the bundled defaults is here; every other setting keeps its default. The defaults, with
# a comment on each setting, are orchestrator/default_config.toml in the support-agent package. Add any of them
# here to change it: tables merge key by key (`[categories.PaymentBilling]` + `escalate = true` changes only that).
# [tone.signatures] gives a signature per reply language (es = "Ana\\nAtención al cliente").
# Use it: SUPPORT_AGENT_CONFIG={path}
#     (or: support-agent --config {path} once); check it with `support-agent doctor`.
"""
MAILBOX_COMMENT = """\
# The support mailbox: its address, also given to the Gmail server as GMAIL_ADDRESS (the From of Maildir drafts).
# Its tool servers run over stdio with this process's SHOPIFY_*/GMAIL_* settings. For servers at URLs, add
# shopify = { url = "https://.../mcp" } and gmail = { url = "https://.../mcp" } here: once [[mailboxes]] is used,
# SUPPORT_AGENT_SHOPIFY_URL, SUPPORT_AGENT_GMAIL_URL and SUPPORT_AGENT_MAILBOX are not read."""


def toml_text(settings: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """`settings` as TOML: values first, then each table (`[a.b]`) and array of tables (`[[a]]`, its values inline);
    `comments` go above the top-level key they name. Strings are basic strings with every needed escape."""
    comments = comments or {}
    lines = [f"{_key(k)} = {_value(v)}" for k, v in settings.items() if not _is_table(v) and not _is_tables(v)]
    for key, value in settings.items():
        above = [comments[key]] if key in comments else []
        if _is_table(value):
            lines += ["", *above, *_table([key], value)]
        elif _is_tables(value):
            for item in value:
                lines += ["", *above, f"[[{_key(key)}]]", *(f"{_key(k)} = {_value(v)}" for k, v in item.items())]
                above = []
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table(value: object) -> bool:
    return isinstance(value, dict)


def _is_tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _table(path: list[str], table: dict[str, Any]) -> list[str]:
    lines = [f"[{'.'.join(map(_key, path))}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not _is_table(v)]
    for key, value in table.items():
        if _is_table(value):
            lines += ["", *_table([*path, key], value)]
    return lines


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else _string(key)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_value, value)) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _string(text: str) -> str:
    escaped = (TOML_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text)
    return '"' + "".join(escaped) + '"'


def write_config(path: Path, answers: dict[str, Any], *, force: bool) -> None:
    """The minimal file for `answers` at `path`, written whole or not at all; checked first: it reads back as the
    same settings, loads over the defaults, and describes no demo shop. `ConfigError` when `path` exists (without
    `force`) or cannot be written."""
    settings = minimal_settings(answers)
    text = HEADER.format(name=answers["name"], path=_shown(path)) + "\n"
    text += toml_text(settings, {"mailboxes": MAILBOX_COMMENT})
    if tomllib.loads(text) != settings:
        raise AssertionError("the TOML written does not read back as the settings it holds")
    try:
        config = AgentConfig.model_validate(merge_settings(read_toml(DEFAULT_CONFIG), settings))
    except ValidationError as exc:
        raise AssertionError(f"init wrote an invalid configuration: {exc}") from exc
    if demo_traits(config):
        raise AssertionError(f"init left the demo shop's {', '.join(demo_traits(config))}")
    if path.is_dir():
        raise ConfigError(f"{path} is a folder: give --output the path of a .toml file.")
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists: give --force to replace it, or --output another path.")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, delete=False, suffix=".tmp") as file:
            file.write(text)
        os.chmod(file.name, 0o644)
        os.replace(file.name, path)
    except OSError as exc:
        raise ConfigError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _shown(path: Path) -> str:
    return str(path.expanduser().absolute())


# --- the command -------------------------------------------------------------------------------------------------


def add_init_parser(add_parser: AddParser) -> argparse.ArgumentParser:
    """Add `init` with `add_parser`."""
    init = add_parser(
        "init",
        help="write a configuration file for your shop (asked in a terminal, else from the flags)",
        description="Ask for the shop's identity (in a terminal; otherwise give the flags) and write a configuration "
        "file holding only what differs from the defaults.",
    )
    init.add_argument("--name", help="the shop's name, as customers know it")
    init.add_argument("--domain", action="append", help="a domain of the shop (repeat the flag for each one)")
    init.add_argument("--address", help="the support mailbox's address (where customers write)")
    init.add_argument("--persona", help="the first name replies are written by")
    init.add_argument("--signature", help="the signature that closes every reply; \\n between its lines")
    init.add_argument("--language", action="append", help=f"a reply language, of {', '.join(LANGUAGES)} (repeat)")
    init.add_argument("--timezone", help="the shop's IANA time zone, such as Europe/Madrid (default UTC)")
    init.add_argument("--output", type=Path, default=Path("support-agent.toml"), help="default ./support-agent.toml")
    init.add_argument("--force", action="store_true", help="replace the output file if it exists")
    return init


def run_init(
    args: argparse.Namespace, inp: TextIO = sys.stdin, out: TextIO = sys.stdout, *, interactive: bool | None = None
) -> int:
    """Run `init`: questions on a terminal (`interactive`, default: `inp` is one), flags otherwise; the file
    written, then how to use it. `ConfigError` (exit 2) for a wrong flag, a missing one, or a file in the way."""
    path: Path = args.output
    if path.exists() and not args.force:  # said before any question is asked
        raise ConfigError(f"{path} already exists: give --force to replace it, or --output another path.")
    given = {q.key: _joined(getattr(args, q.key, None)) for q in QUESTIONS}
    if interactive is None:
        interactive = inp.isatty()
    if interactive:
        out.write("Your shop's identity for support-agent (Enter takes the suggestion in brackets).\n")
    answers = answers_from(given, inp if interactive else None, out)
    write_config(path, answers, force=args.force)
    out.write(
        f"Wrote {path} for {answers['name']} ({answers['address']}).\n"
        f"Use it: export SUPPORT_AGENT_CONFIG={_shown(path)}   (or: support-agent --config {_shown(path)} once)\n"
        "Then check the whole setup: support-agent doctor\n"
    )
    return 0


def _joined(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return ", ".join(value)
