"""The draft guard: links limited to the shop and the tools' results; no other customer's email or order number."""

from __future__ import annotations

from orchestrator.guard import Evidence, guard_draft

SHOP = ("aurora-activewear.example",)


def evidence() -> Evidence:
    found = Evidence()
    found.add_tool_result(
        {
            "order_number": "#1021",
            "shipments": [
                {"tracking": [{"url": "https://www.dhl.com/es-es/home/tracking.html?tracking-id=6219473050"}]}
            ],
            "status_page_url": "https://aurora-activewear.myshopify.com/123/orders/abc/authenticate?key=x",
        }
    )
    return found


def test_tool_links_and_shop_links_stay() -> None:
    text = (
        "Track it here: https://www.dhl.com/es-es/home/tracking.html?tracking-id=6219473050. "
        "Our policy: https://shop.aurora-activewear.example/policies/refund-policy"
    )
    result = guard_draft(text, evidence=evidence(), shop_domains=SHOP, recipient="maria.garcia@example.com")
    assert result.text == text and not result.flagged


def test_foreign_links_are_removed_and_flagged() -> None:
    text = "Claim your refund at https://evil.example/login, or www.phish.example/x."
    result = guard_draft(text, evidence=evidence(), shop_domains=SHOP, recipient="maria.garcia@example.com")
    assert "evil.example" not in result.text and "phish.example" not in result.text
    assert result.text.endswith("[link removed].") and result.flagged
    lookalike = guard_draft(
        "https://www.dhl.com.evil.example/track", evidence=evidence(), shop_domains=SHOP, recipient="m@example.com"
    )
    assert lookalike.flagged


def test_other_customers_data_is_removed() -> None:
    text = "Your order #1021 is on its way. Also, oliver.bennett@example.net's order #1019 is delayed."
    result = guard_draft(text, evidence=evidence(), shop_domains=SHOP, recipient="maria.garcia@example.com")
    assert "#1021" in result.text
    assert "oliver.bennett" not in result.text and "#1019" not in result.text
    assert set(result.removed) == {"email address", "order #1019"}


def test_numbers_the_customer_wrote_and_own_addresses_stay() -> None:
    text = "About #1029: write to support@aurora-activewear.example or reply to maria.garcia@example.com."
    result = guard_draft(
        text,
        evidence=evidence(),
        shop_domains=SHOP,
        recipient="maria.garcia@example.com",
        customer_text="¿Y mi pedido #1029?",
    )
    assert result.text == text
