"""The emulator as a real HTTP server: URL shape, paths it does not implement, bad input, and `python -m`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.streams.text import TextReceiveStream

from support_testing.gmail_emulator import EMULATOR_TOKEN, GmailEmulator, serve_emulator
from tests.gmail_mcp.emulator.sample_mail import mail

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[3]
AUTH = {"Authorization": f"Bearer {EMULATOR_TOKEN}"}


async def test_unknown_paths_other_users_and_bad_json(emulator: GmailEmulator) -> None:
    async with serve_emulator(emulator) as url, httpx.AsyncClient(base_url=url, headers=AUTH, timeout=5) as http:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        unknown = await http.get("/gmail/v1/users/me/threads")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/json")
        assert "does not implement GET /gmail/v1/users/me/threads" in unknown.json()["error"]["message"]
        other = await http.get("/gmail/v1/users/someone@else.example/profile")
        assert (
            other.status_code == 403
            and other.json()["error"]["message"] == "Delegation denied for someone@else.example"
        )
        own = await http.get(f"/gmail/v1/users/{emulator.address}/profile")
        assert own.status_code == 200
        broken = await http.post(
            "/gmail/v1/users/me/labels", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["error"]["status"] == "INVALID_ARGUMENT"
        upload = await http.post("/upload/gmail/v1/users/me/messages/send", content=b"From: x\r\n\r\nhi")
        assert upload.status_code == 403
    assert [a.method for a in emulator.send_attempts] == ["users.messages.send"]
    assert [r.method for r in emulator.requests] == [
        None,
        "users.getProfile",
        "users.getProfile",
        "users.labels.create",
        "users.messages.send",
    ]


async def test_errors_inside_serve_emulator_propagate_unwrapped_and_the_port_closes(emulator: GmailEmulator) -> None:
    with pytest.raises(LookupError, match="raised by the test"):
        async with serve_emulator(emulator) as url:
            port = int(url.rsplit(":", 1)[1])
            raise LookupError("raised by the test")
    with pytest.raises(OSError):
        await anyio.connect_tcp("127.0.0.1", port)


async def test_a_busy_port_is_an_os_error(emulator: GmailEmulator) -> None:
    async with serve_emulator(emulator) as url:
        with pytest.raises(OSError, match="could not listen"):
            async with serve_emulator(GmailEmulator(), port=int(url.rsplit(":", 1)[1])):
                pass


async def test_python_m_serves_a_mailbox_directory(tmp_path: Path) -> None:
    (tmp_path / "1.eml").write_bytes(mail("First", "one"))
    (tmp_path / "2.eml").write_bytes(mail("Second", "two"))
    (tmp_path / "notes.txt").write_text("not mail")
    command = [sys.executable, "-m", "support_testing.gmail_emulator", "--port", "0", "--mailbox", str(tmp_path)]
    async with await anyio.open_process(command, cwd=ROOT) as process:
        try:
            assert process.stderr is not None
            output, url = "", None
            with anyio.fail_after(20):
                async for chunk in TextReceiveStream(process.stderr):
                    output += chunk
                    match = re.search(r"Gmail emulator: (http://127\.0\.0\.1:\d+)", output)
                    if match:
                        url = match.group(1)
                        break
            assert url is not None, output
            async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=5) as http:
                profile = (await http.get("/gmail/v1/users/me/profile")).json()
                listed = (await http.get("/gmail/v1/users/me/messages", params={"q": "subject:second"})).json()
            assert profile["messagesTotal"] == 2 and listed["resultSizeEstimate"] == 1
        finally:
            process.terminate()
            with anyio.fail_after(10):
                assert await process.wait() == 0


async def test_python_m_rejects_a_missing_mailbox(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "support_testing.gmail_emulator",
        "--port",
        "0",
        "--mailbox",
        str(tmp_path / "absent"),
    ]
    result = await anyio.run_process(command, cwd=ROOT, check=False)
    assert result.returncode == 2 and b"is not a directory" in result.stderr
