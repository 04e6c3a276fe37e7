"""The Shopify Admin API emulator as a test peer: faults, a request log, the token exchange and the tau-retail store
(`ShopifyEmulator` extends the sandbox's), served over HTTP on loopback (tests, benchmarks,
`python -m support_testing.shopify_emulator`)."""

from support_testing.shopify_emulator.faults import FaultPlan
from support_testing.shopify_emulator.peer import RequestRecord, ShopifyEmulator, mask_token
from support_testing.shopify_emulator.server import serve_emulator
from support_testing.shopify_emulator.tau import load_tau_store

__all__ = ["FaultPlan", "RequestRecord", "ShopifyEmulator", "load_tau_store", "mask_token", "serve_emulator"]
