"""A faithful loopback emulator of the Shopify Admin GraphQL API over a store file: what serves the sandbox store.
Tests and benchmarks use its extension in `support_testing.shopify_emulator` (faults, request log, token exchange)."""

from shopify_mcp.emulator.app import ALL_SCOPES, SANDBOX_TOKEN, SUPPORTED_VERSIONS, ShopifyEmulator
from shopify_mcp.emulator.cost import CostBucket
from shopify_mcp.emulator.store import Store, build_store, load_sandbox_store, load_store
from shopify_mcp.emulator.transport import EmulatorTransport

__all__ = [
    "ALL_SCOPES",
    "SANDBOX_TOKEN",
    "SUPPORTED_VERSIONS",
    "CostBucket",
    "EmulatorTransport",
    "ShopifyEmulator",
    "Store",
    "build_store",
    "load_sandbox_store",
    "load_store",
]
