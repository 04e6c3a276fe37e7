"""The objects one running Shopify server shares: HTTP clients, the Admin API client, lookups, the ticket sink."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from shopify_mcp.auth import ClientCredentialsToken, StaticToken, TokenProvider
from shopify_mcp.catalog import Catalog
from shopify_mcp.client import AdminClient
from shopify_mcp.config import ShopifySettings
from shopify_mcp.customers import CustomerLookup
from shopify_mcp.discounts import DiscountLookup
from shopify_mcp.orders import OrderLookup
from shopify_mcp.policies import PolicyLookup
from shopify_mcp.ticket_sinks import build_ticket_sink
from shopify_mcp.tickets import TicketSink
from support_core.retry import RetryPolicy

if TYPE_CHECKING:
    from shopify_mcp.emulator import ShopifyEmulator

logger = logging.getLogger(__name__)

USER_AGENT = "support-agent-shopify-mcp/0.1"


@dataclass(frozen=True)
class ShopifyContext:
    settings: ShopifySettings
    client: AdminClient
    orders: OrderLookup
    customers: CustomerLookup
    catalog: Catalog
    discounts: DiscountLookup
    policies: PolicyLookup
    tickets: TicketSink
    emulator: ShopifyEmulator | None = None

    @property
    def mode(self) -> str:
        """'sandbox' (embedded store) or the Admin API base URL."""
        return "sandbox" if self.emulator is not None else self.settings.base_url


def sandbox_emulator(settings: ShopifySettings) -> ShopifyEmulator:
    """The embedded sandbox store: the project's emulator over `store.json` (or `SHOPIFY_SANDBOX_FILE`)."""
    from shopify_mcp.emulator import ShopifyEmulator, load_sandbox_store, load_store

    store = load_store(settings.sandbox_file) if settings.sandbox_file else load_sandbox_store()
    return ShopifyEmulator(store=store)


@asynccontextmanager
async def open_context(
    settings: ShopifySettings, *, emulator: ShopifyEmulator | None = None
) -> AsyncIterator[ShopifyContext]:
    """Build every service for `settings`; with no store configured (or an `emulator` given) use it in-process.

    The in-process sandbox is reached through the emulator's ASGI transport, so requests take the same path through
    the Admin API client (serialisation, throttling, error handling) as they do against Shopify.
    """
    timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
    headers = {"User-Agent": USER_AGENT}
    if emulator is None and settings.sandbox:
        emulator = sandbox_emulator(settings)
    tokens: TokenProvider
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as outbound:
        if emulator is not None:
            from shopify_mcp.emulator import SANDBOX_TOKEN

            api_http = httpx.AsyncClient(transport=emulator.transport(), timeout=timeout, headers=headers)
            base_url = settings.base_url
            tokens = StaticToken(SANDBOX_TOKEN)
            logger.info("Using the sandbox store (no SHOPIFY_STORE set)")
        else:
            api_http = httpx.AsyncClient(timeout=timeout, headers=headers)
            base_url = settings.base_url
            if settings.access_token is not None:
                tokens = StaticToken(settings.access_token.get_secret_value())
            else:
                assert settings.client_id and settings.client_secret
                tokens = ClientCredentialsToken(
                    api_http, base_url, settings.client_id, settings.client_secret.get_secret_value()
                )
        async with api_http:
            backoff = RetryPolicy(
                base=settings.retry_base_delay, max_delay=settings.retry_max_delay, attempts=settings.max_retries + 1
            )
            client = AdminClient(
                api_http, base_url=base_url, api_version=settings.api_version, tokens=tokens, backoff=backoff
            )
            tickets = build_ticket_sink(settings, outbound)
            try:
                yield ShopifyContext(
                    settings=settings,
                    client=client,
                    orders=OrderLookup(client, verify_email=settings.verify_customer_email),
                    customers=CustomerLookup(client, vip_tags=settings.vip_tags, vip_min_spend=settings.vip_min_spend),
                    catalog=Catalog(client, metafield_keys=settings.metafield_keys),
                    discounts=DiscountLookup(
                        client, public_tag=settings.public_discount_tag, cache_ttl=settings.cache_ttl
                    ),
                    policies=PolicyLookup(client, cache_ttl=settings.cache_ttl),
                    tickets=tickets,
                    emulator=emulator,
                )
            finally:
                await tickets.aclose()
