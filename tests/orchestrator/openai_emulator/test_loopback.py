"""The emulator as a real HTTP server on loopback: in-process with `serve_emulator`, and as `python -m`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import anyio
import httpx
import pytest

from support_testing.openai_emulator import EMULATOR_API_KEY, OpenAIEmulator, serve_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_serve_emulator_yields_a_v1_base_url_and_stops_promptly_after_a_hang() -> None:
    emulator = OpenAIEmulator()
    emulator.faults.timeout()  # the server hangs 30 s; the client gives up and shutdown must not wait for it
    started = anyio.current_time()
    async with serve_emulator(emulator) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        headers = {"Authorization": f"Bearer {EMULATOR_API_KEY}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(
                    "/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
                )
            assert (await http.get("/models")).status_code == 200
    assert anyio.current_time() - started < 5


async def test_python_m_serves_until_interrupted() -> None:
    command = [
        sys.executable,
        "-m",
        "support_testing.openai_emulator",
        "--port",
        "0",
        "--latency",
        "0.05",
        "--api-key",
        "sk-bench",
    ]
    process = await anyio.open_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        output, url = "", None
        with anyio.fail_after(20):
            async for chunk in process.stderr:
                output += chunk.decode()
                match = re.search(r"OPENAI_BASE_URL=(\S+)", output)
                if match:
                    url = match.group(1)
                    break
        assert url is not None and url.endswith("/v1"), output
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer sk-bench"}, timeout=5) as http:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where is my order #1001?"}]}
            answer = (await http.post("/chat/completions", json=body)).json()
        assert answer["choices"][0]["message"]["content"].startswith("Hello,")
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(10):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
