"""Reads the shop, locations, products (with stock) and discounts of a store file into records."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Hashable

from shopify_mcp.emulator.records import (
    Discount,
    InventoryItem,
    InventoryLevel,
    JSONDict,
    Location,
    Metafield,
    Product,
    ProductVariant,
    Shop,
    ShopLocale,
    ShopPolicy,
    Translation,
    gid,
    money,
)
from shopify_mcp.emulator.store_fields import RecordFields, unique

METAFIELD_NAMESPACE = "custom"
"""The store file's metafields all live in this namespace (the one the project reads)."""


DEFAULT_LOCALES = ({"locale": "en", "name": "English", "primary": True},)
"""A shop file without `locales` has one: English, primary and published."""
_LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")


def read_shop(record: RecordFields, now: dt.datetime) -> Shop:
    domain = record.text("myshopify_domain")
    primary = record.text("primary_domain")
    legacy_id = int(hashlib.sha256(domain.encode()).hexdigest()[:10], 16) % 10**11
    locales = _read_locales(record)
    policies = []
    for index, item in enumerate(record.items("policies"), start=1):
        kind = item.enum("type", "ShopPolicyType")
        updated = item.opt_moment("updated_days_ago", now) or now - dt.timedelta(days=30)
        policies.append(
            ShopPolicy(
                id=gid("ShopPolicy", legacy_id * 10 + index),
                type=kind,
                title=item.text("title"),
                body=item.text("body_html"),
                url=f"https://{primary}/policies/{kind.lower().replace('_', '-')}",
                created_at=min(updated, now - dt.timedelta(days=365)),
                updated_at=updated,
                translations=_read_translations(item, locales, updated, now),
            )
        )
    return Shop(
        id=gid("Shop", legacy_id),
        legacy_id=legacy_id,
        name=record.text("name"),
        email=record.text("contact_email"),
        contact_email=record.text("contact_email"),
        myshopify_domain=domain,
        primary_domain={"id": gid("Domain", legacy_id), "host": primary, "url": f"https://{primary}"},
        url=f"https://{primary}",
        currency_code=record.enum("currency", "CurrencyCode"),
        shop_policies=policies,
        shop_locales=locales,
    )


def _read_locales(record: RecordFields) -> list[ShopLocale]:
    """`shop.locales`: exactly one primary (always published), each locale once, spelt as Shopify does."""
    items = record.items("locales") or [RecordFields(dict(d), "shop.locales[0]") for d in DEFAULT_LOCALES]
    locales = []
    for item in items:
        code = item.text("locale")
        if not _LOCALE.fullmatch(code):
            item.fail(f"`locale` is {code!r}, not a Shopify locale such as 'de' or 'pt-BR'")
        primary = item.boolean("primary", default=False)
        published = item.boolean("published", default=True)
        if primary and not published:
            item.fail("the primary locale is always published")
        locales.append(ShopLocale(locale=code, name=item.text("name"), primary=primary, published=published))
    unique(locales, lambda locale: locale.locale, "shop.locales", "locale")
    if sum(locale.primary for locale in locales) != 1:
        record.fail("`locales` needs exactly one primary locale")
    return locales


def _read_translations(
    item: RecordFields, locales: list[ShopLocale], updated: dt.datetime, now: dt.datetime
) -> list[Translation]:
    """`translations`: locale -> {"body_html", "updated_days_ago"}; outdated when older than the policy text."""
    translations = item.child("translations")
    if translations is None:
        return []
    allowed = {locale.locale for locale in locales if not locale.primary}
    found = []
    for code in translations.data:
        if code not in allowed:
            translations.fail(f"{code!r} is not one of the shop's secondary locales ({', '.join(sorted(allowed))})")
        entry = RecordFields(translations.data[code], f"{translations.where}.{code}")
        at = entry.opt_moment("updated_days_ago", now) or updated
        body = entry.text("body_html")
        found.append(Translation(key="body", locale=code, value=body, updated_at=at, outdated=at < updated))
    return found


def read_location(record: RecordFields) -> Location:
    legacy_id = record.integer("id")
    return Location(
        id=gid("Location", legacy_id),
        legacy_id=legacy_id,
        name=record.text("name"),
        country=record.enum("country", "CountryCode"),
    )


def read_product(record: RecordFields, shop: Shop, locations: dict[Hashable, Location], now: dt.datetime) -> Product:
    """A product with its variants; stock, availability, totals and price range are computed here."""
    legacy_id = record.integer("id")
    record.where = f"products[id={legacy_id}]"
    status = record.enum("status", "ProductStatus")
    handle = record.text("handle")
    created = record.opt_moment("created_days_ago", now) or now - dt.timedelta(days=365)
    product = Product(
        id=gid("Product", legacy_id),
        legacy_id=legacy_id,
        title=record.text("title"),
        handle=handle,
        status=status,
        vendor=record.opt_text("vendor") or "",
        product_type=record.opt_text("product_type") or "",
        tags=record.strings("tags"),
        description_html=record.opt_text("description_html") or "",
        online_store_url=f"https://{shop.primary_domain['host']}/products/{handle}" if status == "ACTIVE" else None,
        created_at=created,
        updated_at=created,
        option_names=record.strings("options"),
    )
    metafields = record.child("metafields")
    for index, (key, raw) in enumerate(sorted((metafields.data if metafields else {}).items()), start=1):
        item = RecordFields(raw, f"{record.where}.metafields.{key}")
        product.metafields.append(
            Metafield(
                id=gid("Metafield", legacy_id * 1000 + index),
                namespace=METAFIELD_NAMESPACE,
                key=key,
                type=item.text("type"),
                value=item.text("value"),
            )
        )
    for position, item in enumerate(record.items("variants"), start=1):
        product.variants.append(_read_variant(item, product, position, locations))
    if not product.variants:
        record.fail("a product needs at least one variant")
    prices = [variant.price for variant in product.variants]
    product.price_range_v2 = {
        "minVariantPrice": money(min(prices), shop.currency_code),
        "maxVariantPrice": money(max(prices), shop.currency_code),
    }
    tracked = [variant for variant in product.variants if variant.inventory_item.tracked]
    product.tracks_inventory = bool(tracked)
    product.total_inventory = sum(variant.inventory_quantity for variant in tracked)
    return product


def _read_variant(
    record: RecordFields, product: Product, position: int, locations: dict[Hashable, Location]
) -> ProductVariant:
    """Availability: not for sale unless the product is ACTIVE; then untracked or CONTINUE, or stock > 0."""
    legacy_id = record.integer("id")
    record.where = f"products[id={product.legacy_id}].variants[id={legacy_id}]"
    tracked = record.boolean("tracked")
    policy = record.enum("inventory_policy", "ProductVariantInventoryPolicy")
    options = record.child("options")
    chosen = options.data if options else {}
    if set(chosen) != set(product.option_names):
        record.fail(f"`options` keys {sorted(chosen)} differ from the product's options {product.option_names}")
    levels = []
    stock = record.child("stock")
    for location_key, quantity in (stock.data if stock else {}).items():
        location = locations.get(int(location_key)) if str(location_key).isdigit() else None
        if location is None:
            record.fail(f"`stock` names location {location_key!r}, which is not in `locations`")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            record.fail(f"`stock` for location {location_key} must be an integer")
        level_id = gid("InventoryLevel", f"{location.legacy_id}?inventory_item_id={legacy_id}")
        levels.append(InventoryLevel(id=level_id, location=location, available=quantity))
    quantity = sum(level.available for level in levels) if tracked else 0
    title = record.text("title")
    sku = record.opt_text("sku")
    return ProductVariant(
        id=gid("ProductVariant", legacy_id),
        legacy_id=legacy_id,
        title=title,
        display_name=f"{product.title} - {title}",
        position=position,
        sku=sku,
        price=record.amount("price"),
        compare_at_price=record.opt_amount("compare_at_price"),
        inventory_policy=policy,
        inventory_quantity=quantity,
        available_for_sale=product.status == "ACTIVE" and (not tracked or policy == "CONTINUE" or quantity > 0),
        selected_options=[{"name": name, "value": str(chosen[name])} for name in product.option_names],
        inventory_item=InventoryItem(id=gid("InventoryItem", legacy_id), sku=sku, tracked=tracked, levels=levels),
        product=product,
    )


def read_discount(record: RecordFields, shop: Shop, now: dt.datetime) -> Discount:
    """Status: SCHEDULED before the start, EXPIRED after the end or once the usage limit is reached, else ACTIVE."""
    legacy_id = record.integer("id")
    record.where = f"discounts[id={legacy_id}]"
    method = record.choice("method", ("code", "automatic"))
    kind = record.choice("type", ("basic", "free_shipping", "bxgy", "app"))
    codes = record.strings("codes")
    if method == "code" and not codes:
        record.fail("a code discount needs at least one entry in `codes`")
    if method == "automatic" and codes:
        record.fail("an automatic discount has no `codes`")
    starts = record.moment("starts_days_ago", now)
    ends = record.opt_moment("ends_in_days", now)
    usage_limit = record.opt_integer("usage_limit")
    usage_count = record.integer("usage_count", default=0)
    if now < starts:
        status = "SCHEDULED"
    elif (ends is not None and ends <= now) or (usage_limit is not None and usage_count >= usage_limit):
        status = "EXPIRED"
    else:
        status = "ACTIVE"
    value, value_type = _customer_gets(record, shop.currency_code, kind)
    max_shipping = record.opt_amount("max_shipping_price")
    created = min(starts, now)
    return Discount(
        id=gid("DiscountCodeNode" if method == "code" else "DiscountAutomaticNode", legacy_id),
        legacy_id=legacy_id,
        method=method,
        kind=kind,
        title=record.text("title"),
        status=status,
        summary=record.opt_text("summary") or record.text("title"),
        starts_at=starts,
        ends_at=ends,
        created_at=created,
        updated_at=created,
        discount_classes=record.enums("classes", "DiscountClass"),
        codes=[
            {"id": gid("DiscountRedeemCode", legacy_id * 100 + i), "code": code, "asyncUsageCount": usage_count}
            for i, code in enumerate(codes, 1)
        ],
        tags=record.strings("tags"),
        customer_gets=None if value is None else {"value": value},
        minimum_requirement=_minimum(record.child("minimum"), shop.currency_code),
        usage_limit=usage_limit,
        async_usage_count=usage_count,
        applies_once_per_customer=record.boolean("once_per_customer", default=False),
        maximum_shipping_price=None if max_shipping is None else money(max_shipping, shop.currency_code),
        value_type=value_type,
    )


def _customer_gets(record: RecordFields, currency: str, kind: str) -> tuple[JSONDict | None, str]:
    """The `customerGets.value` union member and the search `type` (percentage, fixed_amount, bogo, ...).

    Buy-X-get-Y discounts answer `DiscountOnQuantity` (quantity + effect) as Shopify does.
    """
    if kind in ("free_shipping", "app"):
        return None, kind
    value = record.child("value")
    if value is None:
        record.fail(f"a {kind} discount needs a `value`")
    effect: JSONDict
    if value.has("percentage"):
        percentage = value.number("percentage")
        if not 0 < percentage <= 1:
            value.fail("`percentage` is a fraction: 0.15 means 15 %")
        effect, value_type = {"__typename": "DiscountPercentage", "percentage": percentage}, "percentage"
    else:
        effect = {
            "__typename": "DiscountAmount",
            "amount": money(value.amount("amount"), currency),
            "appliesOnEachItem": value.boolean("each_item", default=False),
        }
        value_type = "fixed_amount"
    if kind == "bxgy":
        quantity = {"quantity": value.integer("quantity", default=1)}
        return {"__typename": "DiscountOnQuantity", "quantity": quantity, "effect": effect}, "bogo"
    return effect, value_type


def _minimum(minimum: RecordFields | None, currency: str) -> JSONDict | None:
    if minimum is None:
        return None
    if minimum.has("subtotal"):
        subtotal = money(minimum.amount("subtotal"), currency)
        return {"__typename": "DiscountMinimumSubtotal", "greaterThanOrEqualToSubtotal": subtotal}
    return {"__typename": "DiscountMinimumQuantity", "greaterThanOrEqualToQuantity": minimum.integer("quantity")}
