"""Gmail labels on a Maildir: the labels a file shows, and the folder and flags a label change gives it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gmail_mcp.errors import InvalidInputError
from gmail_mcp.maildir_files import ARCHIVE, INBOX, JUNK, TRASH, Entry, sorted_flags

__all__ = ["FIXED_LABELS", "SYSTEM_NAMES", "check_label", "labels_of", "target_flags", "target_folder"]

_MOVE_TARGETS = {"TRASH": TRASH, "SPAM": JUNK}
FIXED_LABELS = {"DRAFT", "SENT"}
SYSTEM_NAMES = {name.casefold(): name for name in ("INBOX", "UNREAD", "DRAFT", "SENT", "SPAM", "TRASH", "STARRED")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def labels_of(entry: Entry, user: Iterable[str]) -> tuple[str, ...]:
    """The labels of a message file: its folder's, UNREAD and STARRED from its flags, then the `user` labels."""
    labels: list[str] = []
    location = entry.location
    if location:
        labels.append(location)
    elif entry.folder and entry.folder != ARCHIVE:
        labels.append(entry.folder[1:].replace(".", "/"))
    if location not in ("DRAFT", "SENT") and "S" not in entry.flags:
        labels.append("UNREAD")
    if "F" in entry.flags:
        labels.append("STARRED")
    seen = {label.casefold() for label in labels}
    for name in sorted(user, key=str.casefold):
        if name.casefold() not in seen:
            seen.add(name.casefold())
            labels.append(name)
    return tuple(labels)


def target_flags(entry: Entry, add: set[str], remove: set[str]) -> str:
    """The Maildir flags a file gets when system labels are added and removed: UNREAD is no `S`, STARRED is `F`."""
    flags = set(entry.flags)
    if "UNREAD" in remove:
        flags.add("S")
    if "UNREAD" in add:
        flags.discard("S")
    if "STARRED" in add:
        flags.add("F")
    if "STARRED" in remove:
        flags.discard("F")
    return sorted_flags(flags)


def target_folder(entry: Entry, add: set[str], remove: set[str]) -> str:
    """The folder a file moves to: TRASH or SPAM added moves there, removed moves back to INBOX; removing INBOX
    archives, adding it brings the file back (never a draft or sent message)."""
    for label, folder in _MOVE_TARGETS.items():
        if label in add:
            return folder
    location = entry.location
    if "INBOX" in add and location not in ("INBOX", "DRAFT", "SENT"):
        return INBOX
    if "INBOX" in remove and location == "INBOX":
        return ARCHIVE
    if location in _MOVE_TARGETS and location in remove:
        return INBOX
    return entry.folder


def check_label(name: str) -> str:
    """A label name as it will be used: system labels in upper case, user labels stripped but otherwise as given."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("A label name is empty")
    name = name.strip()
    if _CONTROL.search(name) or len(name) > 225:
        raise InvalidInputError(f"Label {name[:40]!r} has control characters or is longer than 225 characters")
    return SYSTEM_NAMES.get(name.casefold(), name)


def checked_changes(add: list[str], remove: list[str]) -> tuple[list[str], list[str]]:
    """The labels to add and to remove, each checked (`check_label`); a label in both is refused."""
    adding = [check_label(name) for name in add]
    removing = [check_label(name) for name in remove]
    both = {name.casefold() for name in adding} & {name.casefold() for name in removing}
    if both:
        raise InvalidInputError(f"Label {sorted(both)[0]!r} is both added and removed: choose one")
    return adding, removing
