"""Fixtures for the emulator tests: a fixture store, a controllable clock, and an HTTP client to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shopify_mcp.emulator import SANDBOX_TOKEN, Store, build_store
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.emulator.store_data import NOW, store_document

ENDPOINT = "/admin/api/2026-07/graphql.json"


class FakeClock:
    """A monotonic clock tests move by hand (cost bucket, token expiry)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store() -> Store:
    return build_store(store_document(), now=NOW)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(store: Store, clock: FakeClock) -> ShopifyEmulator:
    return ShopifyEmulator(store=store, clock=clock, client_credentials={"app-id": "app-secret"})


@pytest.fixture
async def http(emu: ShopifyEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=emu.transport(), base_url="https://test-outfitters.myshopify.com") as client:
        yield client


async def gql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    operation: str | None = None,
    token: str = SANDBOX_TOKEN,
    path: str = ENDPOINT,
) -> dict[str, Any]:
    """POST one GraphQL request; asserts HTTP 200 and returns the JSON body."""
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation:
        body["operationName"] = operation
    response = await http.post(path, json=body, headers={"X-Shopify-Access-Token": token})
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload
