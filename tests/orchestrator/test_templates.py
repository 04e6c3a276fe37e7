"""The offline engine's replies: every template, in every language, over every combination of facts from the sandbox."""

from __future__ import annotations

import re
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.guard import Evidence, guard_draft
from orchestrator.language import detect_language
from orchestrator.models import CATEGORIES, LANGUAGES
from orchestrator.phrasebook import phrasebook
from orchestrator.policy_excerpts import POLICY_EXCERPT, policy_excerpt
from orchestrator.reply_facts import ProductMatch, ReplyFacts, Tone
from orchestrator.templates import render_reply
from shopify_mcp.context import open_context
from shopify_mcp.emulator import load_sandbox_store
from support_core.store import CustomerOrders, DiscountCheck, OrderDetails, Policy, Product, Promotions
from support_testing.shopify_emulator import ShopifyEmulator
from tests.shopify_mcp.support import OWNER, make_settings

SIGNATURE = "Carolina\nAurora Activewear · Customer care"
TONE = Tone(persona_name="Carolina", shop_name="Aurora Activewear", signature=SIGNATURE)
URL = re.compile(r"https?://[^\s)>\]]+")
THANKS = {"en": "thank", "es": "gracias", "fr": "merci", "de": "dank", "pt": "obrigad", "it": "grazie"}
TOPIC_SETS = (
    frozenset(),
    frozenset({"double_charge", "refund_status"}),
    frozenset({"payment_failed", "invoice"}),
    frozenset({"where_is_order", "shipping_time", "delivery_change", "address_change"}),
    frozenset({"restock", "size", "materials", "recommend", "exchange"}),
    frozenset({"return_cost", "hygiene", "damaged", "device"}),
    frozenset({"wrong_item", "replacement", "price_adjustment", "error_quoted", "payment_failed"}),
    frozenset({"size", "screenshot_sent", "recommend", "restock"}),
)
"""What customers ask, in combinations that exercise every conditional sentence."""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Sandbox:
    orders: dict[str, OrderDetails]
    """Every order in the sandbox store, looked up by its owner."""
    recent: dict[str, CustomerOrders]
    """A customer with no orders, one order and many orders."""
    products: dict[str, Product]
    """Every product (active, archived, draft; many variants, one default variant), by handle."""
    discounts: dict[str, DiscountCheck]
    """Every code of the store (valid, expired, scheduled, used up) and one that does not exist."""
    promotions: Promotions
    policies: dict[str, Policy]


@pytest.fixture(scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    """Facts fetched through the real tool layer (Admin API client -> emulator over the sandbox store)."""
    store = load_sandbox_store()
    settings = make_settings(tmp_path_factory.mktemp("shop"))
    async with open_context(settings, emulator=ShopifyEmulator(store=store)) as ctx:
        codes = [code["code"] for discount in store.discounts for code in discount.codes]
        yield Sandbox(
            orders={o.name: await ctx.orders.lookup(o.name, o.email) for o in store.orders},
            recent={
                "none": await ctx.orders.list_for_customer("aoife.nibhriain@example.com"),
                "one": await ctx.orders.list_for_customer("emily.carter@example.com"),
                "many": await ctx.orders.list_for_customer(OWNER),
            },
            products={p.handle: await ctx.catalog.get(handle=p.handle) for p in store.products},
            discounts={code: await ctx.discounts.check(code) for code in [*codes, "NOTACODE9"]},
            promotions=await ctx.discounts.promotions(),
            policies={k: (await ctx.policies.get(k)).policies[0] for k in ("refund", "shipping", "privacy", "contact")},
        )


def _variant_matches(product: Product) -> Iterator[ProductMatch]:
    yield ProductMatch(product)
    for status in ("sold_out", "backorder", "in_stock", "low_stock", "not_tracked"):
        chosen = [v.id for v in product.variants if v.stock_status == status][:2]
        if chosen:
            yield ProductMatch(product, tuple(chosen))


def _missing_combination(product: Product) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Option values that each exist but never together ('L' and 'Sage'), as `ProductMatch.asked`; () if none."""
    options = list(product.variants[0].options) if product.variants else []
    if len(options) != 2:
        return ()
    first, second = options
    existing = {(v.options[first], v.options[second]) for v in product.variants}
    for a in dict.fromkeys(v.options[first] for v in product.variants):
        for b in dict.fromkeys(v.options[second] for v in product.variants):
            if (a, b) not in existing:
                return ((first, (a,)), (second, (b,)))
    return ()


def combinations(s: Sandbox) -> Iterator[tuple[str, ReplyFacts]]:
    """Every kind of fact the offline agent can gather, alone and together."""
    yield "nothing", ReplyFacts()
    yield "handover", ReplyFacts(customer_name="Søren", handover=True, ticket_id="T-000007")
    for index, (number, order) in enumerate(s.orders.items()):  # every order, each topic set over five of them
        topics = TOPIC_SETS[index % len(TOPIC_SETS)]
        yield f"order {number} {sorted(topics)}", ReplyFacts(customer_name="María", orders=(order,), topics=topics)
    split = s.orders["#1021"]  # two parcels (one delivered) and an item not shipped yet
    bare = [shipment.model_copy(update={"tracking": [], "estimated_delivery_at": None}) for shipment in split.shipments]
    yield "no tracking, no estimate", ReplyFacts(orders=(split.model_copy(update={"shipments": bare}),))
    unnumbered = [t.model_copy(update={"url": None}) for t in split.shipments[1].tracking]
    parcel = split.shipments[1].model_copy(update={"tracking": unnumbered})
    yield "tracking number without a link", ReplyFacts(orders=(split.model_copy(update={"shipments": [parcel]}),))
    several = (s.orders["#1021"], s.orders["#1029"], s.orders["#1019"], s.orders["#1023"])
    for topics in TOPIC_SETS:
        yield f"several orders {sorted(topics)}", ReplyFacts(orders=several, topics=topics, sorry=True)
    for size, recent in s.recent.items():
        yield f"recent orders: {size}", ReplyFacts(recent_orders=recent)
        if recent.orders:
            focus = s.orders[recent.orders[0].order_number]
            yield f"recent orders: {size}, newest looked up", ReplyFacts(recent_orders=recent, orders=(focus,))
    yield "missing", ReplyFacts(missing_orders=("#9999", "1017<script>"))
    yield "missing and found", ReplyFacts(missing_orders=("#9999",), orders=(s.orders["#1021"],))
    for handle, product in s.products.items():
        for index, match in enumerate(_variant_matches(product)):
            topics = TOPIC_SETS[4] if index % 2 else TOPIC_SETS[0]
            facts = ReplyFacts(products=(match,), product_searched=True, topics=topics)
            yield f"product {handle} {match.variant_ids} {sorted(topics)}", facts
        yield f"product {handle}, everything asked", ReplyFacts(products=(ProductMatch(product),), topics=TOPIC_SETS[4])
    for handle, product in s.products.items():  # a colour and a size that exist, but not together
        missing = _missing_combination(product)
        if missing:
            match = ProductMatch(product, (), missing)
            yield f"product {handle} not in {missing}", ReplyFacts(products=(match,), topics=TOPIC_SETS[4])
    for measurements in ((("calf", 38.0), ("shoe", 44.0)), (("calf", 35.0),), (("calf", 80.0), ("shoe", 44.0))):
        socks = ProductMatch(s.products["graduated-compression-running-socks"])
        facts = ReplyFacts(products=(socks,), topics=TOPIC_SETS[7], measurements=measurements)
        yield f"size advice {measurements}", facts
    archived = ProductMatch(s.products["merino-blend-running-tee"])
    similar = (ProductMatch(s.products["thermal-half-zip-running-top"]), ProductMatch(s.products["cork-yoga-mat"]))
    yield "recommendations", ReplyFacts(products=(archived,), recommendations=similar, topics=TOPIC_SETS[4])
    yield "materials of an archived product", ReplyFacts(products=(archived,), topics=frozenset({"materials"}))
    yield "which product?", ReplyFacts(topics=frozenset({"materials", "size"}))
    for deadline in ((13, 12), (1, 1), (31, 2)):
        yield f"deadline {deadline}", ReplyFacts(orders=(s.orders["#1021"],), deadline=deadline, topics=TOPIC_SETS[3])
    yield "existing customer", ReplyFacts(promotions=s.promotions, existing_customer=True, topics=TOPIC_SETS[6])
    restock = s.products["pro-compression-leggings"].model_copy(update={"details": {"restock_date": "Early January"}})
    sold_out = tuple(v.id for v in restock.variants if v.stock_status == "sold_out")
    yield "restock date", ReplyFacts(products=(ProductMatch(restock, sold_out),), topics=TOPIC_SETS[4])
    two = (ProductMatch(s.products["recovery-calf-sleeves"]), ProductMatch(s.products["cork-yoga-mat"]))
    yield "two products", ReplyFacts(products=two, product_searched=True, topics=TOPIC_SETS[4])
    yield "no such product", ReplyFacts(product_searched=True, topics=TOPIC_SETS[4])
    for code, check in s.discounts.items():
        yield f"code {code}", ReplyFacts(discounts=(check,), promotions=s.promotions)
    yield "all codes", ReplyFacts(discounts=tuple(s.discounts.values()))
    yield "no promotions", ReplyFacts(promotions=Promotions(automatic=[], public_codes=[]))
    policy_topics = {
        "refund": (["returns"], ["refund_status", "return_cost"], ["damaged", "hygiene"], ["exchange"]),
        "shipping": (["shipping_time"], ["shipping_cost", "customs"], ["ship_to"]),
        "privacy": (["privacy"],),
        "contact": (["contact"],),
    }
    excerpts = []
    for kind, topic_lists in policy_topics.items():
        for topics in topic_lists:
            for countries in ((), ("Spain",)):
                excerpt = policy_excerpt(s.policies[kind], topics, countries)
                assert excerpt is not None, (kind, topics, countries)
                excerpts.append(excerpt)
                yield f"policy {kind} {topics} {countries}", ReplyFacts(policies=(excerpt,))
    yield (
        "everything",
        ReplyFacts(
            customer_name="María",
            orders=several,
            recent_orders=s.recent["many"],
            missing_orders=("#9999",),
            products=(ProductMatch(s.products["pro-compression-leggings"]),),
            product_searched=True,
            discounts=tuple(s.discounts.values())[:3],
            promotions=s.promotions,
            policies=(excerpts[0], excerpts[-1]),
            topics=frozenset().union(*TOPIC_SETS),
            sorry=True,
            ticket_id="T-000042",
            measurements=(("calf", 38.0),),
            deadline=(24, 12),
        ),
    )


def _models(facts: ReplyFacts) -> list[object]:
    return [
        *facts.orders,
        facts.recent_orders,
        *(m.product for m in (*facts.products, *facts.recommendations)),
        *facts.discounts,
        facts.promotions,
        *(e.policy for e in facts.policies),
    ]


_EVIDENCE: dict[int, tuple[ReplyFacts, Evidence, set[str]]] = {}


def _evidence(facts: ReplyFacts) -> tuple[Evidence, set[str]]:
    """What the tools returned (the draft guard's evidence) and every URL in it; computed once per set of facts."""
    cached = _EVIDENCE.get(id(facts))
    if cached is not None and cached[0] is facts:
        return cached[1], cached[2]
    evidence, urls = Evidence(), set()
    for model in _models(facts):
        if model is not None:
            dumped = model.model_dump(mode="json")  # type: ignore[attr-defined]
            evidence.add_tool_result(dumped)
            urls |= {url for text in _strings(dumped) for url in URL.findall(text)}
    _EVIDENCE[id(facts)] = (facts, evidence, urls)
    return evidence, urls


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _merchant_words(facts: ReplyFacts) -> list[str]:
    """What the merchant wrote (titles, names, carriers, codes): not in the reply's language, by design."""
    words = [p.policy.title for p in facts.policies]
    for order in facts.orders:
        words += [i.title for i in order.items] + [i.variant or "" for i in order.items]
        words += [t.carrier or "" for s in order.shipments for t in s.tracking]
    for match in (*facts.products, *facts.recommendations):
        words += [match.product.title] + [v.title for v in match.product.variants]
        words += [value for v in match.product.variants for value in v.options.values()]
    infos = [c.discount for c in facts.discounts if c.discount] + [c.code for c in facts.discounts]
    if facts.promotions:
        infos += [*facts.promotions.automatic, *facts.promotions.public_codes]
    words += [i if isinstance(i, str) else i.title for i in infos] + ["Carolina", "Aurora Activewear"]
    return sorted(filter(None, words), key=len, reverse=True)


def _template_text(reply: str, facts: ReplyFacts) -> str:
    text = "\n".join(line for line in reply.splitlines() if not line.startswith(">"))
    for word in _merchant_words(facts):
        text = text.replace(word, "")
    return URL.sub("", text)


def _sentences(reply: str) -> list[str]:
    prose = [line for line in reply.splitlines() if line and not line.startswith((">", "- ", "  "))]
    return [s.strip() for line in prose for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 5]


def contradictions(reply: str, language: str) -> list[str]:
    """Statements of one order that contradict each other: 'out for delivery today' over a parcel whose expected
    delivery is another day."""
    book = phrasebook(language)
    today_state = book.word("state", "out_for_delivery_today")
    eta = re.compile(re.escape(book.say("eta", when="WHEN")).replace("WHEN", "(.+)") + "$")
    order_start = book.say("order_state", number="NUMBER", placed="", state="").split("NUMBER")[0]
    found, says_today = [], False
    for line in reply.splitlines():
        if line.startswith(order_start):
            says_today = line.rstrip(".").endswith(today_state)
        match = eta.match(line)
        if says_today and match and match.group(1) != book.data["relative"]["today"]:
            found.append(f"'{today_state}' but {line!r}")
    return found


def problems(
    reply: str,
    language: str,
    facts: ReplyFacts,
    signature: str = SIGNATURE,
    today: date | None = None,
    zone: tzinfo = UTC,
) -> list[str]:
    """Everything a merchant would have to fix before sending `reply` (dates as on `today` in `zone`, by default
    this day in UTC)."""
    found = contradictions(reply, language)
    lines = reply.splitlines()
    body = lines[1 : len(lines) - len(signature.splitlines()) - 1]  # between the greeting and the closing
    if re.search(r"\$\w|\$\{|[{}]", reply):
        found.append("unfilled placeholder")
    if not reply.rstrip().endswith(signature):
        found.append("signature")
    for index, line in enumerate(body):
        if not line or line.startswith(">"):
            continue
        plain = URL.sub("URL", line).rstrip()
        if plain.count("(") != plain.count(")"):
            found.append(f"unbalanced parenthesis: {line!r}")
        listed = line.startswith(("- ", "  "))
        if not listed and plain[-1] not in ".:?!" and not plain.endswith("URL"):
            found.append(f"truncated sentence: {line!r}")
        if plain.endswith(":") and (index + 1 == len(body) or not body[index + 1].strip()):
            found.append(f"empty list heading: {line!r}")
    book, today = phrasebook(language), today or datetime.now(UTC).date()
    for shipment in (shipment for order in facts.orders for shipment in order.shipments):
        eta = shipment.estimated_delivery_at
        if eta is None or shipment.delivered_at or shipment.name not in reply or eta.astimezone(zone).date() >= today:
            continue
        if book.say("eta", when=book.when(eta, today, zone=zone)) in reply or book.say("note_late") not in reply:
            found.append(f"a past estimate presented as expected: {shipment.name}")
    sentences = _sentences(reply)
    repeated = {s for s in sentences if sentences.count(s) > 1}
    if repeated:
        found.append(f"repeated: {sorted(repeated)}")
    if sum(THANKS[language] in s.lower() for s in re.split(r"(?<=[.!?])\s+", reply)) > 1:
        found.append("thanks more than once")
    evidence, allowed = _evidence(facts)
    if set(URL.findall(reply)) - allowed:
        found.append(f"links not from the tools: {set(URL.findall(reply)) - allowed}")
    guarded = guard_draft(
        reply,
        evidence=evidence,
        shop_domains=("aurora-activewear.example", "shop.aurora-activewear.example"),
        recipient=OWNER,
        customer_text=" ".join(f"order #{re.sub(r'[^0-9]', '', n)}" for n in facts.missing_orders),  # what they wrote
        shop_text=signature,
    )
    if guarded.flagged:
        found.append(f"draft guard: {guarded.removed}")
    if detect_language(_template_text(reply, facts), default="??") != language:
        found.append("not in the customer's language")
    for index, line in enumerate(lines):
        if line.startswith(">") and not lines[index - 1].startswith(">"):
            intro = lines[index - 1]
            foreign = [p for p in facts.policies if p.language != language]
            if foreign and phrasebook(language).word("language_names", foreign[0].language) not in intro:
                found.append(f"foreign excerpt not announced: {intro!r}")
    return found


@pytest.mark.anyio
async def test_every_template_renders_completely_in_every_language(sandbox: Sandbox) -> None:
    """No truncated sentence, no unfilled slot, no empty list heading, no repeated sentence, one thank-you, only the
    tools' links, a clean draft guard, the customer's language throughout, for every fact combination."""
    failures = []
    rendered = 0
    for name, facts in combinations(sandbox):
        for category in CATEGORIES:
            for language in LANGUAGES:
                reply = render_reply(category, language, facts, tone=TONE)
                rendered += 1
                for problem in problems(reply, language, facts):
                    failures.append(f"{name} / {category} / {language}: {problem}\n{reply}")
    kinds = sorted({f.split("\n")[0].split(": ", 1)[-1][:80] for f in failures})
    assert not failures, f"{len(failures)} problems ({kinds[:20]}), first:\n" + "\n\n".join(failures[:3])
    assert rendered > 5_000


def test_every_phrase_book_has_the_same_keys_and_every_state() -> None:
    english = phrasebook("en").data
    for language in LANGUAGES:
        data = phrasebook(language).data
        assert set(data) == set(english), language
        for table in data:
            assert set(data[table]) == set(english[table]), (language, table)
        assert len(data["format"]["months"]) == 12
        for key, text in data["text"].items():
            assert set(re.findall(r"\$(\w+)", text)) == set(re.findall(r"\$(\w+)", english["text"][key])), key
    for state in OrderDetails.model_fields["state"].annotation.__args__:  # type: ignore[union-attr]
        assert state in english["state"]


def test_every_phrase_book_is_valid_toml_with_whole_sentences() -> None:
    """The bug that cut `ask_order_number` short: an unescaped quote ended the string and the rest became a comment."""
    folder = Path(__file__).resolve().parents[2] / "orchestrator" / "templates"
    pairs = ("()", "«»", "„“", "“”")
    for language in LANGUAGES:
        text = tomllib.loads((folder / f"{language}.toml").read_text(encoding="utf-8"))["text"]
        for key, value in text.items():
            for opening, closing in pairs:
                assert value.count(opening) == value.count(closing), (language, key, value)
        assert "#" in text["ask_order_number"] and text["ask_order_number"].endswith("."), language


CHAT_PHRASES = ("holding_no_contact", "ask_order_email", "ticket")
"""Phrases the chat puts in a reply itself (orchestrator/chat.py), which `render_reply` never renders: the test above
over every template cannot see them, so they are checked here the same way."""


@pytest.mark.parametrize("language", LANGUAGES)
def test_phrases_the_chat_adds_are_whole_sentences_in_the_replys_language(language: str) -> None:
    book = phrasebook(language)
    for key in CHAT_PHRASES:
        values = dict.fromkeys(re.findall(r"\$(\w+)", book.data["text"][key]), "T-000042")
        phrase = book.say(key, **values)
        reply = render_reply("ShippingDelivery", language, ReplyFacts(), tone=TONE).replace(
            book.say("ask_order_number"), phrase
        )
        assert problems(reply, language, ReplyFacts()) == [], (key, reply)
        assert phrase.endswith(".") and detect_language(phrase, default="??") == language, (key, phrase)
    asks = book.say("ask_order_email")
    assert "#" not in asks and asks != book.say("holding_no_contact"), "it asks for the address, not the number"


@pytest.mark.anyio
async def test_two_orders_in_one_message_are_both_answered(sandbox: Sandbox) -> None:
    facts = ReplyFacts(customer_name="María", orders=(sandbox.orders["#1021"], sandbox.orders["#1029"]))
    reply = render_reply("ShippingDelivery", "es", facts, tone=TONE)
    assert "Pedido #1021" in reply and "Pedido #1029" in reply
    assert "DHL Express, número de seguimiento 6219473050: https://www.dhl.com/" in reply
    assert "El pedido #1029 todavía no ha salido de nuestro almacén." in reply
    assert "Pendiente de envío: 1 \u00d7 Thermal Half-Zip Running Top (XL / Berry)." in reply
    assert reply.startswith("Hola, María:")


@pytest.mark.anyio
async def test_a_past_estimate_is_late_and_dates_are_relative_to_today(sandbox: Sandbox) -> None:
    order = sandbox.orders["#1019"]  # UPS parcel two days past its estimate
    eta = order.shipments[0].estimated_delivery_at
    assert eta is not None
    book = phrasebook("en")
    for today, expected in [(eta.date() + timedelta(days=2), "on"), (eta.date() + timedelta(days=1), "yesterday")]:
        reply = render_reply("ShippingDelivery", "en", ReplyFacts(orders=(order,)), tone=TONE, today=today)
        when = book.date(eta.date()) if expected == "on" else "yesterday"
        assert (
            f"The carrier expected to deliver it {'on ' if expected == 'on' else ''}{when}, so it is running late"
            in reply
        )
        assert "Expected delivery" not in reply
        assert book.say("note_late") in reply and book.say("next_ShippingDelivery") not in reply
    before = render_reply("ShippingDelivery", "en", ReplyFacts(orders=(order,)), tone=TONE, today=eta.date())
    assert "- Expected delivery today." in before and book.say("note_late") not in before
    assert book.say("note_delivery_problem") in before, "the carrier reports a delay even before the estimate"
    in_transit = ReplyFacts(orders=(sandbox.orders["#1021"],))
    assert book.say("next_ShippingDelivery") in render_reply("ShippingDelivery", "en", in_transit, tone=TONE)
    tomorrow = render_reply(
        "ShippingDelivery", "fr", ReplyFacts(orders=(order,)), tone=TONE, today=eta.date() - timedelta(1)
    )
    assert "- Livraison prévue demain." in tomorrow


def test_dates_take_each_languages_article() -> None:
    today = date(2026, 1, 15)
    assert phrasebook("it").when(date(2026, 12, 8), today) == "l'8 dicembre 2026"
    assert phrasebook("it").when(date(2026, 12, 8), today, "until") == "fino all'8 dicembre 2026"
    assert phrasebook("it").when(date(2026, 12, 5), today) == "il 5 dicembre 2026"
    assert phrasebook("fr").when(date(2026, 12, 1), today) == "le 1er décembre 2026"
    assert phrasebook("de").when(date(2026, 12, 1), today, "until") == "bis zum 1. Dezember 2026"
    assert phrasebook("es").when(datetime(2026, 1, 16, 23, tzinfo=UTC), today) == "mañana"
    assert phrasebook("pt").when(date(2026, 1, 14), today) == "ontem"


@pytest.mark.anyio
async def test_product_reply_answers_the_variant_asked_and_its_restock(sandbox: Sandbox) -> None:
    product = sandbox.products["pro-compression-leggings"]
    navy_l = next(v for v in product.variants if v.title == "L / Deep Navy")
    facts = ReplyFacts(products=(ProductMatch(product, (navy_l.id,)),), topics=frozenset({"restock"}))
    reply = render_reply("ProductInfoAvailability", "de", facts, tone=TONE)
    book = phrasebook("de")
    assert "- L / Deep Navy: ausverkauft" in reply
    assert book.say("restock_unknown", variant="L / Deep Navy") in reply and book.say("note_restock") in reply
    assert "XS / Black" not in reply, "only the variant asked about"
    assert "Sofort lieferbar: L / Black, S / Deep Navy, M / Deep Navy." in reply
    assert str(product.url) in reply and "69,90 EUR" in reply
    backorder = sandbox.products["thermal-half-zip-running-top"]
    berry = next(v for v in backorder.variants if v.stock_status == "backorder")
    reply = render_reply(
        "ProductInfoAvailability", "en", ReplyFacts(products=(ProductMatch(backorder, (berry.id,)),)), tone=TONE
    )
    assert f"{berry.title} can be ordered now: it ships as soon as it is back in stock." in reply


@pytest.mark.anyio
async def test_a_product_the_shop_does_not_sell_lists_nothing_else(sandbox: Sandbox) -> None:
    reply = render_reply("ProductInfoAvailability", "en", ReplyFacts(product_searched=True), tone=TONE)
    assert phrasebook("en").say("product_not_found") in reply and URL.findall(reply) == []
    archived = ReplyFacts(products=(ProductMatch(sandbox.products["merino-blend-running-tee"]),), product_searched=True)
    reply = render_reply("ProductInfoAvailability", "en", archived, tone=TONE)
    assert "“Merino Blend Running Tee” is no longer part of our range" in reply
    assert phrasebook("en").say("note_recommend") in reply and "in stock" not in reply


@pytest.mark.anyio
async def test_billing_replies_address_the_problem_stated(sandbox: Sandbox) -> None:
    order = sandbox.orders["#1030"]
    book = phrasebook("de")
    double = render_reply(
        "PaymentBilling", "de", ReplyFacts(orders=(order,), topics=frozenset({"double_charge"})), tone=TONE
    )
    assert "zweimal abgebucht" in double and book.say("note_double_charge") in double
    assert "Erstattung" not in double, "nobody asked about a refund of the order"
    plain = render_reply("PaymentBilling", "de", ReplyFacts(orders=(order,)), tone=TONE)
    assert "zweimal" not in plain and "Erstattung" not in plain
    assert "Zahlungsstatus der Bestellung #1030: bezahlt." in plain
    pending = render_reply("PaymentBilling", "pt", ReplyFacts(orders=(sandbox.orders["#1027"],)), tone=TONE)
    assert "continua a aparecer como pendente" in pending and "assim que recebermos o pagamento" in pending
    refunded = ReplyFacts(orders=(sandbox.orders["#1008"],), topics=frozenset({"refund_status", "invoice"}))
    reply = render_reply("PaymentBilling", "en", refunded, tone=TONE)
    assert "Refund of 69.90 EUR issued" in reply and "invoice for order #1008" in reply


@pytest.mark.anyio
async def test_discount_reply_explains_the_expiry_and_lists_public_promotions(sandbox: Sandbox) -> None:
    check = sandbox.discounts["SUMMER25"]
    reply = render_reply(
        "PromotionsDiscountsPricing", "it", ReplyFacts(discounts=(check,), promotions=sandbox.promotions), tone=TONE
    )
    assert check.discount is not None and check.discount.ends_at is not None
    today = datetime.now(UTC).date()
    assert f"Il codice SUMMER25 è scaduto {phrasebook('it').when(check.discount.ends_at, today)}" in reply
    for promotion in sandbox.promotions.public_codes:
        assert f"con il codice {promotion.code}" in reply
    assert "60,00 EUR" in reply and "«Summer sale 25%»" in reply


@pytest.mark.anyio
async def test_a_policy_in_another_language_is_announced_and_quoted_whole(sandbox: Sandbox) -> None:
    policy = sandbox.policies["refund"]
    excerpt = policy_excerpt(policy, ["refund_status", "return_cost"], ("France",))
    assert excerpt is not None and excerpt.language == "en"
    facts = ReplyFacts(orders=(sandbox.orders["#1017"],), policies=(excerpt,), topics=frozenset({"refund_status"}))
    reply = render_reply("ReturnsCancellationsExchanges", "fr", facts, tone=TONE)
    assert "Notre page « Refund policy » n'est publiée qu'en anglais" in reply
    quoted = [line[2:] for line in reply.splitlines() if line.startswith("> ")]
    assert 0 < sum(len(line) for line in quoted) <= POLICY_EXCERPT
    assert all(line in policy.text for line in quoted), "whole paragraphs, never a cut sentence"
    assert any("return shipping is at your expense" in line for line in quoted)
    assert any("Approved refunds reach your bank" in line for line in quoted)
    assert not any("Spain & Portugal" in line for line in quoted), "the line for the customer's country"
    assert phrasebook("fr").say("refund_after_return", number="#1017") in reply
    english = render_reply("ReturnsCancellationsExchanges", "en", facts, tone=TONE)
    assert "From our “Refund policy” page:" in english and "published in" not in english


@pytest.mark.anyio
async def test_recent_orders_without_a_number_list_each_order(sandbox: Sandbox) -> None:
    facts = ReplyFacts(recent_orders=sandbox.recent["many"])
    reply = render_reply("ShippingDelivery", "pt", facts, tone=TONE)
    assert problems(reply, "pt", facts) == []
    for summary in sandbox.recent["many"].orders:
        assert summary.order_number in reply and summary.status_page_url in reply
    none = render_reply("ShippingDelivery", "en", ReplyFacts(recent_orders=sandbox.recent["none"]), tone=TONE)
    assert phrasebook("en").say("no_orders") in none and phrasebook("en").say("ask_order_number") in none


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("category", ["OrderPlacementStatus", "ShippingDelivery", "PaymentBilling"])
def test_order_category_without_an_order_asks_for_the_number(category: str, language: str) -> None:
    reply = render_reply(category, language, ReplyFacts(), tone=TONE)
    assert phrasebook(language).say("ask_order_number") in reply
    assert URL.findall(reply) == []
    assert detect_language(reply) == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_order_number_is_named_and_sanitised(language: str) -> None:
    facts = ReplyFacts(missing_orders=("1017<script>",))
    reply = render_reply("ReturnsCancellationsExchanges", language, facts, tone=TONE)
    assert "#1017" in reply and "<script>" not in reply


@pytest.mark.parametrize("language", LANGUAGES)
def test_handover_gets_the_holding_reply_without_facts(language: str) -> None:
    facts = ReplyFacts(customer_name="Søren", handover=True, ticket_id="T-000007")
    reply = render_reply("CustomerComplaintsSatisfaction", language, facts, tone=TONE)
    assert phrasebook(language).say("holding") in reply
    assert "T-000007" in reply and "Søren" in reply
    assert URL.findall(reply) == []


def test_missing_facts_are_handed_to_a_colleague() -> None:
    reply = render_reply("ProductInfoAvailability", "en", ReplyFacts(), tone=TONE)
    assert phrasebook("en").say("product_unclear") in reply
    reply = render_reply("PromotionsDiscountsPricing", "es", ReplyFacts(), tone=TONE)
    assert phrasebook("es").say("note_colleague_check") in reply


def test_untrusted_customer_name_never_becomes_a_link() -> None:
    reply = render_reply("AccountProfileOther", "en", ReplyFacts(customer_name="http://evil.example/x Bob"), tone=TONE)
    assert "evil" not in reply and reply.startswith("Hello,")


def test_unknown_language_falls_back_to_english_and_emoji_is_optional() -> None:
    tone = Tone(persona_name="Carolina", shop_name="Aurora Activewear", signature="", emoji=True)
    reply = render_reply("TechnicalIssues", "nl", ReplyFacts(), tone=tone)
    assert detect_language(reply) == "en" and "🙂" in reply and reply.rstrip().endswith("Carolina")
    assert "🙂" not in render_reply("TechnicalIssues", "en", ReplyFacts(), tone=TONE)


def test_the_signature_is_the_one_for_the_replys_language() -> None:
    config = load_config()
    assert set(config.tone.signatures) == set(LANGUAGES)
    tone = Tone(
        persona_name="Carolina",
        shop_name=config.shop.name,
        signature=config.tone.signature,
        signatures=config.tone.signatures,
    )
    for language in LANGUAGES:
        reply = render_reply("AccountProfileOther", language, ReplyFacts(), tone=tone)
        assert reply.rstrip().endswith(config.tone.signatures[language])
        assert problems(reply, language, ReplyFacts(), signature=config.tone.signatures[language]) == []
    assert "Atención al cliente" in render_reply("TechnicalIssues", "es", ReplyFacts(), tone=tone)
    assert (
        render_reply("TechnicalIssues", "nl", ReplyFacts(), tone=tone).rstrip().endswith(config.tone.signatures["en"])
    )
    only_default = Tone(persona_name="Carolina", shop_name="Aurora", signature="Carolina\nAurora")
    assert render_reply("TechnicalIssues", "de", ReplyFacts(), tone=only_default).rstrip().endswith("Carolina\nAurora")
    assert config.tone.signature_for("fr") == config.tone.signatures["fr"]


def test_signatures_are_keyed_by_language_code(tmp_path: Path) -> None:
    source = Path(load_config.__code__.co_filename).with_name("default_config.toml").read_text(encoding="utf-8")
    broken = tmp_path / "config.toml"
    broken.write_text(source.replace('es = "Carolina\\nAtención', 'Spanish = "Carolina\\nAtención'), encoding="utf-8")
    with pytest.raises(ConfigError, match="two-letter language codes"):
        load_config(broken)
