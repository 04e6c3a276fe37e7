"""`gmail-mcp auth`: the desktop OAuth flow against the Gmail emulator's token endpoint, and the saved token."""

from __future__ import annotations

import json
import stat
import threading
import urllib.parse
import urllib.request
import webbrowser
from pathlib import Path

import anyio
import pytest

from gmail_mcp.auth import authorise
from gmail_mcp.config import GmailSettings
from gmail_mcp.credentials import load_credentials
from gmail_mcp.errors import ConfigError
from gmail_mcp.gmail_api import GmailApiBackend
from support_testing.gmail_emulator import GmailEmulator, serve_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


class ConsentScreen:
    """A stand-in browser: the user 'allows access', and Google redirects to the local server with a code."""

    def __init__(self, emulator: GmailEmulator) -> None:
        self.emulator = emulator
        self.visited: list[str] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.visited.append(url)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        code = self.emulator.tokens.grant_code()
        target = f"{query['redirect_uri']}?" + urllib.parse.urlencode(
            {"code": code, "state": query["state"], "scope": query["scope"]}
        )
        thread = threading.Thread(target=lambda: urllib.request.urlopen(target, timeout=10).read())
        thread.start()
        self.threads.append(thread)
        return True


def client_secrets(path: Path, base_url: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "desktop-client.apps.example",
                    "client_secret": "desktop-secret",
                    "auth_uri": f"{base_url}/o/oauth2/auth",
                    "token_uri": f"{base_url}/token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


async def test_auth_writes_an_owner_only_token_that_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the token endpoint is plain HTTP on loopback
    emulator = GmailEmulator()
    consent = ConsentScreen(emulator)
    webbrowser.register("support-agent-consent", None, consent)  # type: ignore[arg-type]
    token_file = tmp_path / "config" / "gmail-token.json"
    async with serve_emulator(emulator) as url:
        secrets = client_secrets(tmp_path / "client_secret.json", url)
        await anyio.to_thread.run_sync(
            lambda: authorise(secrets, token_file, browser="support-agent-consent", timeout=30)
        )
        for thread in consent.threads:
            thread.join(5)
        assert "access_type=offline" in consent.visited[0] and "gmail.modify" in consent.visited[0]
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        saved = json.loads(token_file.read_text())
        assert saved["refresh_token"].startswith("1//") and saved["token_uri"] == f"{url}/token"
        settings = GmailSettings(_env_file=None, token_file=token_file, api_endpoint=url)  # type: ignore[call-arg]
        credentials, path = load_credentials(settings)
        backend = GmailApiBackend(credentials, token_path=path, api_endpoint=url)
        try:
            assert await backend.address() == emulator.address
        finally:
            await backend.aclose()


def test_auth_explains_a_wrong_client_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        authorise(tmp_path / "missing.json", tmp_path / "t.json")
    web = tmp_path / "web.json"
    web.write_text(json.dumps({"web": {"client_id": "x"}}))
    with pytest.raises(ConfigError, match="Desktop app"):
        authorise(web, tmp_path / "t.json")
