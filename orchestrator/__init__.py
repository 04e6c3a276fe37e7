"""Support-agent orchestrator: the inbox daemon (gatekeeper, router, category agents over MCP) and its CLI."""
