"""The root of every exception the project raises on purpose, and the configuration error all packages share."""

from __future__ import annotations

__all__ = ["ConfigError", "SupportAgentError"]


class SupportAgentError(Exception):
    """Base of every error raised on purpose by support_core, shopify_mcp, gmail_mcp and the orchestrator.

    The message is written for a person: what failed, why, and what to do. It never holds a secret."""


class ConfigError(SupportAgentError):
    """Settings or flags are missing, malformed or contradictory; the message names the setting to fix."""
