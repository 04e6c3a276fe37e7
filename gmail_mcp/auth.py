"""`gmail-mcp auth`: Google's desktop OAuth consent in the browser, saved as an owner-only token file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow

from gmail_mcp.config import GMAIL_SCOPE
from gmail_mcp.credentials import save_credentials
from gmail_mcp.errors import ConfigError

logger = logging.getLogger(__name__)

PROMPT = "Open this URL in a browser signed in to the support mailbox, and allow access:\n\n{url}\n"


def authorise(
    client_secrets: Path,
    token_file: Path,
    *,
    open_browser: bool = True,
    browser: str | None = None,
    timeout: int = 600,
) -> Credentials:
    """Run the consent flow (a loopback redirect on a free port) and write `token_file` with mode 0600.

    `client_secrets` is the "Desktop app" OAuth client JSON downloaded from Google Cloud Console.
    """
    try:
        config = json.loads(client_secrets.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{client_secrets} does not exist: download the OAuth client JSON (type 'Desktop app') from Google Cloud "
            "Console > APIs & Services > Credentials, then pass it with --client-secrets."
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {client_secrets} as JSON ({type(exc).__name__}).") from None
    if "installed" not in config:
        raise ConfigError(
            f"{client_secrets} is not a Desktop-app OAuth client (no 'installed' section): create an OAuth client "
            "of type 'Desktop app' and download its JSON."
        )
    flow = InstalledAppFlow.from_client_config(config, scopes=[GMAIL_SCOPE])
    credentials: Credentials = flow.run_local_server(
        host="127.0.0.1",
        port=0,
        open_browser=open_browser,
        browser=browser,
        authorization_prompt_message=PROMPT,
        success_message="support-agent is authorised. You can close this tab.",
        timeout_seconds=timeout,
        access_type="offline",
        prompt="consent",
    )
    if not credentials.refresh_token:  # Google omits it when consent was not prompted
        raise ConfigError("Google returned no refresh token; run `gmail-mcp auth` again and accept the consent screen.")
    save_credentials(credentials, token_file)
    return credentials
