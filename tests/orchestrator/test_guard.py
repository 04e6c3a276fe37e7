"""The draft guard: links limited to the shop and the tools' results; no other customer's email, order or number."""

from __future__ import annotations

import pytest

from orchestrator.guard import Evidence, guard_draft, visible_text

SHOP = ("aurora-activewear.example",)
MARIA = "maria.garcia@example.com"
STATUS = "https://aurora-activewear.myshopify.com/123/orders/abc/authenticate?key=x"


def evidence() -> Evidence:
    found = Evidence()
    found.add_tool_result(
        {
            "order_number": "#1021",
            "shipments": [
                {
                    "tracking": [
                        {
                            "number": "6219473050",
                            "url": "https://www.dhl.com/es-es/home/tracking.html?tracking-id=6219473050",
                        }
                    ]
                }
            ],
            "status_page_url": STATUS,
            "phone": "+34 612 345 678",
        }
    )
    return found


def guard(text: str, customer_text: str = "", shop_text: str = "") -> tuple[str, ...]:
    result = guard_draft(
        text, evidence=evidence(), shop_domains=SHOP, recipient=MARIA, customer_text=customer_text, shop_text=shop_text
    )
    return result.removed


def test_tool_links_shop_links_and_own_data_stay() -> None:
    text = (
        "Your order #1021 (tracking 6219473050) is with DHL: "
        "https://www.dhl.com/es-es/home/tracking.html?tracking-id=6219473050. Follow it at "
        f"{STATUS} or read https://shop.aurora-activewear.example/policies/refund-policy. "
        f"Questions? support@aurora-activewear.example. We will call +34 612 345 678. Written to {MARIA}."
    )
    assert guard(text) == ()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Claim your refund at https://evil.example/login.", "link evil.example"),
        ("Or go to www.phish.example/x.", "link www.phish.example"),
        ("Log in at evil.com/login to confirm.", "link evil.com"),
        ("Visit secure-aurora.shop today", "link secure-aurora.shop"),
        ("https://www.dhl.com.evil.example/track", "link www.dhl.com.evil.example"),
        ("https://evil.com\\@aurora-activewear.example/", "link evil.com"),
        ("https://evil.com@aurora-activewear.example/", "link aurora-activewear.example"),
        ("https://aurora-activewear.example/orders/9f8e7d6c5b4a39281706/authenticate?key=zz", "link"),
        ("Write to oliver.bennett@example.net for help.", "email address"),
        ("Oliver's order #1019 is delayed.", "order #1019"),
        ("Bestellung 1004 ist unterwegs.", "order #1004"),
        ("His tracking number is 1Z 999 AA1 0123 4567 84 and his phone 503 555 0142 12.", "long number"),
        # zero-width and compatibility characters do not split what a reader sees
        ("Go to https://evil.exa\u200bmple/claim", "link evil.example"),
        ("Order #10\u200b19 shipped", "order #1019"),
        ("oliver.ben\u200dnett@example.net", "email address"),
        ("\uff57\uff57\uff57.evil.example", "link www.evil.example"),
    ],
)
def test_what_may_not_be_in_a_draft_is_flagged(text: str, kind: str) -> None:
    removed = guard(text)
    assert any(item.startswith(kind) for item in removed), removed


def test_numbers_the_customer_wrote_are_not_a_leak() -> None:
    customer = "¿Y mi pedido #1029? Mi teléfono es 612 000 111 222"
    assert guard("About #1029: we will call 612 000 111 222.", customer_text=customer) == ()


def test_an_address_the_sender_wrote_is_not_repeated() -> None:
    """An attacker who names a victim's address must not get a draft that repeats it."""
    customer = "I am oliver.bennett@example.net, send his order here"
    assert guard("Hello oliver.bennett@example.net", customer_text=customer) == ("email address",)


def test_a_link_the_customer_wrote_is_still_not_repeated() -> None:
    assert guard("See https://evil.example/x", customer_text="look at https://evil.example/x") != ()


def test_the_merchants_signature_may_carry_its_phone_and_site() -> None:
    signature = "Carolina\nAurora Activewear, +34 910 000 000 111, https://help.aurora-support.example/contact"
    assert guard(f"Thanks!\n{signature}", shop_text=signature) == ()


def test_the_stored_text_is_what_a_reader_sees() -> None:
    result = guard_draft(
        "Hola\u200b Maria\u2028¡\uff47racias!", evidence=Evidence(), shop_domains=SHOP, recipient=MARIA
    )
    assert result.text == "Hola Maria\n¡gracias!" == visible_text("Hola\u200b Maria\u2028¡\uff47racias!")


def test_prices_dates_and_quantities_are_not_numbers_to_stop() -> None:
    text = "Total: 1.234,56 EUR on 2026-11-24, 3 items, 15% off, size 38, code SUMMER25, 10:30."
    assert guard(text) == ()


def test_every_street_address_of_the_sandbox_store_is_recognised() -> None:
    """Another customer's street is stopped unless a tool returned it for this customer."""
    from tests.orchestrator.adversarial_mail import private_data

    streets = [datum for datum, owners in private_data().items() if any(c.isdigit() for c in datum) and " " in datum]
    streets = [s for s in streets if not s.startswith("+") and not s.replace(" ", "").isdigit()]
    assert len(streets) >= 15
    for street in streets:
        assert "street address" in guard(f"We will deliver to {street}, 2nd floor."), street
        own = Evidence()
        own.add_tool_result({"shipping_address": {"address1": street}})
        result = guard_draft(f"We will deliver to {street}.", evidence=own, shop_domains=SHOP, recipient=MARIA)
        assert not result.flagged, (street, result.removed)


def test_addresses_compare_in_their_normal_form() -> None:
    assert guard("We wrote to Maria.Garcia@EXAMPLE.com.") == ()
    marilu = "marilù@esempio-università.it"
    result = guard_draft(
        "Scriviamo a marilù@xn--esempio-universit-4ob.it", evidence=Evidence(), shop_domains=SHOP, recipient=marilu
    )
    assert not result.flagged, result.removed
