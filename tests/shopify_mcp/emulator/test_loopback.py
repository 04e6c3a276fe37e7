"""The emulator as a real HTTP server on loopback: in-process with `serve_emulator`, and as `python -m`."""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.streams.text import TextReceiveStream

from shopify_mcp.emulator import SANDBOX_TOKEN, Store
from shopify_mcp.queries import ALL_OPERATIONS
from support_testing.shopify_emulator import ShopifyEmulator, serve_emulator
from tests.shopify_mcp.emulator.store_data import store_document

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[3]


async def test_serve_emulator_answers_over_a_socket_and_times_out_like_shopify(store: Store) -> None:
    emulator = ShopifyEmulator(store=store)
    async with serve_emulator(emulator) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
            response = await http.post(
                "/admin/api/2026-07/graphql.json",
                json={"query": ALL_OPERATIONS["ShopInfo"], "operationName": "ShopInfo"},
                headers={"X-Shopify-Access-Token": SANDBOX_TOKEN},
            )
            assert response.status_code == 200 and response.headers["X-Shopify-API-Version"] == "2026-07"
            assert response.json()["data"]["shop"]["myshopifyDomain"] == "test-outfitters.myshopify.com"
            emulator.faults.drop(1)
            with pytest.raises(httpx.ReadTimeout):
                await http.post(
                    "/admin/api/2026-07/graphql.json",
                    json={"query": "{ shop { name } }"},
                    headers={"X-Shopify-Access-Token": SANDBOX_TOKEN},
                    timeout=0.2,
                )
    assert [r.operation for r in emulator.requests] == ["ShopInfo"]  # the dropped request never finished


async def test_python_m_runs_standalone(tmp_path: Path) -> None:
    store_file = tmp_path / "store.json"
    store_file.write_text(json.dumps(store_document()), encoding="utf-8")
    command = [sys.executable, "-m", "support_testing.shopify_emulator", "--port", "0", "--store", str(store_file)]
    async with await anyio.open_process([*command, "--token", "shpat_x"], cwd=ROOT) as process:
        try:
            assert process.stderr is not None
            output, url = "", None
            with anyio.fail_after(20):
                async for chunk in TextReceiveStream(process.stderr):
                    output += chunk
                    match = re.search(r"http://127\.0\.0\.1:\d+", output)
                    if match:
                        url = match.group(0)
                        break
            assert url is not None, output
            async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
                response = await http.post(
                    "/admin/api/2026-07/graphql.json",
                    json={"query": "{ shop { name } }"},
                    headers={"X-Shopify-Access-Token": "shpat_x"},
                )
            assert response.json()["data"]["shop"]["name"] == "Test Outfitters"
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
