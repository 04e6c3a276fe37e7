"""The mailbox's labels: Gmail's system labels plus user labels with ids like `Label_3`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from support_testing.gmail_emulator.errors import already_exists, invalid_argument

SYSTEM_LABELS = (
    "INBOX",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "SENT",
    "DRAFT",
    "CHAT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
_SEARCH_SEPARATORS = re.compile(r"[\s/\-_]+")
_VISIBILITY = {
    "messageListVisibility": ("show", "hide"),
    "labelListVisibility": ("labelShow", "labelShowIfUnread", "labelHide"),
}


@dataclass(slots=True)
class Label:
    """One label as `users.labels` returns it."""

    id: str
    name: str
    type: str
    message_list_visibility: str | None = None
    label_list_visibility: str | None = None

    def resource(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.message_list_visibility:
            body["messageListVisibility"] = self.message_list_visibility
        if self.label_list_visibility:
            body["labelListVisibility"] = self.label_list_visibility
        return body


def search_form(name: str) -> str:
    """How search names a label: lowercase, with spaces, slashes, dashes and underscores all as `-`."""
    return _SEARCH_SEPARATORS.sub("-", name.strip().lower())


class LabelStore:
    """System labels (id == name) and user labels; user label ids count up from `Label_1`."""

    def __init__(self) -> None:
        self._labels: dict[str, Label] = {name: Label(name, name, "system") for name in SYSTEM_LABELS}
        self._next = 1

    def all(self) -> list[Label]:
        return list(self._labels.values())

    def get(self, label_id: str) -> Label | None:
        return self._labels.get(label_id)

    def by_name(self, name: str) -> Label | None:
        """A label by its exact name, ignoring case."""
        wanted = name.casefold()
        return next((label for label in self._labels.values() if label.name.casefold() == wanted), None)

    def for_search(self, term: str) -> Label | None:
        """The label a search term (`label:support-escalated`, `label:"Support/Escalated"`) refers to."""
        wanted = search_form(term)
        return next((label for label in self._labels.values() if search_form(label.name) == wanted), None)

    def resolve(self, id_or_name: str) -> Label:
        """For the emulator's own Python API: a label id, or a label name."""
        label = self.get(id_or_name) or self.by_name(id_or_name)
        if label is None:
            raise KeyError(f"no label with id or name {id_or_name!r}")
        return label

    def create(self, body: dict[str, Any]) -> Label:
        """`users.labels.create`: 400 for an empty or reserved name, 409 when the name exists (any case)."""
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid_argument("Invalid label name")
        name = name.strip()
        if name.upper() in SYSTEM_LABELS:
            raise invalid_argument("Invalid label name")
        if self.by_name(name) is not None:
            raise already_exists("Label name exists or conflicts")
        for key, allowed in _VISIBILITY.items():
            if key in body and body[key] not in allowed:
                raise invalid_argument(f"Invalid value for {key}: {body[key]!r}")
        label = Label(
            f"Label_{self._next}",
            name,
            "user",
            body.get("messageListVisibility", "show"),
            body.get("labelListVisibility", "labelShow"),
        )
        self._next += 1
        self._labels[label.id] = label
        return label
