"""Dates in replies are the shop's: 'today' is the day it is in the shop's time zone, and an order is never 'out for
delivery today' above a parcel expected another day, whatever the time the reply is written at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from orchestrator.models import LANGUAGES
from orchestrator.phrasebook import phrasebook
from orchestrator.reply_facts import ReplyFacts, Tone
from orchestrator.templates import render_reply, shop_zone
from shopify_mcp.context import open_context
from shopify_mcp.emulator import load_sandbox_store
from support_core.store import OrderDetails
from support_testing.shopify_emulator import ShopifyEmulator
from tests.orchestrator.test_templates import SIGNATURE, TONE, contradictions, problems
from tests.shopify_mcp.support import make_settings

ETA = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
"""When the carrier expects the parcel: just after midnight in UTC, the evening before in New York."""
TIMES = [
    datetime(2026, 12, 3, 23, 0, tzinfo=UTC),
    *(datetime(2026, 12, 4, hour, minute, tzinfo=UTC) for hour, minute in ((6, 0), (18, 30), (19, 30), (23, 45))),
    datetime(2026, 12, 5, 0, 15, tzinfo=UTC),
]
"""When the reply is written: the day before, morning, evening before and after 19:12 (the demo's old trouble
spot), around midnight."""
ZONES = {"UTC": UTC, "UTC+1": timezone(timedelta(hours=1)), "UTC-5": timezone(timedelta(hours=-5))}
"""Fixed offsets given as `tzinfo` (no time zone database needed); IANA names are tested below."""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def out_for_delivery(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OrderDetails]:
    """Núria's order #1025 from the sandbox (its parcel is out for delivery), due at ETA."""
    store = load_sandbox_store()
    settings = make_settings(tmp_path_factory.mktemp("shop"))
    async with open_context(settings, emulator=ShopifyEmulator(store=store)) as ctx:
        order = await ctx.orders.lookup("#1025", "nuria.puig@example.net")
    assert order.state == "out_for_delivery"
    shipments = [s.model_copy(update={"estimated_delivery_at": ETA}) for s in order.shipments]
    yield order.model_copy(update={"shipments": shipments, "processed_at": ETA - timedelta(days=2)})


@pytest.mark.anyio
@pytest.mark.parametrize("zone_name", ZONES)
async def test_out_for_delivery_is_today_only_when_the_parcel_is_due_today(
    out_for_delivery: OrderDetails, zone_name: str
) -> None:
    zone = ZONES[zone_name]
    facts = ReplyFacts(customer_name="Núria", orders=(out_for_delivery,))
    seen = set()
    for now in TIMES:
        today = now.astimezone(zone).date()
        due_today = ETA.astimezone(zone).date() == today
        for language in LANGUAGES:
            tone = Tone(persona_name="Carolina", shop_name="Aurora Activewear", signature=SIGNATURE, timezone=zone)
            reply = render_reply("ShippingDelivery", language, facts, tone=tone, now=now)
            book = phrasebook(language)
            says_today = f": {book.word('state', 'out_for_delivery_today')}." in reply
            assert says_today == due_today, (zone_name, now, language, reply)
            when = book.when(ETA, today, zone=zone)
            assert book.say("eta", when=when) in reply, (zone_name, now, language)
            assert problems(reply, language, facts, today=today, zone=zone) == [], (zone_name, now, language, reply)
            seen.add(due_today)
    assert seen == {True, False}, "both cases happen over these times"


@pytest.mark.anyio
async def test_the_shops_time_zone_decides_what_today_is(out_for_delivery: OrderDetails) -> None:
    """At 10:00 UTC on 4 December it is 19:00 in Tokyo: the parcel due at 00:30 UTC on 5 December (09:30 in Tokyo) is
    due 'tomorrow' for a shop that counts in UTC as for a shop in Tokyo; at 16:00 UTC it is already 5 December in
    Tokyo, and the parcel is due 'today' there."""
    try:
        shop_zone("Asia/Tokyo").utcoffset(ETA)
    except Exception:  # pragma: no cover - a machine without a time zone database
        pytest.skip("no IANA time zone database on this machine")
    facts = ReplyFacts(orders=(out_for_delivery,))
    tokyo = Tone(persona_name="Carolina", shop_name="Aurora Activewear", signature=SIGNATURE, timezone="Asia/Tokyo")
    morning = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    for tone in (tokyo, TONE):
        reply = render_reply("ShippingDelivery", "en", facts, tone=tone, now=morning)
        assert "): out for delivery." in reply and "- Expected delivery tomorrow." in reply
    afternoon = morning + timedelta(hours=6)
    there = render_reply("ShippingDelivery", "en", facts, tone=tokyo, now=afternoon)
    assert "): out for delivery today." in there and "- Expected delivery today." in there
    here = render_reply("ShippingDelivery", "en", facts, tone=TONE, now=afternoon)
    assert "): out for delivery." in here and "- Expected delivery tomorrow." in here
    assert contradictions(there, "en") == contradictions(here, "en") == []


def test_an_unknown_time_zone_counts_in_utc() -> None:
    assert shop_zone("UTC") is UTC
    assert shop_zone("Mars/Olympus_Mons") is UTC
    assert shop_zone("../etc/passwd") is UTC


def test_the_contradiction_check_can_fail() -> None:
    """The check the template test runs finds the draft the audit found (Núria's, written after 19:12 UTC)."""
    book = phrasebook("es")
    draft = "\n".join(
        [
            book.say("order_state", number="#1025", placed="el 2 de diciembre de 2026", state="en reparto hoy"),
            "",
            book.say("shipment", name="#1025-F1", items="1 \u00d7 Pro Compression Leggings", status="en reparto"),
            book.say("eta", when=book.data["relative"]["tomorrow"]),
        ]
    )
    assert contradictions(draft, "es") == ["'en reparto hoy' but '- Entrega prevista mañana.'"]
    assert contradictions(draft.replace("mañana", "hoy"), "es") == []


def test_a_deadline_is_said_as_a_date_in_every_language() -> None:
    today = date(2026, 12, 4)
    expected = {
        "en": "by 13 December 2026",
        "es": "antes del 13 de diciembre de 2026",
        "fr": "avant le 13 décembre 2026",
        "de": "bis zum 13. Dezember 2026",
        "it": "entro il 13 dicembre 2026",
        "pt": "até 13 de dezembro de 2026",
    }
    for language, text in expected.items():
        assert phrasebook(language).when(date(2026, 12, 13), today, "by") == text
    assert phrasebook("it").when(date(2026, 12, 8), today, "by") == "entro l'8 dicembre 2026"
    assert phrasebook("fr").when(date(2027, 1, 1), today, "by") == "avant le 1er janvier 2027"
    assert phrasebook("en").when(today, today, "by") == "by 4 December 2026", "never 'by today'"
