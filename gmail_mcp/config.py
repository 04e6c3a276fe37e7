"""Settings of the Gmail server, read once from the environment (prefix `GMAIL_`) or a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gmail_mcp.errors import ConfigError
from support_core.addresses import AddressError, normalise_address
from support_core.loopback import is_loopback
from support_core.settings_errors import setting_problems

GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.modify"


def config_dir() -> Path:
    return Path.home() / ".config" / "support-agent"


def data_dir() -> Path:
    return Path.home() / ".local" / "share" / "support-agent"


class GmailSettings(BaseSettings):
    """Everything the Gmail server can be told. See `.env.example` for each variable with a comment."""

    model_config = SettingsConfigDict(
        env_prefix="GMAIL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    backend: Literal["auto", "gmail", "maildir", "imap"] = "auto"
    """auto: Gmail when a token is configured (GOOGLE_TOKEN_JSON or an existing token file), else Maildir; imap:
    any IMAP mailbox (the GMAIL_IMAP_* settings)."""

    # --- Gmail API -----------------------------------------------------------------------------------
    token_json: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GMAIL_TOKEN_JSON", "GOOGLE_TOKEN_JSON")
    )
    """The authorised-user JSON in one line (the original product's format)."""
    token_file: Path = Field(default_factory=lambda: config_dir() / "gmail-token.json")
    """Where `gmail-mcp auth` writes the token and where refreshed tokens are saved."""
    client_secrets_file: Path | None = None
    """The OAuth desktop client JSON downloaded from Google Cloud, for `gmail-mcp auth`."""
    api_endpoint: str | None = None
    """Another Gmail API root (a proxy, or the project's emulator in tests)."""
    user_id: str = "me"

    # --- Maildir -------------------------------------------------------------------------------------
    maildir: Path = Field(default_factory=lambda: data_dir() / "maildir")
    address: str = "support@aurora-activewear.example"
    """The mailbox owner's address for the Maildir backend (Gmail reports its own)."""

    # --- IMAP (GMAIL_BACKEND=imap) ----------------------------------------------------------------------
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    """Default 993 with implicit TLS, 143 with STARTTLS or plain."""
    imap_tls: Literal["implicit", "starttls", "none"] = "implicit"
    """`none` (no encryption) is allowed only to a loopback host (a local bridge or test server)."""
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    """The password or app password; or put it in GMAIL_IMAP_PASSWORD_FILE (mode 0600)."""
    imap_password_file: Path | None = None
    imap_drafts_folder: str | None = None
    """Default: the folder the server marks `\\Drafts` (SPECIAL-USE), else one named Drafts."""
    imap_sent_folder: str | None = None
    """Default: the folder the server marks `\\Sent`, else Sent (or Sent Items, ...)."""
    imap_idle_wait: float = Field(default=25.0, ge=0, le=600)
    """The longest a `list_new_messages` call that asks to wait (`wait_seconds`) watches INBOX in IMAP IDLE when
    nothing is new; 0 turns IDLE off (every call answers at once)."""

    # --- Behaviour -----------------------------------------------------------------------------------
    fallback_query: str = "in:inbox newer_than:7d"
    """Used when there is no cursor yet, or Gmail says the cursor is too old."""
    max_body_chars: int = Field(default=100_000, ge=1_000, le=5_000_000)
    timeout: float = Field(default=30.0, gt=0, le=600)
    max_retries: int = Field(default=4, ge=0, le=20)
    retry_base_delay: float = Field(default=0.5, ge=0)
    retry_max_delay: float = Field(default=30.0, ge=0)

    authserv_ids: Annotated[tuple[str, ...] | None, NoDecode] = None
    """Receiving servers whose Authentication-Results headers are trusted (their authserv-id, the first word of
    the header). Unset: Google's `mx.google.com` for the Gmail API, none for Maildir (set the id your own mail
    server writes). Only a trusted header can vouch for a sender, e.g. for the Shopify contact form."""

    # --- MCP over HTTP ------------------------------------------------------------------------------
    mcp_bearer_token: SecretStr | None = None
    mcp_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    mcp_forwarded_allow_ips: str | None = None
    """Reverse proxies (comma-separated addresses or networks, `*`: any) whose X-Forwarded-For/-Proto are believed
    over HTTP; unset: nobody's. `--forwarded-allow-ips` overrides it."""

    @field_validator("mcp_allowed_hosts", "authserv_ids", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return normalise_address(value)
        except AddressError as exc:
            raise ValueError(f"GMAIL_ADDRESS must be one email address: {exc}") from None

    @model_validator(mode="after")
    def _coherent(self) -> GmailSettings:
        if self.backend == "gmail" and not self.token_json and not self.token_file.is_file():
            raise ValueError(
                f"GMAIL_BACKEND=gmail needs a token: run `gmail-mcp auth` (writes {self.token_file}) or set "
                "GOOGLE_TOKEN_JSON"
            )
        if self.backend == "imap":
            self._check_imap()
        chosen = "token_file" in self.model_fields_set  # set by the user: a missing file is a mistake, not Maildir
        if chosen and self.backend in ("auto", "gmail") and not self.token_json and not self.token_file.is_file():
            raise ValueError(
                f"GMAIL_TOKEN_FILE names {self.token_file}, which does not exist: run `gmail-mcp auth` to write it, "
                "correct the path, or unset GMAIL_TOKEN_FILE (or set GMAIL_BACKEND=maildir) to use the Maildir"
            )
        return self

    def _check_imap(self) -> None:
        pairs = (("GMAIL_IMAP_HOST", self.imap_host), ("GMAIL_IMAP_USER", self.imap_user))
        missing = [name for name, value in pairs if not value]
        if not self.imap_password and not self.imap_password_file:
            missing.append("GMAIL_IMAP_PASSWORD (or GMAIL_IMAP_PASSWORD_FILE)")
        if missing:
            raise ValueError(f"GMAIL_BACKEND=imap needs {', '.join(missing)}: run `gmail-mcp auth --imap` to set them")
        if self.imap_tls == "none" and not is_loopback(self.imap_host or ""):
            raise ValueError(
                f"GMAIL_IMAP_TLS=none would send the password unencrypted to {self.imap_host}: plain IMAP is allowed "
                "only to a loopback host; use implicit (port 993) or starttls"
            )

    def imap_secret(self) -> str:
        """The IMAP password: GMAIL_IMAP_PASSWORD, else the first line of GMAIL_IMAP_PASSWORD_FILE (mode 0600)."""
        if self.imap_password is not None:
            return self.imap_password.get_secret_value()
        path = self.imap_password_file
        if path is None:
            raise ConfigError("GMAIL_BACKEND=imap needs GMAIL_IMAP_PASSWORD or GMAIL_IMAP_PASSWORD_FILE")
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                raise ConfigError(
                    f"GMAIL_IMAP_PASSWORD_FILE {path} can be read by other users (mode {mode & 0o777:o}): "
                    f"run `chmod 600 {path}`"
                )
            secret = path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
        except OSError as exc:
            raise ConfigError(f"Cannot read GMAIL_IMAP_PASSWORD_FILE {path}: {exc.strerror or exc}") from None
        if not secret:
            raise ConfigError(f"GMAIL_IMAP_PASSWORD_FILE {path} is empty: put the password on its first line")
        return secret

    @property
    def imap_port_number(self) -> int:
        if self.imap_port is not None:
            return self.imap_port
        return 993 if self.imap_tls == "implicit" else 143

    @property
    def bearer_token_variable(self) -> str:
        return "GMAIL_MCP_BEARER_TOKEN"

    @property
    def trusted_authserv_ids(self) -> frozenset[str]:
        if self.authserv_ids is not None:
            return frozenset(item.lower() for item in self.authserv_ids)
        return frozenset({"mx.google.com"}) if self.use_gmail else frozenset()

    @property
    def use_gmail(self) -> bool:
        if self.backend == "auto":
            return self.token_json is not None or self.token_file.is_file()
        return self.backend == "gmail"


def load_settings(**overrides: object) -> GmailSettings:
    """Read the settings, turning pydantic's validation report into one readable `ConfigError`."""
    try:
        return GmailSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"Invalid Gmail settings: {setting_problems(GmailSettings, exc)}") from None
