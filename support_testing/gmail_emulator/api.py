"""The Gmail REST methods over a `Mailbox`: parameters in, Gmail's JSON resources out (HTTP is `app.py`'s job)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from support_testing.gmail_emulator import mime
from support_testing.gmail_emulator.errors import ApiError, invalid_argument, not_found
from support_testing.gmail_emulator.history import HISTORY_TYPES, StaleHistory
from support_testing.gmail_emulator.mailbox import Mailbox, StoredMessage, date_header

MESSAGE_FORMATS = ("full", "metadata", "minimal", "raw")
THREAD_FORMATS = ("full", "metadata", "minimal")
DEFAULT_PAGE = 100
MAX_PAGE = 500
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: query parameters (repeatable), path parameters and the JSON body (None for GET)."""

    query: QueryParams
    path: Mapping[str, str]
    body: Any = None


Handler = Callable[[Mailbox, Call], dict[str, Any] | None]


def message_resource(message: StoredMessage, fmt: str, metadata_headers: Sequence[str] = ()) -> dict[str, Any]:
    """A Message in `fmt`; empty `labelIds`/`snippet` are left out, as Gmail leaves out empty fields."""
    body: dict[str, Any] = {"id": message.id, "threadId": message.thread_id}
    if message.label_ids:
        body["labelIds"] = list(message.label_ids)
    snippet = mime.snippet_of(message.facts.text)
    if snippet:
        body["snippet"] = snippet
    body |= {
        "sizeEstimate": len(message.raw),
        "historyId": str(message.history_id),
        "internalDate": str(message.internal_date),
    }
    if fmt == "full":
        body["payload"] = mime.payload(message.parsed, message.id)
    elif fmt == "metadata":
        only = {name.lower() for name in metadata_headers} or None
        body["payload"] = mime.metadata_payload(message.parsed, only)
    elif fmt == "raw":
        body["raw"] = mime.b64url(message.raw)
    return body


def _short(message: StoredMessage) -> dict[str, Any]:
    return {"id": message.id, "threadId": message.thread_id, "labelIds": list(message.label_ids)}


def _format(call: Call, allowed: Sequence[str]) -> str:
    fmt = call.query.get("format", "full")
    if fmt not in allowed:
        raise invalid_argument(f"Invalid value at 'format' ({fmt!r}): expected one of {', '.join(allowed)}")
    return fmt


def _flag(call: Call, name: str) -> bool:
    return call.query.get(name, "false").lower() == "true"


def _strings(body: Any, key: str) -> list[str]:
    value = body.get(key, []) if isinstance(body, dict) else []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_argument(f"Invalid value for {key}: expected a list of strings")
    return value


def _page(items: Sequence[Any], call: Call) -> tuple[Sequence[Any], str | None]:
    """The page `pageToken`/`maxResults` select (default 100, at most 500) and the next page's token."""
    try:
        size = min(int(call.query.get("maxResults", DEFAULT_PAGE)), MAX_PAGE)
    except ValueError:
        raise invalid_argument("Invalid value for maxResults: expected an integer") from None
    if size < 1:
        raise invalid_argument("Invalid value for maxResults: it must be at least 1")
    token = call.query.get("pageToken")
    offset = 0
    if token:
        try:
            offset = int(mime.b64url_decode(token).decode().removeprefix("page:"))
        except (ValueError, UnicodeDecodeError):
            raise invalid_argument("Invalid pageToken") from None
    end = offset + size
    return items[offset:end], (mime.b64url(f"page:{end}".encode()) if end < len(items) else None)


def _raw(body: Any) -> bytes:
    raw = body.get("raw") if isinstance(body, dict) else None
    if not isinstance(raw, str) or not raw:
        raise invalid_argument("Missing message: 'raw' must hold the RFC 822 message as base64url")
    try:
        return mime.b64url_decode(raw)
    except ValueError as exc:
        raise invalid_argument(f"Invalid value for 'raw': {exc}") from None


def get_profile(box: Mailbox, call: Call) -> dict[str, Any]:
    return {
        "emailAddress": box.address,
        "messagesTotal": len(box.messages),
        "threadsTotal": box.threads_total(),
        "historyId": str(box.history.current),
    }


def list_messages(box: Mailbox, call: Call) -> dict[str, Any]:
    found = box.search(call.query.get("q", ""), call.query.getlist("labelIds"), _flag(call, "includeSpamTrash"))
    page, token = _page(found, call)
    body: dict[str, Any] = {}
    if page:
        body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
    if token:
        body["nextPageToken"] = token
    body["resultSizeEstimate"] = len(found)
    return body


def get_message(box: Mailbox, call: Call) -> dict[str, Any]:
    fmt = _format(call, MESSAGE_FORMATS)
    return message_resource(box.get(call.path["id"]), fmt, call.query.getlist("metadataHeaders"))


def modify_message(box: Mailbox, call: Call) -> dict[str, Any]:
    message = box.get(call.path["id"])
    box.modify([message.id], _strings(call.body, "addLabelIds"), _strings(call.body, "removeLabelIds"))
    return _short(message)


def batch_modify(box: Mailbox, call: Call) -> None:
    ids = _strings(call.body, "ids")
    if not ids:
        raise invalid_argument("ids must name at least one message")
    if len(ids) > MAX_BATCH:
        raise invalid_argument(f"Too many ids: at most {MAX_BATCH} per request, got {len(ids)}")
    box.modify(ids, _strings(call.body, "addLabelIds"), _strings(call.body, "removeLabelIds"))


def insert_message(box: Mailbox, call: Call) -> dict[str, Any]:
    raw = _raw(call.body)
    label_ids = _strings(call.body, "labelIds")
    box.check_labels(label_ids)
    facts = mime.describe(mime.parse(raw))
    asked = call.body.get("threadId") if isinstance(call.body, dict) else None
    thread = box.keeps_thread(asked, facts) if asked else box.thread_for(facts)
    date = date_header(mime.parse(raw)) if call.query.get("internalDateSource") == "dateHeader" else None
    return _short(box.store(raw, label_ids, date, thread))


def get_attachment(box: Mailbox, call: Call) -> dict[str, Any]:
    message = box.get(call.path["messageId"])
    named = mime.attachment_part(call.path["id"])
    if named is None or named[0] != message.id:
        raise invalid_argument("Invalid attachment token")
    part = dict(mime.walk(message.parsed)).get(named[1])
    if part is None:
        raise not_found()
    data = mime.body_bytes(part)
    return {"attachmentId": call.path["id"], "size": len(data), "data": mime.b64url(data)}


def get_thread(box: Mailbox, call: Call) -> dict[str, Any]:
    fmt = _format(call, THREAD_FORMATS)
    members = box.thread(call.path["id"])
    if not members:
        raise not_found()
    headers = call.query.getlist("metadataHeaders")
    return {
        "id": call.path["id"],
        "historyId": str(max(m.history_id for m in members)),
        "messages": [message_resource(m, fmt, headers) for m in members],
    }


def create_draft(box: Mailbox, call: Call) -> dict[str, Any]:
    message = call.body.get("message") if isinstance(call.body, dict) else None
    if not isinstance(message, dict):
        raise invalid_argument("Missing draft message: send {'message': {'raw': <base64url>, 'threadId': ...}}")
    thread_id = message.get("threadId")
    draft_id, stored = box.create_draft(_raw(message), thread_id if isinstance(thread_id, str) else None)
    return {"id": draft_id, "message": _short(stored)}


def list_drafts(box: Mailbox, call: Call) -> dict[str, Any]:
    draft_of = {message_id: draft_id for draft_id, message_id in box.drafts.items()}
    found = [m for m in box.search(call.query.get("q", ""), (), _flag(call, "includeSpamTrash")) if m.id in draft_of]
    page, token = _page(found, call)
    body: dict[str, Any] = {}
    if page:
        body["drafts"] = [{"id": draft_of[m.id], "message": {"id": m.id, "threadId": m.thread_id}} for m in page]
    if token:
        body["nextPageToken"] = token
    body["resultSizeEstimate"] = len(found)
    return body


def get_draft(box: Mailbox, call: Call) -> dict[str, Any]:
    fmt = _format(call, MESSAGE_FORMATS)
    return {"id": call.path["id"], "message": message_resource(box.draft(call.path["id"]), fmt)}


def list_labels(box: Mailbox, call: Call) -> dict[str, Any]:
    return {"labels": [label.resource() for label in box.labels.all()]}


def get_label(box: Mailbox, call: Call) -> dict[str, Any]:
    label = box.labels.get(call.path["id"])
    if label is None:
        raise not_found()
    carrying = [m for m in box.messages.values() if label.id in m.label_ids]
    unread = [m for m in carrying if "UNREAD" in m.label_ids]
    return label.resource() | {
        "messagesTotal": len(carrying),
        "messagesUnread": len(unread),
        "threadsTotal": len({m.thread_id for m in carrying}),
        "threadsUnread": len({m.thread_id for m in unread}),
    }


def create_label(box: Mailbox, call: Call) -> dict[str, Any]:
    return box.labels.create(call.body if isinstance(call.body, dict) else {}).resource()


def list_history(box: Mailbox, call: Call) -> dict[str, Any]:
    start_text = call.query.get("startHistoryId")
    if not start_text:
        raise invalid_argument("Missing required parameter: startHistoryId")
    try:
        start = int(start_text)
    except ValueError:
        raise invalid_argument(f"Invalid startHistoryId: {start_text!r}") from None
    types = call.query.getlist("historyTypes")
    unknown = [t for t in types if t not in HISTORY_TYPES]
    if unknown:
        raise invalid_argument(f"Invalid historyTypes: {', '.join(unknown)}")
    label_id = call.query.get("labelId")
    try:
        records = box.history.since(start)
    except StaleHistory:
        raise not_found() from None
    records = [r for r in records if (not types or r.type in types) and (not label_id or r.touches(label_id))]
    page, token = _page(records, call)
    body: dict[str, Any] = {}
    if page:
        body["history"] = [record.resource() for record in page]
    if token:
        body["nextPageToken"] = token
    body["historyId"] = str(box.history.current)
    return body


def refuse_send(box: Mailbox, call: Call) -> None:
    raise ApiError(
        403,
        "Sending is disabled in the Gmail emulator: support-agent only ever writes drafts for a person to send.",
        "forbidden",
    )
