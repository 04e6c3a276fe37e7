"""The orchestrator's configuration: one TOML file (tone, categories, labels, gatekeeper lists), secrets from env."""

from __future__ import annotations

import io
import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv.parser import parse_stream
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.errors import ConfigError
from orchestrator.gatekeeper_rules import GatekeeperRules
from orchestrator.models import CATEGORIES, LANGUAGES
from support_core.addresses import AddressError, normalise_address

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")
SANDBOX_MAILBOX = "support@aurora-activewear.example"
"""The sandbox mailbox's address (the demo's Maildir, the Gmail emulator): the one mailbox the demo shop's identity
may answer from. Under the reserved .example domain, it can be no real mailbox."""
FORWARDED_PREFIXES = ("SHOPIFY_", "GMAIL_")
FORWARDED_NAMES = ("GOOGLE_TOKEN_JSON", "PATH", "HOME", "LANG", "LC_ALL", "TZ")
"""Environment passed to the stdio tool servers (the SDK's stdio client forwards almost nothing by itself)."""


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Shop(Section):
    name: str
    domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = LANGUAGES
    """The languages the shop answers in (ISO 639-1, of es, en, fr, de, pt, it): the language identifier chooses
    among these only. Default: all six."""

    timezone: str = "UTC"
    """The shop's time zone, by IANA name (`Europe/Madrid`): what "today" and "tomorrow" mean in a reply."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone name such as 'Europe/Madrid' or 'UTC'") from None
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(code.strip().lower() for code in value))
        unknown = [code for code in codes if code not in LANGUAGES]
        if unknown or not codes:
            raise ValueError(f"languages are one or more of {', '.join(LANGUAGES)}; not {unknown or 'none'}")
        return codes


class Tone(Section):
    persona_name: str
    signature: str
    """The signature that closes every draft, unless `signatures` has one for the reply's language."""
    signatures: dict[str, str] = Field(default_factory=dict)
    """Per-language signatures, by ISO 639-1 code (`es = "Carolina\\nAtención al cliente"`)."""
    emoji: bool = False
    fallback_language: str = "en"
    common: str = ""

    @field_validator("signatures")
    @classmethod
    def _language_codes(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = [key for key in value if not re.fullmatch(r"[a-z]{2}", key)]
        if wrong:
            raise ValueError(f"signatures are keyed by two-letter language codes (es, fr, ...), not {wrong}")
        return {key: text for key, text in value.items() if text.strip()}

    def signature_for(self, language: str) -> str:
        """The signature for a reply in `language`: its own one, else the default."""
        return self.signatures.get(language) or self.signature

    @property
    def all_signatures(self) -> str:
        """Every signature, for the draft guard: their phone numbers, links and addresses are the merchant's."""
        return "\n".join([self.signature, *self.signatures.values()])

    @property
    def signature_instructions(self) -> str:
        """The signature for the LLM agent's prompt: the default, and each language's own version."""
        if not self.signatures:
            return self.signature
        versions = "\n".join(f"[{language}]\n{text}" for language, text in sorted(self.signatures.items()))
        intro = "When the reply is in one of these languages, end with its version instead:"
        return f"{self.signature}\n\n{intro}\n{versions}"


class Labels(Section):
    processed: str
    ignored: str
    alert: str
    escalated: str
    needs_human: str


class Engine(Section):
    mode: Literal["auto", "llm", "offline"] = "auto"
    router_model: str = "gpt-5-mini"
    agent_model: str = "gpt-5-mini"
    min_confidence: float = Field(default=0.55, ge=0, le=1)
    max_tool_rounds: int = Field(default=4, ge=1, le=10)
    outage_pause_seconds: float = Field(default=60, ge=0, allow_inf_nan=False)
    """Seconds the LLM endpoint is not called after an outage (the offline engine answers); 0: no pause."""


class Daemon(Section):
    poll_interval: float = Field(default=60, ge=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    max_attempts: int = Field(default=5, ge=1)
    grace_period: float = Field(default=30, ge=0)


class CategoryConfig(Section):
    prompt: str
    tools: tuple[str, ...]
    escalate: bool = False
    """Every message of this category also opens a ticket for a person (as a handover does), besides the draft."""


MAILBOX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class ServerConfig(Section):
    """How one mailbox reaches a tool server: `url` (a running server's /mcp endpoint), or a stdio subprocess whose
    environment is this process's SHOPIFY_*/GMAIL_* variables, then `env_file`'s lines, then `env` (no secrets in
    the TOML file: put tokens in the env file)."""

    url: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    env_file: Path | None = None

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with the env file's `NAME=value` lines and then `env` on top."""
        merged = dict(base)
        if self.env_file is not None:
            merged |= read_env_file(self.env_file)
        return merged | self.env


class MailboxConfig(Section):
    """One inbox served by this orchestrator: its short `name` (ledger rows, stats, metrics), its address (else the
    Gmail server is asked), its two tool servers, and optionally its own shop and tone (fields given here replace
    the top-level ones)."""

    name: str
    address: str | None = None
    shopify: ServerConfig = ServerConfig()
    gmail: ServerConfig = ServerConfig()
    shop: dict[str, Any] = Field(default_factory=dict)
    tone: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not MAILBOX_NAME.match(value):
            raise ValueError(f"a mailbox name is lower-case letters, digits, '.', '_' or '-' (1-63), not {value!r}")
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return _own_address(value)


class AgentConfig(Section):
    """Everything in the TOML file."""

    shop: Shop
    tone: Tone
    labels: Labels
    engine: Engine = Engine()
    daemon: Daemon = Daemon()
    categories: dict[str, CategoryConfig]
    gatekeeper: GatekeeperRules = GatekeeperRules()
    mailboxes: tuple[MailboxConfig, ...] = ()
    """Several inboxes in one process (`[[mailboxes]]`); empty: the one mailbox the environment describes."""

    @field_validator("mailboxes")
    @classmethod
    def _unique_mailboxes(cls, value: tuple[MailboxConfig, ...]) -> tuple[MailboxConfig, ...]:
        names = [mailbox.name for mailbox in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"mailbox names must differ; repeated: {', '.join(repeated)}")
        return value

    def for_mailbox(self, mailbox: MailboxConfig) -> AgentConfig:
        """This configuration with the mailbox's own shop and tone fields in place of the top-level ones (as in a
        file, a mailbox's own `signature` comes without the top-level per-language `signatures`)."""
        shop = Shop.model_validate(self.shop.model_dump() | mailbox.shop)
        own_signatures: dict[str, Any] = {"signatures": {}} if "signature" in mailbox.tone else {}
        tone = Tone.model_validate(self.tone.model_dump() | own_signatures | mailbox.tone)
        return self.model_copy(update={"shop": shop, "tone": tone, "mailboxes": ()})

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[str, CategoryConfig]) -> dict[str, CategoryConfig]:
        unknown = set(value) - set(CATEGORIES)
        missing = set(CATEGORIES) - set(value)
        if unknown or missing:
            raise ValueError(
                f"categories must be exactly the nine ({', '.join(CATEGORIES)}); unknown: "
                f"{sorted(unknown) or 'none'}, missing: {sorted(missing) or 'none'}"
            )
        return value


class Secrets(BaseSettings):
    """The orchestrator's one settings class: secrets, paths and addresses from the environment or `.env` (prefix
    SUPPORT_AGENT_, plus OpenAI's own names). Everything else is the TOML configuration (`AgentConfig`)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_AGENT_", env_file=".env", extra="ignore", frozen=True)

    config: Path | None = None
    ledger: str = Field(
        default_factory=lambda: str(Path.home() / ".local" / "share" / "support-agent" / "ledger.sqlite3")
    )
    """The ledger: a SQLite file path (the default), or a `postgresql://user@host/db` URL shared by many workers."""
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    llm_timeout: float = 60.0
    shopify_url: str | None = None
    """Remote Shopify MCP server (…/mcp) instead of spawning one over stdio."""
    gmail_url: str | None = None
    mailbox: str | None = None
    """The mailbox's own address; unset, the Gmail server is asked (`mailbox_info`)."""
    secret: SecretStr | None = None
    """`serve`: the API secret callers send as X-Secret (SUPPORT_AGENT_SECRET; `--secret-env` names another)."""
    forwarded_allow_ips: str | None = None
    """`serve`: reverse proxies whose X-Forwarded-For/-Proto are believed (`--forwarded-allow-ips` overrides it)."""

    @field_validator("ledger", mode="before")
    @classmethod
    def _ledger(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("mailbox")
    @classmethod
    def _mailbox(cls, value: str | None) -> str | None:
        return _own_address(value)

    def secret_value(self) -> str | None:
        return self.secret.get_secret_value() if self.secret is not None else None


def _own_address(value: str | None) -> str | None:
    """The mailbox's own address in support_core's normal form (how every address is compared), or None."""
    if not value:
        return None
    try:
        return normalise_address(value)
    except AddressError as exc:
        raise ValueError(f"must be one email address: {exc}") from None


def check_env_file(path: Path = Path(".env")) -> None:
    """`ConfigError` naming the first line of `path` (the `.env` every process of the assistant reads) that
    python-dotenv cannot read; said once here instead of a warning from each of the three processes."""
    if not path.is_file():
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"{path} cannot be read ({why}).") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path}, line {binding.original.line}: not a NAME=value line; correct it, or start it with # to "
                "make it a comment."
            )


def load_config(path: Path | None = None) -> AgentConfig:
    """The TOML file at `path` merged over the bundled defaults (`merge_settings`), or the defaults alone,
    validated; `ConfigError` says in one line what is wrong, naming the file and the setting."""
    source = path or DEFAULT_CONFIG
    data = read_toml(DEFAULT_CONFIG)
    if path is not None:
        data = merge_settings(data, read_toml(path))
    try:
        config = AgentConfig.model_validate(data)
        for mailbox in config.mailboxes:
            config.for_mailbox(mailbox)  # each mailbox's shop and tone must be valid too
        return config
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(f"{source}: {problems}") from None


def read_toml(source: Path) -> dict[str, Any]:
    """The TOML file at `source` as a dict; `ConfigError` when it is missing, unreadable or not TOML."""
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The configuration file {source} does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"The configuration file {source} is a folder: give the path of a .toml file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"The configuration file {source} cannot be read ({why}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def merge_settings(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` (a user's file) over `defaults`: tables merged key by key, recursively; arrays and other values
    replaced; `[[mailboxes]]` only from `given`. The defaults' per-language signatures are the demo shop's: a file
    that sets `tone.signature` or `tone.signatures` gets only its own."""
    merged = _merged({k: v for k, v in defaults.items() if k != "mailboxes"}, given)
    tone, merged_tone = given.get("tone"), merged.get("tone")
    if isinstance(tone, dict) and isinstance(merged_tone, dict) and {"signature", "signatures"} & tone.keys():
        merged_tone["signatures"] = tone.get("signatures", {})
    return merged


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in over.items():
        old = result.get(key)
        result[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return result


def settings_given(path: Path | None) -> frozenset[str]:
    """The settings the file at `path` sets, as dotted paths (`shop.name`, `categories.PaymentBilling.escalate`);
    arrays count as one setting. None: no file, every setting is a default."""
    if path is None:
        return frozenset()

    def leaves(table: dict[str, Any], prefix: str) -> list[str]:
        found: list[str] = []
        for key, value in table.items():
            found += leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
        return found

    return frozenset(leaves(read_toml(path), ""))


def demo_traits(config: AgentConfig) -> tuple[str, ...]:
    """The settings of `config` that still describe the demo shop of the bundled defaults (its name, a domain of
    its, a signature naming it), as dotted paths; empty when the shop is the merchant's own."""
    name, domains = demo_shop()
    traits = ["shop.name"] if config.shop.name.strip().casefold() == name.casefold() else []
    traits += ["shop.domains"] if domains & {domain.lower() for domain in config.shop.domains} else []
    traits += ["tone.signature"] if name.casefold() in config.tone.signature.casefold() else []
    signatures = config.tone.signatures.values()
    traits += ["tone.signatures"] if any(name.casefold() in text.casefold() for text in signatures) else []
    return tuple(traits)


@cache
def demo_shop() -> tuple[str, frozenset[str]]:
    """The bundled defaults' shop name and domains: the demo shop, served by the sandbox store and mailbox."""
    shop = read_toml(DEFAULT_CONFIG)["shop"]
    return str(shop["name"]), frozenset(str(domain).lower() for domain in shop["domains"])


def server_environment() -> dict[str, str]:
    """The variables the tool servers need, taken from this process's environment."""
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIXES) or k in FORWARDED_NAMES}


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments skipped, optional quotes removed); `ConfigError` when the
    file cannot be read or a line is not an assignment."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"The mailbox env file {path} cannot be read ({exc.strerror or exc})") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise ConfigError(f"{path}, line {number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values
