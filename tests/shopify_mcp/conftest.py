"""Fixtures for the Shopify server tests: an emulator over the sandbox store and an in-memory MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from shopify_mcp.config import ShopifySettings
from shopify_mcp.context import ShopifyContext, open_context
from shopify_mcp.emulator import load_sandbox_store
from shopify_mcp.server import create_server
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.support import make_settings


@pytest.fixture
def emulator() -> ShopifyEmulator:
    return ShopifyEmulator(store=load_sandbox_store())


@pytest.fixture
def settings(tmp_path: Path) -> ShopifySettings:
    return make_settings(tmp_path)


@pytest.fixture
async def ctx(settings: ShopifySettings, emulator: ShopifyEmulator) -> AsyncIterator[ShopifyContext]:
    async with open_context(settings, emulator=emulator) as context:
        yield context


@pytest.fixture
async def client(ctx: ShopifyContext) -> AsyncIterator[Client]:
    async with Client(create_server(ctx)) as mcp_client:
        yield mcp_client


ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def client_with(tmp_path: Path, emulator: ShopifyEmulator) -> ClientFactory:
    """An in-memory client over a server built with other settings (e.g. merchant mode)."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Client]:
        async with (
            open_context(make_settings(tmp_path, **overrides), emulator=emulator) as context,
            Client(create_server(context)) as mcp_client,
        ):
            yield mcp_client

    return factory
