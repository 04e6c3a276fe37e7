"""The remote ticket sinks (a signed webhook, the Zendesk Tickets API) and `build_ticket_sink`, which picks one.

A ticket's customer address is unverified (it is whatever the mail's From said), so the Zendesk sink never makes
it the requester, who Zendesk would email: it goes into a private comment instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from abc import abstractmethod
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx import AsyncClient

from shopify_mcp.config import ShopifySettings
from shopify_mcp.errors import ConfigError, TicketSinkError
from shopify_mcp.tickets import LocalTicketSink, TicketSink, make_ticket, new_ticket_id
from support_core.retry import RetriesExhausted, RetryPolicy, TransientError, call_with_retries, retry_after_seconds
from support_core.store import SinkName, Ticket, TicketRequest

logger = logging.getLogger(__name__)

__all__ = [
    "WebhookTicketSink",
    "ZendeskTicketSink",
    "build_ticket_sink",
    "sign_webhook_payload",
    "verify_webhook_signature",
]


def _origin(url: str) -> str:
    """Scheme and host of a URL, for messages: paths and query strings may carry secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _json_id(response: httpx.Response, *keys: str) -> str | None:
    """The id found under `keys` in a JSON answer, as text; None when there is none."""
    try:
        value: Any = response.json()
    except ValueError:
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


class _RemoteTicketSink(TicketSink):
    """What the webhook and Zendesk sinks share: one POST per ticket, retried on 429, 5xx and network failures."""

    sink: SinkName
    target: str  # "Zendesk at https://acme.zendesk.com", for messages

    def __init__(self, http: AsyncClient, backoff: RetryPolicy, timeout: float | None) -> None:
        self.backoff = backoff
        self._http = http
        self._timeout = http.timeout if timeout is None else httpx.Timeout(timeout)

    @abstractmethod
    async def _send(self, ticket: Ticket) -> httpx.Response:
        """One attempt at delivering the ticket."""

    @abstractmethod
    def _accept(self, ticket: Ticket, response: httpx.Response) -> Ticket:
        """The ticket completed from a final answer that is not 429/5xx, or `TicketSinkError` if it was refused."""

    async def create(self, request: TicketRequest) -> Ticket:
        pending = make_ticket(request, ticket_id=new_ticket_id(), sink=self.sink)
        label = f"Ticket {pending.id} to {self.target}"
        try:
            ticket = await call_with_retries(lambda: self._deliver(pending), self.backoff, label=label, logger=logger)
        except RetriesExhausted as exhausted:
            raise TicketSinkError(
                f"Delivery of ticket {pending.id} to {self.target} failed after {exhausted.attempts_text} "
                f"(last: {exhausted.detail}); the ticket was not created: check that the receiver is up and "
                "reachable, then try again"
            ) from None
        logger.info("Ticket %s (%s) created in the %s sink", ticket.id, ticket.category, self.sink)
        return ticket

    async def _deliver(self, ticket: Ticket) -> Ticket:
        """One attempt: the accepted ticket, `TransientError` on 429/5xx/network failures, else `_accept`'s error."""
        try:
            response = await self._send(ticket)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            name = type(exc).__name__  # the log gets the type only: an exception's text may quote a URL
            raise TransientError(name, detail=f"{name}: {exc}" if str(exc) else name) from None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientError(f"HTTP {response.status_code}", retry_after=retry_after)
        return self._accept(ticket, response)


def sign_webhook_payload(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Support-Agent-Signature` value: `sha256=` + hex HMAC-SHA256 of `{timestamp}.{body}`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_webhook_signature(
    secret: str, timestamp: str | int, body: bytes, signature: str, *, tolerance: float = 300, now: float | None = None
) -> bool:
    """Check a ticket webhook on the receiving side; True only for a fresh request signed with `secret`.

    Pass the raw request body (bytes, before any JSON parsing) and the `X-Support-Agent-Timestamp` and
    `X-Support-Agent-Signature` headers. The signature is `sha256=` followed by the hex HMAC-SHA256 of
    `"{timestamp}.{body}"`; it is compared in constant time. Requests whose timestamp is more than
    `tolerance` seconds away from `now` (default: the current time) are rejected, which stops replays.
    Deduplicate retries of one ticket with the `Idempotency-Key` header (the ticket id).

        if not verify_webhook_signature(SECRET, request.headers["X-Support-Agent-Timestamp"], raw_body,
                                        request.headers["X-Support-Agent-Signature"]):
            return Response(status_code=401)
    """
    try:
        sent_at = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    expected = sign_webhook_payload(secret, str(sent_at), body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8"))


class WebhookTicketSink(_RemoteTicketSink):
    """POSTs each ticket as signed JSON (`{"event": "ticket.created", "ticket": {...}}`) to your own endpoint."""

    sink = "webhook"

    def __init__(
        self, url: str, secret: str, http: AsyncClient, backoff: RetryPolicy, *, timeout: float | None = None
    ) -> None:
        super().__init__(http, backoff, timeout)
        self.url = url
        self.target = f"the ticket webhook at {_origin(url)}"
        self._secret = secret

    async def _send(self, ticket: Ticket) -> httpx.Response:
        payload = {"event": "ticket.created", "ticket": ticket.model_dump(mode="json")}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        timestamp = str(int(time.time()))  # fresh on each attempt, so a late retry is not stale
        headers = {
            "Content-Type": "application/json",
            "X-Support-Agent-Timestamp": timestamp,
            "X-Support-Agent-Signature": sign_webhook_payload(self._secret, timestamp, body),
            "Idempotency-Key": ticket.id,
        }
        return await self._http.post(self.url, content=body, headers=headers, timeout=self._timeout)

    def _accept(self, ticket: Ticket, response: httpx.Response) -> Ticket:
        if not response.is_success:
            raise TicketSinkError(
                f"Ticket {ticket.id} was refused by {self.target} with HTTP {response.status_code} "
                f"({response.text[:200].strip() or response.reason_phrase}); it was not retried: fix the receiver "
                "or the SHOPIFY_TICKET_WEBHOOK_URL / _SECRET settings"
            )
        return ticket.model_copy(update={"external_id": _json_id(response, "id")})


def _zendesk_problem(response: httpx.Response) -> str:
    """Zendesk's `description` and per-field `details`, in one line."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return response.text[:300].strip() or response.reason_phrase
    parts = [str(data.get("description") or data.get("error") or response.reason_phrase)]
    details = data.get("details")
    for field, items in details.items() if isinstance(details, dict) else ():
        for item in items if isinstance(items, list) else [items]:
            parts.append(f"{field}: {item.get('description', item) if isinstance(item, dict) else item}")
    return "; ".join(parts)[:500]


class ZendeskTicketSink(_RemoteTicketSink):
    """Creates each ticket in Zendesk through the Tickets API, authenticated with an agent's API token.

    The ticket's only comment is private (`public: false`) and the customer's unverified address is never the
    requester (Zendesk would email it); the address is written in that private comment. See `_send`.
    """

    sink = "zendesk"

    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        http: AsyncClient,
        backoff: RetryPolicy,
        *,
        timeout: float | None = None,
    ) -> None:
        super().__init__(http, backoff, timeout)
        self.base_url = base_url.rstrip("/")
        self.target = f"Zendesk at {_origin(self.base_url)}"
        self._auth = httpx.BasicAuth(f"{email}/token", api_token)

    async def _send(self, ticket: Ticket) -> httpx.Response:
        first_line = next((line.strip() for line in ticket.summary.splitlines() if line.strip()), ticket.category)
        if len(first_line) > 120:
            first_line = first_line[:119].rstrip() + "…"
        name = ticket.customer_name or ticket.customer_email.partition("@")[0]
        lines = [ticket.summary, "", f"Customer (address not verified): {name} <{ticket.customer_email}>"]
        lines += [f"Order: {ticket.order_number}"] if ticket.order_number else []
        lines += [f"Source: {ticket.source}"] if ticket.source else []
        # No `requester`: Zendesk emails a ticket's requester (receipt, every public reply), and this address is only
        # what a message's From header claimed. Anyone can forge a From, so making it the requester would mail our
        # colleagues' answers, order details included, to whoever forged it. The ticket is requested by the API
        # user (the agent whose token this is); the customer's address is in the comment, which is private
        # (`public: false`, an internal note) so nothing about the case is sent to anybody. A person checks the
        # sender and replies from the mailbox, or adds the verified customer as requester by hand.
        body = {
            "subject": f"[{ticket.category}] {first_line}",
            "comment": {"body": "\n".join([*lines, f"Support-agent ticket: {ticket.id}"]), "public": False},
            "priority": ticket.priority,
            "tags": ["support-agent", re.sub(r"[^a-z0-9]+", "_", ticket.category.lower()).strip("_") or "other"],
        }
        url, json_body, headers = (
            f"{self.base_url}/api/v2/tickets.json",
            {"ticket": body},
            {"Idempotency-Key": ticket.id},
        )
        return await self._http.post(url, json=json_body, auth=self._auth, headers=headers, timeout=self._timeout)

    def _accept(self, ticket: Ticket, response: httpx.Response) -> Ticket:
        status = response.status_code
        if status in (401, 403):
            raise TicketSinkError(
                f"{self.target} refused the email/API token (HTTP {status}): check SHOPIFY_ZENDESK_EMAIL and "
                "SHOPIFY_ZENDESK_API_TOKEN, and that token access is on in Admin Center > Apps and integrations > APIs"
            )
        if status == 422:
            raise TicketSinkError(f"Zendesk rejected ticket {ticket.id} as invalid: {_zendesk_problem(response)}")
        if not response.is_success:
            raise TicketSinkError(
                f"{self.target} answered HTTP {status} ({_zendesk_problem(response)}); check SHOPIFY_ZENDESK_SUBDOMAIN "
                "or SHOPIFY_ZENDESK_URL"
            )
        zendesk_id = _json_id(response, "ticket", "id")
        if zendesk_id is None:
            logger.warning("Ticket %s: Zendesk accepted it but returned no ticket id", ticket.id)
            return ticket
        url = f"{self.base_url}/agent/tickets/{zendesk_id}"
        return ticket.model_copy(update={"external_id": zendesk_id, "url": url})


def build_ticket_sink(settings: ShopifySettings, http: AsyncClient) -> TicketSink:
    """The sink `settings.ticket_sink` names, retrying as `max_retries`, `retry_base_delay`, `retry_max_delay` say.
    The local sink is a SQLite file, or PostgreSQL when SHOPIFY_TICKET_DB is a `postgresql://` URL."""
    backoff = RetryPolicy(
        base=settings.retry_base_delay, max_delay=settings.retry_max_delay, attempts=settings.max_retries + 1
    )
    if settings.ticket_sink == "local":
        if settings.ticket_db_url is not None:  # a shared PostgreSQL store (replicas), psycopg imported only now
            from shopify_mcp.ticket_store_pg import PostgresTicketStore

            return PostgresTicketStore(
                settings.ticket_db_url, connect_timeout=settings.timeout, statement_timeout=settings.timeout
            )
        assert settings.ticket_db_path is not None
        return LocalTicketSink(settings.ticket_db_path)
    if settings.ticket_sink == "webhook":
        if not (settings.ticket_webhook_url and settings.ticket_webhook_secret):
            raise ConfigError("SHOPIFY_TICKET_SINK=webhook needs SHOPIFY_TICKET_WEBHOOK_URL and _SECRET")
        secret = settings.ticket_webhook_secret.get_secret_value()
        return WebhookTicketSink(settings.ticket_webhook_url, secret, http, backoff, timeout=settings.timeout)
    subdomain = settings.zendesk_subdomain
    base_url = settings.zendesk_url or (f"https://{subdomain}.zendesk.com" if subdomain else None)
    if not (base_url and settings.zendesk_email and settings.zendesk_api_token):
        raise ConfigError(
            "SHOPIFY_TICKET_SINK=zendesk needs SHOPIFY_ZENDESK_SUBDOMAIN (or _URL), SHOPIFY_ZENDESK_EMAIL and "
            "SHOPIFY_ZENDESK_API_TOKEN"
        )
    token = settings.zendesk_api_token.get_secret_value()
    return ZendeskTicketSink(base_url, settings.zendesk_email, token, http, backoff, timeout=settings.timeout)
