"""The Shopify server's self-check (the `diagnose` tool): mode, token, API version, access scopes, ticket sink.

Each network call is bounded by `call_timeout` seconds and made once (no retry). Nothing is written except a temporary
file in the tickets folder, deleted at once, and no ticket is sent (a PostgreSQL ticket store is only read).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from shopify_mcp.client import SCOPE_HINTS
from shopify_mcp.config import ShopifySettings
from shopify_mcp.context import ShopifyContext, open_context
from shopify_mcp.errors import AuthenticationError, ConfigError, ShopifyAPIError, TicketSinkError
from support_core.diagnosis import Check, Diagnosis, bounded, failed, folder_check, passed, skipped

__all__ = ["NEEDED_SCOPES", "SCOPE_HINTS", "diagnose"]

NEEDED_SCOPES = (
    "read_orders",
    "read_all_orders",
    "read_customers",
    "read_products",
    "read_inventory",
    "read_locations",
    "read_discounts",
    "read_legal_policies",
    "read_locales",
    "read_translations",
)
"""The Admin API access scopes the Shopify tools use (what each one's loss breaks: `SCOPE_HINTS`)."""
STORE_CHECKS = ("Shopify token", "Shopify API version", "Shopify scopes")
TOKEN_FIX = (
    "check SHOPIFY_ACCESS_TOKEN (the Admin API token of an app installed on this store) or "
    "SHOPIFY_CLIENT_ID/SHOPIFY_CLIENT_SECRET, and that the app is still installed"
)


async def diagnose(ctx: ShopifyContext, call_timeout: float, *, http: httpx.AsyncClient | None = None) -> Diagnosis:
    """Every check of this server's configuration; `http` (for the ticket sink) is made here when not given."""
    checks = await _store_checks(ctx, call_timeout)
    if http is None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(call_timeout)) as own:
            checks.append(await _ticket_check(ctx.settings, own, call_timeout))
    else:
        checks.append(await _ticket_check(ctx.settings, http, call_timeout))
    return Diagnosis(checks=checks)


# --- the store --------------------------------------------------------------------------------------------------


async def _store_checks(ctx: ShopifyContext, call_timeout: float) -> list[Check]:
    settings = ctx.settings
    if settings.sandbox:
        mode = passed("Shopify mode", "sandbox store (no SHOPIFY_STORE set): answers come from demo data")
        return [mode] + [skipped(name, "skipped: sandbox store") for name in STORE_CHECKS]
    auth = "access token" if settings.access_token is not None else "client credentials"
    checks = [passed("Shopify mode", f"store {_origin(settings.base_url)} ({auth})")]
    # A client of its own, like the server's (same store, or the same emulator in tests) but without retries.
    quick = settings.model_copy(update={"timeout": min(settings.timeout, call_timeout), "max_retries": 0})
    async with open_context(quick, emulator=ctx.emulator) as probe:
        try:
            shop = (await bounded(call_timeout + 1, probe.client.execute("ShopInfo"))).get("shop") or {}
        except AuthenticationError as exc:
            detail = "rejected by Shopify (HTTP 401)" if exc.status == 401 else str(exc)
            checks.append(failed("Shopify token", detail, TOKEN_FIX))
            return checks + [skipped(name, "skipped: the token was rejected") for name in STORE_CHECKS[1:]]
        except (ShopifyAPIError, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {call_timeout:g}s"
            fix = f"check SHOPIFY_STORE ({_origin(settings.base_url)}) and the network"
            checks.append(failed("Shopify token", f"cannot query the store: {reason}", fix))
            return checks + [skipped(name, "skipped: the store did not answer") for name in STORE_CHECKS[1:]]
        checks.append(passed("Shopify token", f"valid ({shop.get('name')}, {shop.get('myshopifyDomain')})"))
        checks.append(_version_check(probe.client.api_version, probe.client.served_version))
        try:
            data = await bounded(call_timeout + 1, probe.client.execute("AccessScopes"))
        except (ShopifyAPIError, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {call_timeout:g}s"
            checks.append(failed("Shopify scopes", f"cannot read the granted scopes: {reason}", "see the reason given"))
            return checks
    checks.append(scope_check(data))
    return checks


def _version_check(requested: str, served: str | None) -> Check:
    name = "Shopify API version"
    if served is None:
        return skipped(name, f"{requested} requested; Shopify did not say which version it served")
    if served != requested:
        return failed(
            name,
            f"Shopify served {served} instead of {requested} (unsupported or retired)",
            f"update SHOPIFY_API_VERSION to a supported version (e.g. {served} or newer)",
        )
    return passed(name, f"{requested} supported")


def scope_check(data: dict[str, Any]) -> Check:
    """The granted scopes (the `AccessScopes` answer) against `NEEDED_SCOPES`, naming what each missing one breaks."""
    name = "Shopify scopes"
    installation = data.get("currentAppInstallation") or {}
    granted = {str(entry.get("handle")) for entry in installation.get("accessScopes") or [] if isinstance(entry, dict)}
    # Shopify implies a read scope by its write scope (write_orders grants read_orders).
    granted |= {"read_" + handle[len("write_") :] for handle in granted if handle.startswith("write_")}
    missing = [scope for scope in NEEDED_SCOPES if scope not in granted]
    if not missing:
        return passed(name, f"all {len(NEEDED_SCOPES)} needed scopes granted")
    effects = ", ".join(f"{scope} ({SCOPE_HINTS.get(scope, 'some lookups fail')})" for scope in missing)
    return failed(
        name,
        f"missing {effects}",
        "add the missing scopes to the app's Admin API access scopes, then reinstall or re-authorise the app",
    )


# --- escalation tickets -----------------------------------------------------------------------------------------


async def _ticket_check(settings: ShopifySettings, http: httpx.AsyncClient, call_timeout: float) -> Check:
    """Local sink: its folder is writable, or its PostgreSQL database answers and lets this user keep tickets there.
    Webhook: the receiver answers. Zendesk: it accepts the API token."""
    name = "Ticket sink"
    if settings.ticket_sink == "local" and settings.ticket_db_url is not None:
        return await _postgres_check(name, settings.ticket_db_url, call_timeout)
    if settings.ticket_sink == "local":
        assert settings.ticket_db_path is not None
        folder = settings.ticket_db_path.parent
        check = folder_check(name, folder, "make it a writable folder or set SHOPIFY_TICKET_DB")
        return check.model_copy(update={"detail": f"local SQLite in {check.detail}"})
    if settings.ticket_sink == "webhook":
        url = settings.ticket_webhook_url or ""
        where = f"the webhook at {_origin(url)}"
        fix = "check SHOPIFY_TICKET_WEBHOOK_URL and that the receiver is running"
        try:
            response = await bounded(call_timeout + 1, http.head(url, timeout=call_timeout))
        except (httpx.HTTPError, TimeoutError) as exc:
            return failed(name, f"{where} cannot be reached ({type(exc).__name__})", fix)
        if response.status_code >= 500:
            return failed(name, f"{where} answered HTTP {response.status_code}", fix)
        return passed(name, f"{where} answers (HTTP {response.status_code} to HEAD; no ticket sent)")
    base = (settings.zendesk_url or f"https://{settings.zendesk_subdomain}.zendesk.com").rstrip("/")
    where = f"Zendesk at {_origin(base)}"
    token = settings.zendesk_api_token.get_secret_value() if settings.zendesk_api_token else ""
    auth = httpx.BasicAuth(f"{settings.zendesk_email}/token", token)
    try:
        response = await bounded(
            call_timeout + 1, http.get(f"{base}/api/v2/users/me.json", auth=auth, timeout=call_timeout)
        )
    except (httpx.HTTPError, TimeoutError) as exc:
        return failed(name, f"{where} cannot be reached ({type(exc).__name__})", "check SHOPIFY_ZENDESK_SUBDOMAIN")
    if response.status_code in (401, 403):
        fix = "check SHOPIFY_ZENDESK_EMAIL and SHOPIFY_ZENDESK_API_TOKEN, and that token access is on in Zendesk"
        return failed(name, f"{where} refused the email/API token (HTTP {response.status_code})", fix)
    if not response.is_success:
        fix = "check SHOPIFY_ZENDESK_SUBDOMAIN or SHOPIFY_ZENDESK_URL"
        return failed(name, f"{where} answered HTTP {response.status_code}", fix)
    return passed(name, f"{where} accepts the API token")


async def _postgres_check(name: str, url: str, call_timeout: float) -> Check:
    from shopify_mcp.ticket_store_pg import PostgresTicketStore, describe_postgres_url

    fix = "check SHOPIFY_TICKET_DB (host, port, database, user, password) and that PostgreSQL is running there"
    try:
        store = PostgresTicketStore(url, connect_timeout=call_timeout, statement_timeout=call_timeout)
        detail = await bounded(call_timeout + 1, store.probe())
    except ConfigError as exc:  # psycopg is not installed
        return failed(name, f"{describe_postgres_url(url)}: {exc}", "install the postgres extra")
    except TicketSinkError as exc:
        return failed(name, str(exc), fix)
    except TimeoutError:
        return failed(name, f"{describe_postgres_url(url)}: no answer within {call_timeout:g}s", fix)
    return passed(name, f"local store in {detail}")


def _origin(url: str) -> str:
    """Scheme and host of a URL, for the report: paths, queries and user:password@ may carry secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.scheme else url
