"""The Gmail backend: google-api-python-client in worker threads (one HTTP object each), with retries that back off.

Quota units per tool (Google's table): get_message is one messages.get (5); get_thread one threads.get in
`format=full` (10), whatever the thread's length; a poll is one history.list (2) whose records already name each new
message's thread, so nothing is fetched per new message. The API's resource objects are built once: requests are
built on the event loop's thread only, and executed in worker threads each with its own `httplib2.Http` (httplib2 is
not thread-safe), so sharing the resources between calls is safe.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from gmail_mcp.backend import Changes, DraftRecord, RawMessage
from gmail_mcp.credentials import save_credentials
from gmail_mcp.errors import (
    ConfigError,
    InvalidInputError,
    MailboxUnavailableError,
    MailError,
    MessageNotFoundError,
    ReauthorizationRequired,
)
from gmail_mcp.gmail_labels import GmailLabels
from gmail_mcp.gmail_payload import payload_bytes
from support_core.addresses import normalise_address
from support_core.retry import RetriesExhausted, RetryPolicy, TransientError, call_with_retries, retry_after_seconds

logger = logging.getLogger(__name__)

RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})
REAUTHORISE = (
    "Google refused the saved Gmail authorisation ({detail}): the refresh token was revoked or has expired (apps "
    "left in 'Testing' status get tokens that expire after 7 days). Run `gmail-mcp auth` again."
)
ITEM_KINDS = {
    "messages.get": "message",
    "messages.modify": "message",
    "messages.batchModify": "message",
    "threads.get": "thread",
    "drafts.get": "draft",
    "drafts.create": "thread",
}
"""Methods that name a message, thread or draft, and what a 404 from Gmail about it means is missing."""
BATCH_THRESHOLD = 10
"""Label changes for more messages than this use one batchModify (50 quota units) instead of one modify each (5)."""


def b64url_decode(data: str) -> bytes:
    """Gmail's base64url, which sometimes comes without padding."""
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _error_body(error: HttpError) -> dict[str, Any] | None:
    """The `error` object of Google's JSON error answer (`code`, `message`, `errors`, `status`), if that is the body."""
    try:
        details = json.loads(error.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return None
    body = details.get("error") if isinstance(details, dict) else None
    return body if isinstance(body, dict) else None


def _reason(error: HttpError) -> str | None:
    body = _error_body(error)
    errors = body.get("errors") if body is not None else None
    first = errors[0] if isinstance(errors, list) and errors else None
    return str(first["reason"]) if isinstance(first, dict) and "reason" in first else None


class GmailApiBackend:
    """`MailBackend` over the Gmail REST API. Each worker thread gets its own authorised `httplib2.Http`."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        token_path: Path | None = None,
        api_endpoint: str | None = None,
        user_id: str = "me",
        timeout: float = 30.0,
        backoff: RetryPolicy | None = None,
    ) -> None:
        self._credentials = credentials
        self._token_path = token_path
        self._saved_token = credentials.token
        self._user = user_id
        self._timeout = timeout
        self._retry = backoff or RetryPolicy()
        self._api_endpoint = api_endpoint
        options = {"api_endpoint": api_endpoint.rstrip("/") + "/"} if api_endpoint else None
        self._service: Any = build(
            "gmail", "v1", credentials=credentials, client_options=options, static_discovery=True, cache_discovery=False
        )
        # Building a resource walks the discovery document (it was most of this server's CPU): once, here.
        users = self._service.users()
        self._user_api: Any = users
        self._messages: Any = users.messages()
        self._threads: Any = users.threads()
        self._drafts: Any = users.drafts()
        self._history_api: Any = users.history()
        self._local = threading.local()
        self._https: list[httplib2.Http] = []
        self._https_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._labels = GmailLabels(self._call, users.labels(), user_id)
        self._address: str | None = None
        self.calls = 0

    # --- plumbing ------------------------------------------------------------------------------------------

    def _http(self) -> google_auth_httplib2.AuthorizedHttp:
        authorized: google_auth_httplib2.AuthorizedHttp | None = getattr(self._local, "http", None)
        if authorized is None:
            raw = httplib2.Http(timeout=self._timeout)
            with self._https_lock:
                self._https.append(raw)
            authorized = google_auth_httplib2.AuthorizedHttp(self._credentials, http=raw)
            self._local.http = authorized
        return authorized

    def _execute(self, request: Any) -> Any:
        """Runs in a worker thread: refresh the token if needed (once for all threads), then execute."""
        if not self._credentials.valid:
            with self._refresh_lock:
                if not self._credentials.valid:
                    self._credentials.refresh(google_auth_httplib2.Request(self._http().http))  # type: ignore[no-untyped-call]
        result = request.execute(http=self._http())
        if self._token_path is not None and self._credentials.token != self._saved_token:
            self._saved_token = self._credentials.token
            save_credentials(self._credentials, self._token_path)
        return result

    async def _call(self, method: str, build_request: Callable[[], Any]) -> Any:
        """Execute with retries on 429, 403 rate limits, 5xx, timeouts and connection errors."""
        try:
            return await call_with_retries(
                lambda: self._attempt(method, build_request), self._retry, label=f"Gmail {method}", logger=logger
            )
        except RetriesExhausted as exhausted:
            raise MailboxUnavailableError(
                f"Gmail did not answer {method} after {exhausted.attempts_text} ({exhausted.problem}). Try again later."
            ) from None

    async def _attempt(self, method: str, build_request: Callable[[], Any]) -> Any:
        """One execution: the answer, `TransientError` when worth another attempt, or the `MailError` it means."""
        self.calls += 1
        try:
            return await anyio.to_thread.run_sync(self._execute, build_request())
        except RefreshError as exc:
            if "invalid_grant" not in str(exc) and exc.retryable:  # Google's token endpoint failing, not refusing
                raise TransientError("the token refresh failed") from None
            detail = "invalid_grant" if "invalid_grant" in str(exc) else type(exc).__name__
            raise ReauthorizationRequired(REAUTHORISE.format(detail=detail)) from None
        except HttpError as exc:
            raise self._refusal(method, exc) from None
        except (TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise TransientError(type(exc).__name__) from None

    def _refusal(self, method: str, exc: HttpError) -> Exception:
        """What a Gmail error answer means: a `TransientError` to retry, or the `MailError` to raise."""
        status = int(exc.resp.status)
        reason = _reason(exc)
        if status == 404:
            return self._not_found(method, exc)
        if status == 401:
            return ReauthorizationRequired(REAUTHORISE.format(detail="HTTP 401"))
        if status == 400:
            return InvalidInputError(f"Gmail refused {method}: {exc.reason}")
        if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS):
            retry_after = retry_after_seconds(exc.resp.get("retry-after"))
            return TransientError(f"HTTP {status}{f' {reason}' if reason else ''}", retry_after=retry_after)
        return MailError(f"Gmail refused {method} (HTTP {status}, {reason or exc.reason}).")

    def _not_found(self, method: str, exc: HttpError) -> MailError:
        """A 404 is about a message, thread or draft only when Gmail said so, in its JSON error, for a method that
        names one; otherwise the request went to an address that is not the Gmail API (a wrong endpoint)."""
        body = _error_body(exc)
        said_not_found = body is not None and (_reason(exc) == "notFound" or body.get("status") == "NOT_FOUND")
        if said_not_found and method == "history.list":
            return MessageNotFoundError("Gmail no longer has history from that point (history.list): sync in full.")
        if said_not_found and method in ITEM_KINDS:
            return MessageNotFoundError(f"Gmail has no such {ITEM_KINDS[method]} ({method}): it may have been deleted.")
        if self._api_endpoint:
            parts = urlsplit(self._api_endpoint)
            where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"  # no user:password@
            return ConfigError(
                f"Gmail answered 404 for {method}: there is no Gmail API at {where}; check "
                "GMAIL_API_ENDPOINT (the API root, e.g. https://gmail.googleapis.com/)."
            )
        return MailError(
            f"Gmail answered 404 for {method}: the Gmail API address was not found; upgrade "
            "google-api-python-client, whose discovery document names it."
        )

    # --- MailBackend -------------------------------------------------------------------------------------------

    async def address(self) -> str:
        if self._address is None:
            profile = await self._call("getProfile", lambda: self._user_api.getProfile(userId=self._user))
            self._address = normalise_address(str(profile["emailAddress"]))
        return self._address

    async def changes(self, cursor: str | None, *, fallback_query: str, limit: int) -> Changes:
        if cursor and cursor.isdigit():
            try:
                return await self._history(cursor, limit)
            except MessageNotFoundError:
                logger.info("Gmail history cursor is too old; falling back to a query")
        profile = await self._call("getProfile", lambda: self._user_api.getProfile(userId=self._user))
        found, _ = await self._list(fallback_query, limit=limit, page_token=None)
        return Changes(
            message_ids=[m for m, _ in reversed(found)],
            cursor=str(profile["historyId"]),
            full_sync=True,
            thread_ids=dict(found),
        )

    async def _history(self, cursor: str, limit: int) -> Changes:
        ids: list[str] = []
        threads: dict[str, str] = {}  # a record names each added message's thread: no get is needed
        page: str | None = None
        new_cursor = cursor
        while True:
            response = await self._call(
                "history.list",
                lambda p=page: self._history_api.list(  # type: ignore[misc]
                    userId=self._user,
                    startHistoryId=cursor,
                    historyTypes=["messageAdded"],
                    labelId="INBOX",
                    maxResults=500,
                    pageToken=p,
                ),
            )
            for record in response.get("history", []):
                added = [m["message"] for m in record.get("messagesAdded", [])]
                fresh = [m for m in added if "INBOX" in m.get("labelIds", []) and str(m["id"]) not in threads]
                if len(ids) + len(fresh) > limit:
                    return Changes(message_ids=ids, cursor=new_cursor, full_sync=False, thread_ids=threads)
                for message in fresh:
                    ids.append(str(message["id"]))
                    threads[str(message["id"])] = str(message.get("threadId", ""))
                new_cursor = str(record["id"])
            page = response.get("nextPageToken")
            if not page:
                cursor_now = str(response.get("historyId", new_cursor))
                return Changes(message_ids=ids, cursor=cursor_now, full_sync=False, thread_ids=threads)

    async def search(self, query: str, *, limit: int, page_token: str | None = None) -> tuple[list[str], str | None]:
        found, next_token = await self._list(query, limit=limit, page_token=page_token)
        return [message_id for message_id, _ in found], next_token

    async def _list(self, query: str, *, limit: int, page_token: str | None) -> tuple[list[tuple[str, str]], Any]:
        """(message id, thread id) pairs matching `query`, newest first, and the next page's token (or None)."""
        response = await self._call(
            "messages.list",
            lambda: self._messages.list(userId=self._user, q=query, maxResults=limit, pageToken=page_token),
        )
        found = [(str(m["id"]), str(m.get("threadId", ""))) for m in response.get("messages", [])]
        return found, response.get("nextPageToken")

    async def fetch(self, message_id: str) -> RawMessage:
        await self._labels.load()
        data = await self._call(
            "messages.get", lambda: self._messages.get(userId=self._user, id=message_id, format="raw")
        )
        return self._raw_message(data)

    def _raw_message(self, data: dict[str, Any]) -> RawMessage:
        received = datetime.fromtimestamp(int(data.get("internalDate", "0")) / 1000, UTC)
        return RawMessage(
            id=str(data["id"]),
            thread_id=str(data["threadId"]),
            labels=self._labels.names(list(data.get("labelIds", []))),
            raw=b64url_decode(str(data.get("raw", ""))),
            internal_date=received,
        )

    async def fetch_thread(self, thread_id: str) -> list[RawMessage]:
        """One threads.get in `format=full` (10 units for the whole thread; `threads.get` has no raw format): each
        message's bytes are rebuilt from its part tree (`RawMessage.rebuilt`, see `gmail_payload`)."""
        thread = await self._call(
            "threads.get", lambda: self._threads.get(userId=self._user, id=thread_id, format="full")
        )
        await self._labels.load()  # label ids to names (read once)
        found = [self._full_message(data) for data in thread.get("messages", [])]
        return sorted(found, key=lambda m: m.internal_date)

    def _full_message(self, data: dict[str, Any]) -> RawMessage:
        payload = data.get("payload")
        return RawMessage(
            id=str(data["id"]),
            thread_id=str(data["threadId"]),
            labels=self._labels.names(list(data.get("labelIds", []))),
            raw=payload_bytes(payload if isinstance(payload, dict) else {}),
            internal_date=datetime.fromtimestamp(int(data.get("internalDate", "0")) / 1000, UTC),
            rebuilt=True,
        )

    async def create_draft(self, thread_id: str | None, raw: bytes) -> DraftRecord:
        message: dict[str, Any] = {"raw": b64url_encode(raw)}
        if thread_id:
            message["threadId"] = thread_id
        draft = await self._call(
            "drafts.create", lambda: self._drafts.create(userId=self._user, body={"message": message})
        )
        stored = draft["message"]
        record = RawMessage(
            id=str(stored["id"]),
            thread_id=str(stored.get("threadId", thread_id or "")),
            labels=("DRAFT",),
            raw=raw,
            internal_date=datetime.now(UTC),
        )
        return DraftRecord(id=str(draft["id"]), message=record)

    async def list_drafts(self, *, limit: int) -> list[DraftRecord]:
        await self._labels.load()
        listing = await self._call("drafts.list", lambda: self._drafts.list(userId=self._user, maxResults=limit))
        drafts: list[DraftRecord] = []
        for entry in listing.get("drafts", []):
            full = await self._call(
                "drafts.get",
                lambda d=entry["id"]: self._drafts.get(userId=self._user, id=d, format="raw"),  # type: ignore[misc]
            )
            drafts.append(DraftRecord(id=str(full["id"]), message=self._raw_message(full["message"])))
        return drafts

    async def draft_id(self, message_id: str) -> str:
        page_token: str | None = None
        for _ in range(50):  # 500 drafts per page: a mailbox with more than 25,000 drafts is not a support inbox
            listing = await self._call(
                "drafts.list",
                lambda t=page_token: self._drafts.list(userId=self._user, maxResults=500, pageToken=t),  # type: ignore[misc]
            )
            for entry in listing.get("drafts", []):
                if str(entry.get("message", {}).get("id")) == message_id:
                    return str(entry["id"])
            page_token = listing.get("nextPageToken")
            if not page_token:
                break
        raise MessageNotFoundError(f"No draft holds message {message_id}; it may have been sent or deleted meanwhile.")

    async def modify(self, message_ids: list[str], *, add: list[str], remove: list[str]) -> list[str]:
        add_ids, created = await self._labels.ids(add, create=True)
        remove_ids, _ = await self._labels.ids([n for n in remove if self._labels.known(n)], create=False)
        body = {"addLabelIds": add_ids, "removeLabelIds": remove_ids}
        if len(message_ids) > BATCH_THRESHOLD:
            for start in range(0, len(message_ids), 1000):
                chunk = {**body, "ids": message_ids[start : start + 1000]}
                await self._call(
                    "messages.batchModify",
                    lambda c=chunk: self._messages.batchModify(userId=self._user, body=c),  # type: ignore[misc]
                )
        else:
            for message_id in message_ids:
                await self._call(
                    "messages.modify",
                    lambda m=message_id: self._messages.modify(userId=self._user, id=m, body=body),  # type: ignore[misc]
                )
        return created

    async def aclose(self) -> None:
        with self._https_lock:
            for http in self._https:
                http.close()
            self._https.clear()
