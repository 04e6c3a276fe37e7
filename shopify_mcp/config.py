"""Settings of the Shopify server, read once from the environment (prefix `SHOPIFY_`) or a `.env` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopify_mcp.errors import ConfigError
from support_core.settings_errors import setting_problems

DEFAULT_API_VERSION = "2026-07"
DEFAULT_METAFIELD_KEYS = (
    "care_instructions",
    "materials",
    "compression_level",
    "fit",
    "size_guide",
    "origin",
)
_API_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$|^unstable$")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
"""What starts a SHOPIFY_TICKET_DB value that names a PostgreSQL database instead of a SQLite file."""


def default_data_dir() -> Path:
    """Where local state (tickets) lives unless configured: ~/.local/share/support-agent."""
    return Path.home() / ".local" / "share" / "support-agent"


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class ShopifySettings(BaseSettings):
    """Everything the Shopify server can be told. See `.env.example` for each variable with a comment."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPIFY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # --- Store and credentials -------------------------------------------------------------------------
    store: str | None = Field(default=None, validation_alias=AliasChoices("SHOPIFY_STORE", "SHOPIFY_URL"))
    """`your-shop.myshopify.com`, or a full base URL (`http://127.0.0.1:8080` for a loopback emulator)."""
    access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_TOKEN")
    )
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_version: str = DEFAULT_API_VERSION

    # --- Behaviour -----------------------------------------------------------------------------------
    verify_customer_email: bool = True
    """Order and customer tools answer only when the given email owns the record. Turn off only for a
    merchant querying their own store (Claude Desktop): then the email argument becomes optional."""
    metafield_keys: Annotated[tuple[str, ...], NoDecode] = DEFAULT_METAFIELD_KEYS
    public_discount_tag: str = "public"
    vip_tags: Annotated[tuple[str, ...], NoDecode] = ("VIP",)
    vip_min_spend: float = Field(default=1000.0, ge=0)
    cache_ttl: float = Field(default=300.0, ge=0)
    """Seconds that policies and promotions are cached. Orders, stock and customers are never cached."""
    sandbox_file: Path | None = None

    # --- HTTP client ---------------------------------------------------------------------------------
    timeout: float = Field(default=15.0, gt=0, le=600)
    max_retries: int = Field(default=4, ge=0, le=20)
    retry_base_delay: float = Field(default=0.5, ge=0)
    retry_max_delay: float = Field(default=30.0, ge=0)

    # --- Escalation tickets --------------------------------------------------------------------------
    ticket_sink: Literal["local", "webhook", "zendesk"] = "local"
    ticket_db: Path | SecretStr = Field(default_factory=lambda: default_data_dir() / "tickets.sqlite3")
    """Where the local sink keeps tickets: a SQLite file path, or a `postgresql://user@host:port/db` URL (a shared
    PostgreSQL store for several replicas; kept secret because it may hold a password). See `ticket_db_path` and
    `ticket_db_url`."""
    ticket_webhook_url: str | None = None
    ticket_webhook_secret: SecretStr | None = None
    zendesk_subdomain: str | None = None
    zendesk_url: str | None = None
    """Full Zendesk base URL; overrides the subdomain (for a proxy or a test peer)."""
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None

    # --- MCP over HTTP ------------------------------------------------------------------------------
    mcp_bearer_token: SecretStr | None = None
    """Required on every HTTP request when set; mandatory when binding a non-loopback address."""
    mcp_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Extra Host header values accepted over HTTP (e.g. your reverse proxy's public name)."""
    mcp_forwarded_allow_ips: str | None = None
    """Reverse proxies (comma-separated addresses or networks, `*`: any) whose X-Forwarded-For/-Proto are believed
    over HTTP; unset: nobody's. `--forwarded-allow-ips` overrides it."""

    @field_validator("metafield_keys", "vip_tags", "mcp_allowed_hosts", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("ticket_db", mode="before")
    @classmethod
    def _ticket_db(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            return value
        value = value.strip()
        if value.startswith(POSTGRES_SCHEMES):
            return SecretStr(value)
        if "://" in value:
            scheme = value.partition("://")[0]
            raise ValueError(f"SHOPIFY_TICKET_DB must be a file path or a postgresql:// URL, not a {scheme}:// URL")
        return Path(value).expanduser()

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _API_VERSION.match(value):
            raise ValueError(f"SHOPIFY_API_VERSION must look like 2026-07 (a quarter: 01/04/07/10), not {value!r}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> ShopifySettings:
        if self.store and not (self.access_token or (self.client_id and self.client_secret)):
            raise ValueError(
                "SHOPIFY_STORE is set but there are no credentials: set SHOPIFY_ACCESS_TOKEN (shpat_...) or "
                "SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET (Dev Dashboard app)"
            )
        if bool(self.client_id) != bool(self.client_secret):
            raise ValueError("SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET go together: set both or neither")
        if self.ticket_sink == "webhook" and not (self.ticket_webhook_url and self.ticket_webhook_secret):
            raise ValueError("SHOPIFY_TICKET_SINK=webhook needs SHOPIFY_TICKET_WEBHOOK_URL and _SECRET")
        if self.ticket_sink == "zendesk" and not (
            (self.zendesk_subdomain or self.zendesk_url) and self.zendesk_email and self.zendesk_api_token
        ):
            raise ValueError(
                "SHOPIFY_TICKET_SINK=zendesk needs SHOPIFY_ZENDESK_SUBDOMAIN, SHOPIFY_ZENDESK_EMAIL and "
                "SHOPIFY_ZENDESK_API_TOKEN"
            )
        return self

    @property
    def ticket_db_url(self) -> str | None:
        """The PostgreSQL URL when SHOPIFY_TICKET_DB is one (it may hold a password: never log it), else None."""
        return self.ticket_db.get_secret_value() if isinstance(self.ticket_db, SecretStr) else None

    @property
    def ticket_db_path(self) -> Path | None:
        """The SQLite file when SHOPIFY_TICKET_DB is a path, else None."""
        return self.ticket_db if isinstance(self.ticket_db, Path) else None

    @property
    def bearer_token_variable(self) -> str:
        return "SHOPIFY_MCP_BEARER_TOKEN"

    @property
    def sandbox(self) -> bool:
        """True when no store is configured: the embedded sandbox store answers instead."""
        return not self.store

    @property
    def base_url(self) -> str:
        """`https://shop.myshopify.com` (or the configured URL as given, without a trailing slash)."""
        if not self.store:
            return "https://sandbox-store.myshopify.com"
        store = self.store.strip().rstrip("/")
        return store if "://" in store else f"https://{store}"


def load_settings(**overrides: object) -> ShopifySettings:
    """Read the settings, turning pydantic's validation report into one readable `ConfigError`."""
    from pydantic import ValidationError

    try:
        return ShopifySettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"Invalid Shopify settings: {setting_problems(ShopifySettings, exc)}") from None
