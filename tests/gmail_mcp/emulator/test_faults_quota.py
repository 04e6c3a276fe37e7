"""Fault injection seen through the real client (retries, rate-limit reasons, delays) and quota accounting."""

from __future__ import annotations

import time

import pytest
from googleapiclient.errors import HttpError

from support_testing.gmail_emulator import QUOTA_UNITS, FaultPlan, GmailEmulator
from tests.gmail_mcp.emulator.conftest import Gmail
from tests.gmail_mcp.emulator.sample_mail import b64url, mail
from tests.gmail_mcp.emulator.test_auth import Clock, raw_get

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def test_fault_plan_queue() -> None:
    plan = FaultPlan()
    plan.too_many_requests(1, retry_after=3)
    plan.server_error(500, method="users.messages.get")
    plan.delay(0.5)
    assert len(plan) == 3
    assert [f.describe() for f in (plan.take("users.messages.list"), plan.take("users.messages.list"))] == [
        "HTTP 429 rateLimitExceeded",
        "delay 0.5s",
    ]
    assert plan.take("oauth2.token") is None  # faults without a method never reach the token endpoint
    fault = plan.take("users.messages.get")
    assert fault is not None and fault.error().status == "INTERNAL"
    assert plan.served_total == 3 and len(plan) == 0
    with pytest.raises(ValueError, match="4xx or 5xx"):
        plan.http_status(302)
    with pytest.raises(ValueError, match="5xx"):
        plan.server_error(404)


async def test_429_is_retried_by_the_client(emulator: GmailEmulator, gmail: Gmail) -> None:
    emulator.deliver(mail())
    emulator.faults.too_many_requests(1, retry_after=1)
    answer = await gmail.call(lambda u: u.messages().list(userId="me"), num_retries=2)
    assert answer["resultSizeEstimate"] == 1
    assert [(r.status, r.fault, r.units) for r in emulator.requests] == [
        (429, "HTTP 429 rateLimitExceeded", 0),
        (200, None, 5),
    ]
    assert emulator.faults.served_total == 1
    emulator.faults.too_many_requests(1, retry_after=7)
    response, body = await raw_get(f"{gmail.url}/gmail/v1/users/me/profile", {})
    assert (response.status, response["retry-after"], body["error"]["status"]) == (429, "7", "RESOURCE_EXHAUSTED")


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "rateLimitExceeded"])
async def test_403_rate_limit_reasons(emulator: GmailEmulator, gmail: Gmail, reason: str) -> None:
    emulator.faults.rate_limited(1, reason=reason)  # type: ignore[arg-type]
    with pytest.raises(HttpError) as limited:
        await gmail.call(lambda u: u.getProfile(userId="me"))
    assert limited.value.status_code == 403 and limited.value.error_details[0]["reason"] == reason
    if reason == "userRateLimitExceeded":  # one retry is enough to show it
        emulator.faults.rate_limited(1, reason=reason)
        assert (await gmail.call(lambda u: u.getProfile(userId="me"), num_retries=1))["emailAddress"]
        assert [r.status for r in emulator.requests] == [403, 403, 200]


async def test_server_errors_and_faults_for_one_method(emulator: GmailEmulator, gmail: Gmail) -> None:
    message = emulator.deliver(mail())
    emulator.faults.server_error(503)
    with pytest.raises(HttpError) as unavailable:
        await gmail.call(lambda u: u.getProfile(userId="me"))
    assert unavailable.value.status_code == 503
    emulator.faults.http_status(500, method="users.messages.get")
    await gmail.call(lambda u: u.messages().list(userId="me"))
    with pytest.raises(HttpError) as internal:
        await gmail.call(lambda u: u.messages().get(userId="me", id=message))
    assert internal.value.status_code == 500
    await gmail.call(lambda u: u.messages().get(userId="me", id=message))
    assert [r.status for r in emulator.requests] == [503, 200, 500, 200]
    assert emulator.faults.served == {"HTTP 503 backendError": 1, "HTTP 500 backendError": 1}


async def test_slow_responses(emulator: GmailEmulator, gmail: Gmail) -> None:
    emulator.faults.delay(0.3)
    started = time.monotonic()
    await gmail.call(lambda u: u.getProfile(userId="me"))
    assert time.monotonic() - started >= 0.3
    emulator.faults.delay(0.6)
    with pytest.raises(TimeoutError):
        await gmail.call(lambda u: u.getProfile(userId="me"), http_timeout=0.2)


async def test_quota_units_for_a_known_sequence(emulator: GmailEmulator, gmail: Gmail) -> None:
    message = emulator.deliver(mail(message_id="<q@example.com>"))
    raw = b64url(mail("Re: Where is my order?", "Reply", in_reply_to="<q@example.com>"))
    await gmail.call(lambda u: u.getProfile(userId="me"))
    await gmail.call(lambda u: u.labels().list(userId="me"))
    await gmail.call(lambda u: u.labels().create(userId="me", body={"name": "Done"}))
    await gmail.call(lambda u: u.messages().list(userId="me", q="is:unread"))
    await gmail.call(lambda u: u.messages().get(userId="me", id=message))
    with pytest.raises(HttpError):
        await gmail.call(lambda u: u.messages().get(userId="me", id="ffffffffffffffff"))  # a 404 still costs 5
    await gmail.call(lambda u: u.threads().get(userId="me", id=message))
    await gmail.call(lambda u: u.messages().modify(userId="me", id=message, body={"removeLabelIds": ["UNREAD"]}))
    await gmail.call(
        lambda u: u.messages().batchModify(userId="me", body={"ids": [message], "addLabelIds": ["STARRED"]})
    )
    draft = await gmail.call(
        lambda u: u.drafts().create(userId="me", body={"message": {"raw": raw, "threadId": message}})
    )
    await gmail.call(lambda u: u.drafts().list(userId="me"))
    await gmail.call(lambda u: u.drafts().get(userId="me", id=draft["id"]))
    await gmail.call(lambda u: u.history().list(userId="me", startHistoryId=str(emulator.history_id)))
    await gmail.call(lambda u: u.messages().insert(userId="me", body={"raw": raw}))
    with pytest.raises(HttpError):
        await gmail.call(lambda u: u.messages().send(userId="me", body={"raw": raw}))  # refused, still charged
    emulator.faults.too_many_requests()
    with pytest.raises(HttpError):
        await gmail.call(lambda u: u.getProfile(userId="me"))  # an injected fault costs nothing
    assert emulator.units_by_method() == {
        "users.getProfile": 1,
        "users.labels.list": 1,
        "users.labels.create": 5,
        "users.messages.list": 5,
        "users.messages.get": 10,
        "users.threads.get": 10,
        "users.messages.modify": 5,
        "users.messages.batchModify": 50,
        "users.drafts.create": 10,
        "users.drafts.list": 5,
        "users.drafts.get": 5,
        "users.history.list": 2,
        "users.messages.insert": 25,
        "users.messages.send": 100,
    }
    assert emulator.total_units == 234
    assert all(r.units in (0, QUOTA_UNITS[r.method or ""]) for r in emulator.requests)


@pytest.mark.parametrize("emulator", [{"user_quota_per_minute": 12, "clock": Clock()}], indirect=True)
async def test_per_user_quota_per_minute(emulator: GmailEmulator, gmail: Gmail) -> None:
    for _ in range(2):
        await gmail.call(lambda u: u.messages().list(userId="me"))
    with pytest.raises(HttpError) as over:
        await gmail.call(lambda u: u.messages().list(userId="me"))
    assert over.value.status_code == 429 and over.value.error_details[0]["reason"] == "rateLimitExceeded"
    clock = emulator.clock
    assert isinstance(clock, Clock)
    clock.now += 61
    await gmail.call(lambda u: u.messages().list(userId="me"))
    assert [(r.status, r.units) for r in emulator.requests] == [(200, 5), (200, 5), (429, 0), (200, 5)]
