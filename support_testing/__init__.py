"""Loopback test peers written by the project (the Gmail REST API, an OpenAI-compatible API): used by the tests and
the benchmarks, never shipped in the wheel. The Shopify Admin API emulator stays in `shopify_mcp.emulator` because
the sandbox store is served through it."""
