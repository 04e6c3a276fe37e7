"""The Gmail mailbox's labels: names and ids, read once from Gmail, looked up by name and created when missing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gmail_mcp.backend import SYSTEM_LABELS
from gmail_mcp.errors import InvalidInputError, MailError

Call = Callable[[str, Callable[[], Any]], Awaitable[Any]]
"""Runs one Gmail request (method name, a function building it) with the backend's retries and error mapping."""


class GmailLabels:
    """The labels of one mailbox. System labels (INBOX, UNREAD, ...) are their own ids; user labels are read from
    Gmail on first use, matched by name without regard to case, and remembered as they are created."""

    def __init__(self, call: Call, labels_api: Any, user_id: str) -> None:
        """`labels_api`: the client's `users().labels()` resource, built once by the caller."""
        self._call = call
        self._api = labels_api
        self._user = user_id
        self._ids: dict[str, str] | None = None  # lower-case name -> id
        self._names: dict[str, str] = {}  # id -> name

    async def load(self, refresh: bool = False) -> dict[str, str]:
        """Lower-case label name -> id, read from Gmail the first time (and again with `refresh`)."""
        if self._ids is None or refresh:
            listing = await self._call("labels.list", lambda: self._api.list(userId=self._user))
            labels = listing.get("labels", [])
            self._ids = {str(label["name"]).lower(): str(label["id"]) for label in labels}
            self._names = {str(label["id"]): str(label["name"]) for label in labels}
        return self._ids

    def names(self, label_ids: list[str]) -> tuple[str, ...]:
        """The names of these label ids, as loaded; a system label, or an id not known, stays as it is."""
        return tuple(label if label in SYSTEM_LABELS else self._names.get(label, label) for label in label_ids)

    def known(self, name: str) -> bool:
        """Whether `name` is a system label or a user label already loaded."""
        return name.upper() in SYSTEM_LABELS or name.lower() in (self._ids or {})

    async def ids(self, names: list[str], create: bool) -> tuple[list[str], list[str]]:
        """The ids of these labels, and the names of those created (only with `create`); a label that does not exist
        and is not created is an `InvalidInputError`."""
        labels = await self.load()
        ids: list[str] = []
        created: list[str] = []
        for name in names:
            if name.upper() in SYSTEM_LABELS:
                ids.append(name.upper())
                continue
            found = labels.get(name.lower())
            if found is None and create:
                body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}
                try:
                    made = await self._call(
                        "labels.create",
                        lambda b=body: self._api.create(userId=self._user, body=b),  # type: ignore[misc]
                    )
                    found = str(made["id"])
                    created.append(name)
                except MailError:  # created concurrently elsewhere: read the list again
                    found = (await self.load(refresh=True)).get(name.lower())
                if found is not None:
                    labels[name.lower()] = found
                    self._names[found] = name
            if found is None:
                raise InvalidInputError(f"There is no label named {name!r}.")
            ids.append(found)
        return ids, created
