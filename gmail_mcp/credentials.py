"""Google OAuth credentials: load from GOOGLE_TOKEN_JSON or the token file, and write refreshed tokens back."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.oauth2.credentials import Credentials

from gmail_mcp.config import GMAIL_SCOPE, GmailSettings
from gmail_mcp.errors import ConfigError

logger = logging.getLogger(__name__)

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_REQUIRED = ("refresh_token", "client_id", "client_secret")


def credentials_from_info(info: dict[str, Any]) -> Credentials:
    """Credentials from the authorised-user JSON, honouring its `token_uri` (so an emulator can refresh them).

    `Credentials.from_authorized_user_info` always uses Google's token URL, so the object is built directly.
    """
    missing = [key for key in _REQUIRED if not info.get(key)]
    if missing:
        raise ConfigError(
            f"The Gmail token lacks {', '.join(missing)}: run `gmail-mcp auth` to create a complete token file."
        )
    expiry = None
    if info.get("expiry"):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(str(info["expiry"]).replace("Z", "+00:00"))
            expiry = parsed.astimezone(UTC).replace(tzinfo=None)  # google-auth compares naive UTC
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=info.get("token"),
        refresh_token=info["refresh_token"],
        token_uri=info.get("token_uri") or GOOGLE_TOKEN_URI,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=info.get("scopes") or [GMAIL_SCOPE],
    )
    if expiry is not None:
        credentials.expiry = expiry
    elif info.get("token"):
        credentials.expiry = datetime(1970, 1, 1)  # unknown age: refresh before first use
    return credentials


def load_credentials(settings: GmailSettings) -> tuple[Credentials, Path | None]:
    """The credentials and the file to write refreshed tokens to (None when they came from the environment)."""
    if settings.token_json is not None:
        try:
            info = json.loads(settings.token_json.get_secret_value())
        except ValueError:
            raise ConfigError(
                "GOOGLE_TOKEN_JSON is not valid JSON (it must be the token object on one line)."
            ) from None
        return credentials_from_info(info), None
    path = settings.token_file
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"No Gmail token at {path}: run `gmail-mcp auth` first.") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the Gmail token {path} ({type(exc).__name__}): run `gmail-mcp auth`.") from None
    return credentials_from_info(info), path


def credentials_info(credentials: Credentials) -> dict[str, Any]:
    info: dict[str, Any] = {
        "token": credentials.token,
        "refresh_token": credentials.refresh_token,
        "token_uri": credentials.token_uri,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "scopes": list(credentials.scopes or [GMAIL_SCOPE]),
    }
    if credentials.expiry is not None:
        info["expiry"] = credentials.expiry.replace(tzinfo=UTC).isoformat()
    return info


def save_credentials(credentials: Credentials, path: Path) -> None:
    """Write the token file atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = json.dumps(credentials_info(credentials), indent=2).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gmail-token-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, payload)
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    logger.info("Saved the Gmail token to %s", path)
