"""The Shopify Admin API emulator served over HTTP on loopback (tests, benchmarks, `python -m
support_testing.shopify_emulator`); the emulator itself stays in `shopify_mcp.emulator`, which serves the sandbox."""

from support_testing.shopify_emulator.server import serve_emulator

__all__ = ["serve_emulator"]
