"""A faithful loopback emulator of the Shopify Admin GraphQL API over a store file: the sandbox store and test peer."""

from shopify_mcp.emulator.app import ALL_SCOPES, SANDBOX_TOKEN, SUPPORTED_VERSIONS, RequestRecord, ShopifyEmulator
from shopify_mcp.emulator.cost import CostBucket
from shopify_mcp.emulator.faults import FaultPlan
from shopify_mcp.emulator.store import Store, build_store, load_sandbox_store, load_store
from shopify_mcp.emulator.tau import load_tau_store
from shopify_mcp.emulator.transport import EmulatorTransport

__all__ = [
    "ALL_SCOPES",
    "SANDBOX_TOKEN",
    "SUPPORTED_VERSIONS",
    "CostBucket",
    "EmulatorTransport",
    "FaultPlan",
    "RequestRecord",
    "ShopifyEmulator",
    "Store",
    "build_store",
    "load_sandbox_store",
    "load_store",
    "load_tau_store",
]
