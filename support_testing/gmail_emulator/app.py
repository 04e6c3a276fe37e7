"""The emulator as an ASGI app: Gmail REST v1 and Google's token endpoint, with auth, faults, quota and a log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support_testing.gmail_emulator import api
from support_testing.gmail_emulator.errors import ApiError, forbidden, invalid_argument, not_found, unauthenticated
from support_testing.gmail_emulator.faults import TOKEN_METHOD, Fault, FaultPlan
from support_testing.gmail_emulator.history import HISTORY_START, HistoryLog
from support_testing.gmail_emulator.mailbox import InternalDate, Mailbox, StoredMessage
from support_testing.gmail_emulator.quota import QUOTA_UNITS, RequestRecord, UserQuota
from support_testing.gmail_emulator.tokens import EMULATOR_TOKEN, TOKEN_TTL, TokenAuthority, bearer_token
from support_testing.stall import stall

logger = logging.getLogger(__name__)

DEFAULT_ADDRESS = "support@aurora-activewear.example"
SEND_METHODS = frozenset({"users.messages.send", "users.drafts.send"})
_JSON = "application/json; charset=UTF-8"
_USERS = "/gmail/v1/users/{userId}"
_ROUTES: tuple[tuple[str, str, str, api.Handler], ...] = (
    ("GET", "/profile", "users.getProfile", api.get_profile),
    ("POST", "/messages/send", "users.messages.send", api.refuse_send),
    ("POST", "/messages/batchModify", "users.messages.batchModify", api.batch_modify),
    ("GET", "/messages", "users.messages.list", api.list_messages),
    ("POST", "/messages", "users.messages.insert", api.insert_message),
    ("GET", "/messages/{id}", "users.messages.get", api.get_message),
    ("POST", "/messages/{id}/modify", "users.messages.modify", api.modify_message),
    ("GET", "/messages/{messageId}/attachments/{id}", "users.messages.attachments.get", api.get_attachment),
    ("GET", "/threads/{id}", "users.threads.get", api.get_thread),
    ("POST", "/drafts/send", "users.drafts.send", api.refuse_send),
    ("GET", "/drafts", "users.drafts.list", api.list_drafts),
    ("POST", "/drafts", "users.drafts.create", api.create_draft),
    ("GET", "/drafts/{id}", "users.drafts.get", api.get_draft),
    ("GET", "/labels", "users.labels.list", api.list_labels),
    ("POST", "/labels", "users.labels.create", api.create_label),
    ("GET", "/labels/{id}", "users.labels.get", api.get_label),
    ("GET", "/history", "users.history.list", api.list_history),
)
_ALL_VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class SendAttempt:
    """A request to send mail (always refused). `body` is the request body exactly as received."""

    timestamp: float
    method: str
    path: str
    body: bytes


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(content, status_code=status, headers=headers, media_type=_JSON)


class GmailEmulator:
    """A loopback Gmail API for one mailbox. State for tests: `mailbox`, `tokens`, `faults`, `requests`,
    `send_attempts`. `clock` (wall-clock seconds) drives internal dates, relative searches and token expiry.
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        access_tokens: Iterable[str] = (EMULATOR_TOKEN,),
        refresh_tokens: Iterable[str] | None = None,
        revoked_refresh_tokens: Iterable[str] = (),
        clients: Mapping[str, str] | None = None,
        token_ttl: int = TOKEN_TTL,
        history_retention: int | None = None,
        history_start: int = HISTORY_START,
        strict_threading: bool = False,
        user_quota_per_minute: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        history = HistoryLog(history_start, history_retention)
        self.mailbox = Mailbox(address, history=history, clock=clock, strict_threading=strict_threading)
        self.tokens = TokenAuthority(
            access_tokens=access_tokens,
            refresh_tokens=refresh_tokens,
            revoked_refresh_tokens=revoked_refresh_tokens,
            clients=clients,
            ttl=token_ttl,
            clock=clock,
        )
        self.quota = None if user_quota_per_minute is None else UserQuota(user_quota_per_minute, clock)
        self.faults = FaultPlan()
        self.requests: list[RequestRecord] = []
        self.send_attempts: list[SendAttempt] = []
        routes = [
            Route(_USERS + path, self._endpoint(name, handler), methods=[verb]) for verb, path, name, handler in _ROUTES
        ]
        for name in sorted(SEND_METHODS):  # media-upload form of the send methods: refused and recorded too
            path = "/messages/send" if name == "users.messages.send" else "/drafts/send"
            routes.append(Route("/upload" + _USERS + path, self._endpoint(name, api.refuse_send), methods=["POST"]))
        routes.append(Route("/token", self._token, methods=["POST"]))
        routes.append(Route("/{path:path}", self._unknown, methods=_ALL_VERBS))
        self.app = Starlette(routes=routes)

    # --- the Python side tests use ---

    @property
    def address(self) -> str:
        return self.mailbox.address

    def deliver(
        self, raw: bytes, labels: Iterable[str] = ("INBOX", "UNREAD"), internal_date: InternalDate = None
    ) -> str:
        """Put received mail in (labels by id or name); threaded like Gmail; records `messageAdded`."""
        return self.mailbox.deliver(raw, labels, internal_date)

    def create_label(self, name: str) -> str:
        return self.mailbox.labels.create({"name": name}).id

    def label_id(self, name: str) -> str:
        return self.mailbox.labels.resolve(name).id

    def message(self, message_id: str) -> StoredMessage:
        return self.mailbox.get(message_id)

    @property
    def history_id(self) -> int:
        return self.mailbox.history.current

    def expire_history(self, before: int | None = None) -> None:
        """History up to `before` (default: all so far) is gone: older start ids get 404."""
        self.mailbox.history.expire(before)

    @property
    def total_units(self) -> int:
        return sum(record.units for record in self.requests)

    def units_by_method(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for record in self.requests:
            if record.method is not None and record.units:
                totals[record.method] = totals.get(record.method, 0) + record.units
        return totals

    # --- HTTP ---

    def _endpoint(self, method: str, handler: api.Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            started, stamp = time.monotonic(), self.clock()
            raw_body = await request.body()
            if method in SEND_METHODS:
                self.send_attempts.append(SendAttempt(stamp, method, request.url.path, raw_body))
                logger.warning("Refused %s: the emulator never sends mail", method)
            fault = self.faults.take(method)
            if fault is not None and fault.kind == "delay" and not await stall(request, fault.seconds):
                return Response(status_code=499)  # the client hung up (timed out): nobody reads it, nothing is logged
            units = 0
            try:
                self._admit(request, fault)
                units = QUOTA_UNITS.get(method, 0)
                if self.quota is not None and not self.quota.charge(units):
                    units = 0
                    raise ApiError(429, "User-rate limit exceeded. Retry after a minute.", "rateLimitExceeded")
                body = None if method in SEND_METHODS else _json_body(raw_body)  # refused whatever the body
                call = api.Call(request.query_params, request.path_params, body)
                result = handler(self.mailbox, call)
                response = Response(status_code=204) if result is None else _json(result)
            except ApiError as error:
                response = self._error(error, fault)
            self._log(request, method, response.status_code, units, fault, stamp, started)
            return response

        return endpoint

    def _admit(self, request: Request, fault: Fault | None) -> None:
        """Injected faults answer first (as Google's front end would), then the token, then the user id."""
        if fault is not None and fault.kind == "status":
            raise fault.error()
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise unauthenticated(missing=True)
        if not self.tokens.valid(token):
            raise unauthenticated(missing=False)
        user = request.path_params.get("userId", "me")
        if user != "me" and user.lower() != self.address.lower():
            raise forbidden(f"Delegation denied for {user}")

    def _error(self, error: ApiError, fault: Fault | None) -> Response:
        headers: dict[str, str] = {}
        if error.code == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        if fault is not None and fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        return _json(error.body(), error.code, headers)

    async def _token(self, request: Request) -> Response:
        started, stamp = time.monotonic(), self.clock()
        body = (await request.body()).decode("utf-8", errors="replace")
        fault = self.faults.take(TOKEN_METHOD)
        if fault is not None and fault.kind == "delay" and not await stall(request, fault.seconds):
            return Response(status_code=499)
        if fault is not None and fault.kind == "status":
            response = self._error(fault.error(), fault)
        else:
            status, answer = self.tokens.exchange(dict(parse_qsl(body)))
            response = _json(answer, status, {"Cache-Control": "no-store"})
        self._log(request, TOKEN_METHOD, response.status_code, 0, fault, stamp, started)
        return response

    async def _unknown(self, request: Request) -> Response:
        stamp, path = self.clock(), request.url.path
        error = not_found(f"The Gmail emulator does not implement {request.method} {path}.")
        self._log(request, None, 404, 0, None, stamp, time.monotonic())
        return _json(error.body(), 404)

    def _log(
        self,
        request: Request,
        method: str | None,
        status: int,
        units: int,
        fault: Fault | None,
        stamp: float,
        started: float,
    ) -> None:
        record = RequestRecord(
            timestamp=stamp,
            http_method=request.method,
            path=request.url.path,
            method=method,
            status=status,
            units=units,
            fault=None if fault is None else fault.describe(),
            duration=time.monotonic() - started,
        )
        self.requests.append(record)
        logger.debug("%s %s (%s) -> %s, %s units", record.http_method, record.path, method, status, units)


def _json_body(raw: bytes) -> Any:
    """The parsed JSON body (None when empty); Google's 400 for anything that is not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid_argument(f"Invalid JSON payload received. {exc}") from None
