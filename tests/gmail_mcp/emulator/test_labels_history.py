"""Labels (by id, never by name) and `history.list`: incremental sync, filters, paging and 404 for stale ids."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from support_testing.gmail_emulator import SYSTEM_LABELS, GmailEmulator
from tests.gmail_mcp.emulator.conftest import Gmail
from tests.gmail_mcp.emulator.sample_mail import mail

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


async def test_labels_list_create_get(emulator: GmailEmulator, gmail: Gmail) -> None:
    listed = await gmail.call(lambda u: u.labels().list(userId="me"))
    system = {label["id"]: label for label in listed["labels"]}
    assert set(SYSTEM_LABELS) <= set(system) and system["INBOX"] == {"id": "INBOX", "name": "INBOX", "type": "system"}
    created = await gmail.call(lambda u: u.labels().create(userId="me", body={"name": "Support/Needs human"}))
    assert created["id"].startswith("Label_") and created["type"] == "user"
    assert (created["messageListVisibility"], created["labelListVisibility"]) == ("show", "labelShow")
    with pytest.raises(HttpError) as duplicate:
        await gmail.call(lambda u: u.labels().create(userId="me", body={"name": "support/NEEDS HUMAN"}))
    assert duplicate.value.status_code == 409
    assert json.loads(duplicate.value.content)["error"]["status"] == "ALREADY_EXISTS"
    with pytest.raises(HttpError) as reserved:
        await gmail.call(lambda u: u.labels().create(userId="me", body={"name": "Inbox"}))
    assert reserved.value.status_code == 400
    message = emulator.deliver(mail(), labels=("INBOX", "UNREAD", created["id"]))
    got = await gmail.call(lambda u: u.labels().get(userId="me", id=created["id"]))
    assert (got["name"], got["messagesTotal"], got["messagesUnread"], got["threadsTotal"]) == (
        "Support/Needs human",
        1,
        1,
        1,
    )
    assert emulator.message(message).label_ids == ["INBOX", "UNREAD", created["id"]]


async def test_modify_takes_label_ids_not_names(emulator: GmailEmulator, gmail: Gmail) -> None:
    label = emulator.create_label("Processed")
    message = emulator.deliver(mail())
    answer = await gmail.call(
        lambda u: u.messages().modify(
            userId="me", id=message, body={"addLabelIds": [label], "removeLabelIds": ["UNREAD"]}
        )
    )
    assert answer["labelIds"] == ["INBOX", label]
    with pytest.raises(HttpError) as by_name:
        await gmail.call(lambda u: u.messages().modify(userId="me", id=message, body={"addLabelIds": ["Processed"]}))
    assert by_name.value.status_code == 400 and by_name.value.reason == "Invalid label: Processed"
    with pytest.raises(HttpError) as both:
        body = {"addLabelIds": [label], "removeLabelIds": [label]}
        await gmail.call(lambda u: u.messages().modify(userId="me", id=message, body=body))
    assert both.value.status_code == 400
    with pytest.raises(HttpError) as unknown:
        await gmail.call(lambda u: u.messages().modify(userId="me", id="ffffffffffffffff", body={}))
    assert unknown.value.status_code == 404


async def test_history_is_incremental(emulator: GmailEmulator, gmail: Gmail) -> None:
    start = (await gmail.call(lambda u: u.getProfile(userId="me")))["historyId"]
    assert int(start) >= 1_000_000
    first, second = emulator.deliver(mail("One", "1")), emulator.deliver(mail("Two", "2"))
    await gmail.call(lambda u: u.messages().modify(userId="me", id=first, body={"removeLabelIds": ["UNREAD"]}))
    await gmail.call(lambda u: u.messages().modify(userId="me", id=first, body={"removeLabelIds": ["UNREAD"]}))  # no-op
    await gmail.call(
        lambda u: u.messages().batchModify(userId="me", body={"ids": [first, second], "addLabelIds": ["STARRED"]})
    )
    answer = await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=start))
    records = answer["history"]
    kinds = [(next(k for k in r if k not in ("id", "messages")), r["messages"][0]["id"]) for r in records]
    assert kinds == [
        ("messagesAdded", first),
        ("messagesAdded", second),
        ("labelsRemoved", first),
        ("labelsAdded", first),
        ("labelsAdded", second),
    ]
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(ids) and ids[0] > int(start) and answer["historyId"] == str(ids[-1])
    assert records[0]["messagesAdded"] == [
        {"message": {"id": first, "threadId": first, "labelIds": ["INBOX", "UNREAD"]}}
    ]
    assert records[2]["labelsRemoved"][0] == {
        "message": {"id": first, "threadId": first, "labelIds": ["INBOX"]},
        "labelIds": ["UNREAD"],
    }
    caught_up = await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=answer["historyId"]))
    assert caught_up == {"historyId": answer["historyId"]}

    added = await gmail.call(
        lambda u: u.history().list(userId="me", startHistoryId=start, historyTypes=["messageAdded"])
    )
    assert [r["messages"][0]["id"] for r in added["history"]] == [first, second]
    starred = await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=start, labelId="STARRED"))
    assert len(starred["history"]) == 2
    paged, token = [], None
    while True:
        page = await gmail.call(
            lambda u, t=token: u.history().list(userId="me", startHistoryId=start, maxResults=2, pageToken=t)
        )
        paged += page["history"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert paged == records


@pytest.mark.parametrize("emulator", [{"history_retention": 2}, {}], indirect=True, ids=["retention", "expired"])
async def test_stale_start_history_id_is_404(emulator: GmailEmulator, gmail: Gmail) -> None:
    start = str(emulator.history_id)
    for n in range(4):
        emulator.deliver(mail(f"Message {n}", str(n)))
    if emulator.mailbox.history.retention is None:
        emulator.expire_history()
    with pytest.raises(HttpError) as stale:
        await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=start))
    assert stale.value.status_code == 404
    assert json.loads(stale.value.content)["error"]["errors"][0]["reason"] == "notFound"
    recent = str(emulator.history_id)
    assert await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=recent)) == {"historyId": recent}
    with pytest.raises(HttpError) as ancient:
        await gmail.call(lambda u: u.history().list(userId="me", startHistoryId="1"))
    assert ancient.value.status_code == 404
    with pytest.raises(HttpError) as garbage:
        await gmail.call(lambda u: u.history().list(userId="me", startHistoryId="yesterday"))
    assert garbage.value.status_code == 400
