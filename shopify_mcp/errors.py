"""The Shopify server's exception hierarchy: every failure a person or a model may need to act on."""

from __future__ import annotations

from support_core.errors import ConfigError as CoreConfigError
from support_core.errors import SupportAgentError


class ShopifyMCPError(SupportAgentError):
    """Base of every error this package raises on purpose. The message is written for a person."""


class ConfigError(ShopifyMCPError, CoreConfigError):
    """The settings are incomplete or contradictory; the message names the variable to fix."""


class InvalidInputError(ShopifyMCPError):
    """A tool argument is malformed (an order number with letters, an email without @, ...)."""


class NotFoundError(ShopifyMCPError):
    """The record does not exist, or exists but does not belong to the customer who asks (same message)."""


class ShopifyAPIError(ShopifyMCPError):
    """A call to the Admin API failed. `operation` names the GraphQL operation, never its variables."""

    def __init__(self, message: str, *, operation: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status


class AuthenticationError(ShopifyAPIError):
    """Shopify rejected the credentials (HTTP 401, or the client-credentials exchange failed)."""


class AccessDeniedError(ShopifyAPIError):
    """The app lacks an access scope; `scope` names it when Shopify said which."""

    def __init__(self, message: str, *, scope: str | None = None, operation: str | None = None) -> None:
        super().__init__(message, operation=operation, status=403)
        self.scope = scope


class ThrottledError(ShopifyAPIError):
    """Shopify kept throttling after every retry."""


class UpstreamUnavailableError(ShopifyAPIError):
    """Shopify answered 5xx or timed out after every retry."""


class QueryError(ShopifyAPIError):
    """Shopify refused the GraphQL document or its variables (a bug here, or an unsupported API version)."""


class SearchFilterError(ShopifyAPIError):
    """Shopify ignored part of a search query (reported only as `extensions.search` warnings).

    Results of such a query may be unrelated records, so it is an error, never a silent "not found".
    """


class TicketSinkError(ShopifyMCPError):
    """An escalation ticket could not be stored or delivered."""
