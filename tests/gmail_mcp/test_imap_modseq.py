"""CONDSTORE and QRESYNC (RFC 7162) in the IMAP backend's caches, against a real Dovecot (which has both).

The index is driven with a real imapclient connection wrapped in a recorder that notes every FETCH and SEARCH it
passes on, so the tests see what was asked of the server, not only that the answers were right. Changes are made
by a second connection, as another mail program or a phone would make them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gmail_mcp.imap import ImapBackend
from gmail_mcp.imap_connection import ImapConnection, enable_modseqs
from gmail_mcp.imap_index import ImapIndex, uids_within
from gmail_mcp.imap_names import parse_key
from support_core.retry import RetryPolicy
from support_testing.dovecot import DovecotServer
from tests.gmail_mcp.test_imap import OWN, endpoint, mail

FLAGS = [b"FLAGS"]


class Recorder:
    """An imapclient connection that notes the FETCH and SEARCH commands sent through it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def fetch(self, messages: list[int], data: list[bytes], modifiers: list[str] | None = None) -> Any:
        found = self.client.fetch(messages, data, modifiers=modifiers)
        self.calls.append(("fetch", list(data), list(modifiers or []), sorted(found)))
        return found

    def search(self, criteria: list[Any]) -> Any:
        self.calls.append(("search", list(criteria)))
        return self.client.search(criteria)

    def fetched(self, attribute: bytes) -> list[tuple[list[str], list[int]]]:
        return [(call[2], call[3]) for call in self.calls if call[0] == "fetch" and attribute in call[1]]

    def listed_all(self) -> bool:
        return ("search", ["ALL"]) in self.calls


@pytest.fixture
def inbox(dovecot: DovecotServer) -> Iterator[tuple[str, Any]]:
    """A fresh account with 3 unread messages (UIDs 1-3) and a logged-in connection that ENABLEd nothing yet."""
    user = dovecot.new_user()
    for number in (1, 2, 3):
        dovecot.deliver(user, mail(number))
    client = dovecot.client(user)
    try:
        yield user, client
    finally:
        client.logout()


def change(dovecot: DovecotServer, user: str, *, seen: tuple[int, ...] = (), expunge: tuple[int, ...] = ()) -> None:
    """What another mail program does: mark some messages read, delete and expunge others."""
    other = dovecot.client(user)
    try:
        other.select_folder("INBOX")
        if seen:
            other.add_flags(list(seen), [b"\\Seen"])
        if expunge:
            other.delete_messages(list(expunge))
            other.expunge()
    finally:
        other.logout()


def caps(client: Any) -> frozenset[str]:
    return frozenset(name.decode().upper() for name in client.capabilities())


def test_a_uid_set_names_only_known_uids_and_is_never_expanded() -> None:
    known = [1, 2, 3, 4, 5, 9, 4_000_000_000]
    assert uids_within("1,3:5", known) == {1, 3, 4, 5}
    assert uids_within("5:3", known) == {3, 4, 5}, "a range may be written high:low"
    assert uids_within("1:4294967295", [7]) == {7}, "a huge range costs what the known UIDs cost"
    assert uids_within("6:8,*,x:1,", known) == set(), "junk names nothing"


@pytest.mark.parametrize("offered", ["QRESYNC", "CONDSTORE"])  # CONDSTORE alone is what Gmail offers
def test_with_condstore_a_quiet_folder_is_not_asked_and_only_changed_flags_are_fetched(
    dovecot: DovecotServer, inbox: tuple[str, Any], offered: str
) -> None:
    user, client = inbox
    offer = caps(client) - ({"QRESYNC"} if offered == "CONDSTORE" else set())
    enabled = enable_modseqs(client, offer)
    assert enabled == ({"CONDSTORE", "QRESYNC"} if offered == "QRESYNC" else {"CONDSTORE"})
    index, recorder = ImapIndex(gmail=False), Recorder(client)
    index.qresync = "QRESYNC" in enabled
    first = index.states(recorder, "inbox", "INBOX", FLAGS)
    assert sorted(first) == [1, 2, 3] and all(b"\\Seen" not in data[b"FLAGS"] for data in first.values())
    assert recorder.fetched(b"FLAGS") == [([], [1, 2, 3])], "the first look fetches every message's flags"

    recorder.calls.clear()
    index.states(recorder, "inbox", "INBOX", FLAGS)
    assert recorder.calls == [], "HIGHESTMODSEQ did not move: nothing is fetched or listed"

    change(dovecot, user, seen=(2,))
    recorder.calls.clear()
    now = index.states(recorder, "inbox", "INBOX", FLAGS)
    [(modifiers, returned)] = recorder.fetched(b"FLAGS")
    assert modifiers[0].startswith("CHANGEDSINCE ") and returned == [2], "only the changed message comes back"
    assert b"\\Seen" in now[2][b"FLAGS"] and b"\\Seen" not in now[1][b"FLAGS"]
    assert not recorder.listed_all()

    change(dovecot, user, expunge=(1,))
    recorder.calls.clear()
    assert sorted(index.states(recorder, "inbox", "INBOX", FLAGS)) == [2, 3]
    assert recorder.listed_all() == (offered == "CONDSTORE"), "without QRESYNC an expunge is found by listing UIDs"


def test_with_qresync_expunges_come_from_vanished_and_arrivals_from_the_old_uidnext(
    dovecot: DovecotServer, inbox: tuple[str, Any]
) -> None:
    user, client = inbox
    enable_modseqs(client, caps(client))
    index, recorder = ImapIndex(gmail=False), Recorder(client)
    index.qresync = True
    index.states(recorder, "inbox", "INBOX", FLAGS)

    change(dovecot, user, expunge=(1, 3))
    dovecot.deliver(user, mail(4))
    recorder.calls.clear()
    now = index.states(recorder, "inbox", "INBOX", FLAGS)
    assert sorted(now) == sorted(index.folders["inbox"].entries) == [2, 4]
    assert not recorder.listed_all(), "the folder's UIDs were listed again instead of asking for VANISHED"
    assert ("search", ["UID", "4:*"]) in recorder.calls
    assert index.folders["inbox"].entries[4].headers.subject == "Question 4"


def test_without_mod_sequences_every_look_lists_the_folder_and_fetches_all_flags(
    dovecot: DovecotServer, inbox: tuple[str, Any]
) -> None:
    user, client = inbox  # nothing ENABLEd: Dovecot then reports no HIGHESTMODSEQ, as a server without CONDSTORE
    index, recorder = ImapIndex(gmail=False), Recorder(client)
    index.states(recorder, "inbox", "INBOX", FLAGS)
    assert index.folders["inbox"].modseq == 0

    change(dovecot, user, seen=(2,), expunge=(3,))
    recorder.calls.clear()
    now = index.states(recorder, "inbox", "INBOX", FLAGS)
    assert recorder.listed_all() and recorder.fetched(b"FLAGS") == [([], [1, 2])]
    assert sorted(now) == [1, 2] and b"\\Seen" in now[2][b"FLAGS"]


@pytest.mark.anyio
async def test_search_sees_other_programs_changes_and_its_own_labels_with_qresync_enabled(
    dovecot: DovecotServer, inbox: tuple[str, Any]
) -> None:
    user, _client = inbox
    backend = ImapBackend(ImapConnection(endpoint(dovecot, user), RetryPolicy(0.01, 0.05, 3)), address=OWN)
    try:
        assert len((await backend.search("is:unread", limit=10))[0]) == 3
        assert backend.connection.enabled == {"CONDSTORE", "QRESYNC"}

        change(dovecot, user, seen=(1,), expunge=(3,))
        unread = (await backend.search("is:unread", limit=10))[0]
        assert [parse_key(message_id).uid for message_id in unread] == [2]
        inbox_ids = (await backend.search("in:inbox", limit=10))[0]
        assert sorted(parse_key(message_id).uid for message_id in inbox_ids) == [1, 2], "the expunged one is gone"

        await backend.modify([unread[0]], add=["Needs review"], remove=[])
        assert (await backend.search('label:"needs review"', limit=10))[0] == [unread[0]], "our own STORE is seen"
    finally:
        await backend.aclose()
