"""The executable schema: resolvers for fields with arguments or relations, wrapped in their scope checks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import graphql
from graphql import GraphQLError, GraphQLResolveInfo

from shopify_mcp.emulator.access import FIELD_SCOPES, SCOPE_DESCRIPTIONS, RequestContext, access_denied
from shopify_mcp.emulator.counts import root_discount_nodes_count, root_orders_count
from shopify_mcp.emulator.filters import (
    DISCOUNT_SORT,
    ORDER_SORT,
    PRODUCT_SORT,
    discount_filter,
    order_filter,
    product_filter,
)
from shopify_mcp.emulator.listing import connection, first_items
from shopify_mcp.emulator.records import (
    Customer,
    Discount,
    InventoryItem,
    InventoryLevel,
    Order,
    Product,
    ShopLocale,
    ShopPolicy,
    Translation,
)
from shopify_mcp.emulator.schema import build_base_schema
from shopify_mcp.emulator.search import SearchFilter

if TYPE_CHECKING:
    from typing import TypeAlias

    Info: TypeAlias = GraphQLResolveInfo[Any]

QUANTITY_NAMES = frozenset(
    {"available", "on_hand", "committed", "reserved", "incoming", "damaged", "quality_control", "safety_stock"}
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@cache
def _attribute(field_name: str) -> str:
    return _CAMEL.sub("_", field_name).lower()


def resolve_attribute(source: Any, info: Info, **_: Any) -> Any:
    """Default resolver: dict key `totalPriceSet`, or record attribute `total_price_set`."""
    if isinstance(source, dict):
        return source.get(info.field_name)
    return getattr(source, _attribute(info.field_name), None)


def resolve_type(value: Any, info: Info, abstract_type: Any) -> str | None:
    """Union members: `__typename` in value dicts, `typename` on discount records."""
    if isinstance(value, dict):
        return value.get("__typename")
    return getattr(value, "typename", None)


def _ctx(info: Info) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


def _searched(info: Info, search: SearchFilter[Any]) -> None:
    entry = search.extension(list(info.path.as_list()))
    if entry is not None:
        _ctx(info).search.append(entry)


def _sorted(items: list[Any], sorts: dict[str, Callable[[Any], Any]], key: str | None, default: str) -> list[Any]:
    return sorted(items, key=sorts.get(key or default, sorts[default]))


# --- QueryRoot ----------------------------------------------------------------------------------------------


def _orders(ctx: RequestContext, pool: list[Order], info: Info, args: dict[str, Any]) -> Any:
    search = order_filter(args.get("query"))
    _searched(info, search)
    found = [order for order in pool if ctx.visible(order) and search(order)]
    return connection(_sorted(found, ORDER_SORT, args.get("sortKey"), "ID"), args)


def root_orders(_: Any, info: Info, **args: Any) -> Any:
    ctx = _ctx(info)
    return _orders(ctx, ctx.store.orders, info, {"sortKey": "PROCESSED_AT", **args})


def root_order(_: Any, info: Info, id: str) -> Order | None:
    ctx = _ctx(info)
    order = ctx.store.order(id)
    return order if order is not None and ctx.visible(order) else None


def root_customer_by_identifier(_: Any, info: Info, identifier: dict[str, Any]) -> Customer | None:
    given = {key: value for key, value in identifier.items() if value is not None}
    if len(given) != 1:
        raise GraphQLError("Exactly one of id, emailAddress or phoneNumber must be given as the identifier.")
    store = _ctx(info).store
    if "id" in given:
        return store.customer(str(given["id"]))
    if "emailAddress" in given:
        return store.customer_by_email(str(given["emailAddress"]))
    return store.customer_by_phone(str(given["phoneNumber"]))


def root_products(_: Any, info: Info, **args: Any) -> Any:
    search = product_filter(args.get("query"))
    _searched(info, search)
    found = [product for product in _ctx(info).store.products if search(product)]
    return connection(_sorted(found, PRODUCT_SORT, args.get("sortKey"), "ID"), args)


def root_product(_: Any, info: Info, id: str) -> Product | None:
    return _ctx(info).store.product(id)


def root_product_by_identifier(_: Any, info: Info, identifier: dict[str, Any]) -> Product | None:
    given = {key: value for key, value in identifier.items() if value is not None}
    if len(given) != 1:
        raise GraphQLError("Exactly one of id or handle must be given as the identifier.")
    store = _ctx(info).store
    return store.product(str(given["id"])) if "id" in given else store.product_by_handle(str(given["handle"]))


def root_code_discount(_: Any, info: Info, code: str) -> Discount | None:
    return _ctx(info).store.discount_by_code(code)


def root_discount_nodes(_: Any, info: Info, **args: Any) -> Any:
    search = discount_filter(args.get("query"))
    _searched(info, search)
    found = [discount for discount in _ctx(info).store.discounts if search(discount)]
    return connection(_sorted(found, DISCOUNT_SORT, args.get("sortKey"), "ID"), args)


def root_shop(_: Any, info: Info) -> Any:
    return _ctx(info).store.shop


def root_shop_locales(_: Any, info: Info, published: bool = False) -> list[ShopLocale]:
    return [locale for locale in _ctx(info).store.shop.shop_locales if locale.published or not published]


def policy_translations(policy: ShopPolicy, _: Info, locale: str, marketId: str | None = None) -> list[Translation]:
    """Translations into `locale` available in every market; the store has no market-specific ones."""
    if marketId is not None:
        return []
    return [translation for translation in policy.translations if translation.locale == locale]


def root_app_installation(_: Any, info: Info) -> dict[str, Any]:
    scopes = sorted(_ctx(info).scopes)
    return {
        "id": "gid://shopify/AppInstallation/1",
        "accessScopes": [{"handle": s, "description": SCOPE_DESCRIPTIONS.get(s, s)} for s in scopes],
    }


# --- Orders and customers -----------------------------------------------------------------------------------


def order_status_page_url(_order: Order, info: Info, **_: Any) -> str:
    shop = _ctx(info).store.shop
    key = hashlib.sha256(f"key:{_order.token}".encode()).hexdigest()[:32]
    return f"https://{shop.myshopify_domain}/{shop.legacy_id}/orders/{_order.token}/authenticate?key={key}"


def customer_orders(customer: Customer, info: Info, **args: Any) -> Any:
    return _orders(_ctx(info), customer.orders, info, args)


def customer_last_order(customer: Customer, info: Info) -> Order | None:
    ctx = _ctx(info)
    visible = [order for order in customer.orders if ctx.visible(order)]
    return visible[-1] if visible else None


# --- Products -----------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" ")


def description_text(html: str) -> str:
    """`Product.description` as Shopify computes it: the HTML description without tags, on one line. It imitates the
    remote API, so it is not support_core.html_text (which keeps paragraphs and lists for a reader)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


def product_description(product: Product, _: Info, truncateAt: int | None = None) -> str:
    text = description_text(product.description_html)
    if truncateAt is not None and len(text) > truncateAt:
        return text[: max(truncateAt - 3, 0)] + "..."
    return text


def _metafields(product: Product, namespace: str | None, keys: list[str] | None) -> list[Any]:
    """Without a namespace Shopify reads the app's private namespace, which the store never fills: nothing."""
    if namespace is None:
        return []
    found = [m for m in product.metafields if m.namespace == namespace]
    if keys is not None:
        wanted = {key.split(".", 1)[1] if "." in key else key for key in keys}
        found = [m for m in found if m.key in wanted]
    return found


def product_metafields(product: Product, _: Info, **args: Any) -> Any:
    return connection(_metafields(product, args.get("namespace"), args.get("keys")), args)


def product_metafield(product: Product, _: Info, key: str, namespace: str | None = None) -> Any:
    found = _metafields(product, namespace, [key])
    return found[0] if found else None


_VARIANT_SORT: dict[str, Callable[[Any], Any]] = {
    "POSITION": lambda v: v.position,
    "ID": lambda v: v.legacy_id,
    "SKU": lambda v: (v.sku or "", v.position),
    "TITLE": lambda v: (v.title, v.position),
    "FULL_TITLE": lambda v: (v.display_name, v.position),
    "NAME": lambda v: (v.display_name, v.position),
    "INVENTORY_QUANTITY": lambda v: (v.inventory_quantity, v.position),
    "INVENTORY_LEVELS_AVAILABLE": lambda v: (v.inventory_quantity, v.position),
    "INVENTORY_POLICY": lambda v: (v.inventory_policy, v.position),
}


def product_variants(product: Product, _: Info, **args: Any) -> Any:
    return connection(_sorted(product.variants, _VARIANT_SORT, args.get("sortKey"), "POSITION"), args)


def product_options(product: Product, _: Info, first: int | None = None) -> list[dict[str, Any]]:
    options = []
    for position, name in enumerate(product.option_names, start=1):
        values = list(
            dict.fromkeys(o["value"] for v in product.variants for o in v.selected_options if o["name"] == name)
        )
        option_id = f"gid://shopify/ProductOption/{product.legacy_id * 10 + position}"
        options.append({"id": option_id, "name": name, "position": position, "values": values})
    return first_items(options, first)


def inventory_levels(item: InventoryItem, _: Info, **args: Any) -> Any:
    return connection(item.levels, args)


def level_quantities(level: InventoryLevel, _: Info, names: list[str]) -> list[dict[str, Any]]:
    """Only `available` (and `on_hand`, the same here) hold stock; the other states are zero."""
    unknown = [name for name in names if name not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity names: {', '.join(unknown)}. Valid names: {', '.join(sorted(QUANTITY_NAMES))}."
        )
    return [
        {
            "id": f"{level.id}&name={name}",
            "name": name,
            "quantity": level.available if name in ("available", "on_hand") else 0,
        }
        for name in names
    ]


# --- Wiring -------------------------------------------------------------------------------------------------


def _list_field(attribute: str) -> Callable[..., Any]:
    def resolve(source: Any, _: Info, first: int | None = None, **__: Any) -> list[Any]:
        return first_items(getattr(source, attribute), first)

    return resolve


def _connection_field(attribute: str) -> Callable[..., Any]:
    def resolve(source: Any, _: Info, **args: Any) -> Any:
        return connection(getattr(source, attribute), args)

    return resolve


def _scoped(type_name: str, field_name: str, scope: str, inner: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Info, **args: Any) -> Any:
        if scope not in _ctx(info).scopes:
            raise access_denied(field_name, scope)
        return inner(source, info, **args)

    resolve.__qualname__ = f"{type_name}.{field_name}[{scope}]"
    return resolve


RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("QueryRoot", "orders"): root_orders,
    ("QueryRoot", "order"): root_order,
    ("QueryRoot", "ordersCount"): root_orders_count,
    ("QueryRoot", "discountNodesCount"): root_discount_nodes_count,
    ("QueryRoot", "customerByIdentifier"): root_customer_by_identifier,
    ("QueryRoot", "products"): root_products,
    ("QueryRoot", "product"): root_product,
    ("QueryRoot", "productByIdentifier"): root_product_by_identifier,
    ("QueryRoot", "codeDiscountNodeByCode"): root_code_discount,
    ("QueryRoot", "discountNodes"): root_discount_nodes,
    ("QueryRoot", "shop"): root_shop,
    ("QueryRoot", "shopLocales"): root_shop_locales,
    ("ShopPolicy", "translations"): policy_translations,
    ("QueryRoot", "currentAppInstallation"): root_app_installation,
    ("Order", "lineItems"): _connection_field("line_items"),
    ("Order", "fulfillments"): _list_field("fulfillments"),
    ("Order", "refunds"): _list_field("refunds"),
    ("Order", "returns"): _connection_field("returns"),
    ("Order", "statusPageUrl"): order_status_page_url,
    ("Customer", "orders"): customer_orders,
    ("Customer", "lastOrder"): customer_last_order,
    ("Fulfillment", "fulfillmentLineItems"): _connection_field("fulfillment_line_items"),
    ("Fulfillment", "trackingInfo"): _list_field("tracking_info"),
    ("Product", "description"): product_description,
    ("Product", "metafields"): product_metafields,
    ("Product", "metafield"): product_metafield,
    ("Product", "variants"): product_variants,
    ("Product", "options"): product_options,
    ("InventoryItem", "inventoryLevels"): inventory_levels,
    ("InventoryLevel", "quantities"): level_quantities,
    **{(name, "codes"): _connection_field("codes") for name in ("DiscountCodeBasic", "DiscountCodeBxgy")},
    **{(name, "codes"): _connection_field("codes") for name in ("DiscountCodeFreeShipping", "DiscountCodeApp")},
}


@cache
def executable_schema() -> graphql.GraphQLSchema:
    """The schema with every resolver and scope check attached (built once per process)."""
    schema = build_base_schema()
    for (type_name, field_name), resolver in RESOLVERS.items():
        owner = schema.type_map[type_name]
        assert isinstance(owner, graphql.GraphQLObjectType)
        owner.fields[field_name].resolve = resolver
    for (type_name, field_name), scope in FIELD_SCOPES.items():
        owner = schema.type_map[type_name]
        assert isinstance(owner, graphql.GraphQLObjectType)
        target = owner.fields[field_name]
        target.resolve = _scoped(type_name, field_name, scope, target.resolve or resolve_attribute)
    return schema


def execute(
    document: graphql.DocumentNode, variables: dict[str, Any] | None, operation: str | None, context: RequestContext
) -> graphql.ExecutionResult:
    """Run a validated document against the store in `context` (synchronously: every resolver is in memory)."""
    return graphql.execute_sync(
        executable_schema(),
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation,
        field_resolver=resolve_attribute,
        type_resolver=resolve_type,
    )
