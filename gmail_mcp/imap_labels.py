"""Gmail labels on an IMAP mailbox: the labels a message shows, and label changes as flags, keywords or X-GM-LABELS.

UNREAD is `\\Seen` absent (never on drafts and sent mail), STARRED is `\\Flagged`, INBOX/DRAFT/SENT/TRASH/SPAM
follow the folder. User labels are Gmail's own labels (`X-GM-LABELS`) on Gmail and IMAP keywords elsewhere
(escaped by `imap_names.keyword_of`). Every id is checked before any flag changes.
"""

from __future__ import annotations

from typing import Any

from gmail_mcp.errors import MailboxUnavailableError, MessageNotFoundError
from gmail_mcp.imap_names import ROLE_LABELS, MessageKey, keyword_of, label_of_keyword

__all__ = ["SYSTEM_FLAGS", "labels_of", "modify_labels", "select_checked", "text"]

SYSTEM_FLAGS = {"UNREAD": b"\\Seen", "STARRED": b"\\Flagged"}
_GMAIL_SYSTEM = {"\\Inbox": "INBOX", "\\Starred": "STARRED", "\\Important": "IMPORTANT", "\\Sent": "SENT"}
_GMAIL_SYSTEM |= {"\\Draft": "DRAFT", "\\Trash": "TRASH", "\\Spam": "SPAM"}


def text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def labels_of(role: str, flags: tuple[Any, ...], gmail_labels: tuple[Any, ...], *, gmail: bool) -> tuple[str, ...]:
    """The labels of a message in the folder of `role` with these FLAGS (and, on Gmail, X-GM-LABELS)."""
    labels = [ROLE_LABELS[role]] if role in ROLE_LABELS else []
    names = {text(flag) for flag in flags}
    if "\\Seen" not in names and role not in ("drafts", "sent"):
        labels.append("UNREAD")
    if "\\Flagged" in names:
        labels.append("STARRED")
    if gmail:
        users = [_GMAIL_SYSTEM.get(text(label), text(label)) for label in gmail_labels]
    else:
        users = [label for flag in flags if (label := label_of_keyword(text(flag))) is not None]
    seen = {label.casefold() for label in labels}
    for name in sorted(users, key=str.casefold):
        if name.casefold() not in seen and not name.startswith("\\"):
            seen.add(name.casefold())
            labels.append(name)
    return tuple(labels)


def select_checked(
    client: Any, names: dict[str, str], role: str, uidvalidity: int, *, write: bool = False
) -> dict[bytes, Any]:
    """SELECT the folder of `role`, refusing when its UIDVALIDITY is not the one the ids were made with."""
    name = names.get(role)
    if name is None:
        raise MessageNotFoundError(f"This IMAP mailbox has no {role} folder")
    status: dict[bytes, Any] = client.select_folder(name, readonly=not write)
    if int(status.get(b"UIDVALIDITY", 0)) != uidvalidity:
        raise MessageNotFoundError(f"The {name} folder was renumbered by the server: ids from before are gone")
    return status


def modify_labels(
    client: Any, names: dict[str, str], keys: list[MessageKey], add: list[str], remove: list[str], *, gmail: bool
) -> list[str]:
    """Apply a label change to every message of `keys` (all checked first); returns the user labels created."""
    user_add = [name for name in add if name not in SYSTEM_FLAGS]
    user_remove = [name for name in remove if name not in SYSTEM_FLAGS]
    known: set[str] = set()
    roles = list(dict.fromkeys(key.role for key in keys))
    for role in roles:  # every id is checked before anything changes
        wanted = {key.uid for key in keys if key.role == role}
        uidvalidity = next(key.uidvalidity for key in keys if key.role == role)
        status = select_checked(client, names, role, uidvalidity, write=True)
        present = set(client.search(["UID", ",".join(str(uid) for uid in sorted(wanted))]))
        if wanted - present:
            missing = next(key.id for key in keys if key.role == role and key.uid not in present)
            raise MessageNotFoundError(f"Message {missing} does not exist in this IMAP mailbox; no labels were changed")
        known |= {text(flag) for flag in (*status.get(b"PERMANENTFLAGS", ()), *status.get(b"FLAGS", ()))}
        if user_add and not gmail and "\\*" not in known:
            raise MailboxUnavailableError(f"The IMAP folder {names[role]} does not accept new keywords (labels)")
    if gmail:
        existing = {text(name).casefold() for _flags, _delimiter, name in client.list_folders()}
        created = [name for name in user_add if name.casefold() not in existing]
    else:
        created = [name for name in user_add if keyword_of(name) not in known]
    plus = [SYSTEM_FLAGS[name] for name in remove if name == "UNREAD"]
    plus += [SYSTEM_FLAGS[name] for name in add if name == "STARRED"]
    minus = [SYSTEM_FLAGS[name] for name in add if name == "UNREAD"]
    minus += [SYSTEM_FLAGS[name] for name in remove if name == "STARRED"]
    if not gmail:
        plus += [keyword_of(name).encode("ascii") for name in user_add]
        minus += [keyword_of(name).encode("ascii") for name in user_remove]
    for role in roles:
        uids = sorted({key.uid for key in keys if key.role == role})
        client.select_folder(names[role], readonly=False)
        if gmail and user_add:
            client.add_gmail_labels(uids, user_add)
        if gmail and user_remove:
            client.remove_gmail_labels(uids, user_remove)
        if plus:
            client.add_flags(uids, plus)
        if minus:
            client.remove_flags(uids, minus)
    return created
