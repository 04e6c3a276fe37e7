"""Shopify's search syntax: parsing, filters per connection, and unknown filters dropped with a warning."""

from __future__ import annotations

import httpx
import pytest

from shopify_mcp.emulator import Store
from shopify_mcp.emulator.filters import discount_filter, order_filter, product_filter
from shopify_mcp.emulator.search import And, Not, Or, Term, parse_query, parsed_json
from tests.shopify_mcp.emulator.conftest import gql

pytestmark = pytest.mark.anyio


def test_terms_quotes_escapes_negation_and_connectives() -> None:
    assert parse_query('name:"#1001"') == Term("name", "#1001", phrase=True)
    assert parse_query(r'title:"say \"hi\"" -tag:sale') == And(
        (Term("title", 'say "hi"', phrase=True), Not(Term("tag", "sale")))
    )
    assert parse_query("created_at:>=2026-01-01") == Term("created_at", "2026-01-01", ">=")
    assert parse_query("sku:TEE* OR red") == Or((Term("sku", "TEE", prefix=True), Term(None, "red")))
    assert parse_query("a AND (b OR NOT c)") == And((Term(None, "a"), Or((Term(None, "b"), Not(Term(None, "c"))))))
    assert parse_query("   ") is None


def test_parsed_form_echoes_the_query() -> None:
    node = parse_query("status:active -tag:x created_at:<2026-01-01")
    assert parsed_json(node) == {
        "and": [
            {"field": "status", "match_all": "active"},
            {"not": {"field": "tag", "match_all": "x"}},
            {"field": "created_at", "range_lt": "2026-01-01"},
        ]
    }


def _numbers(store: Store, query: str) -> list[int]:
    search = order_filter(query)
    assert search.warnings == [], search.warnings
    return [o.number for o in store.orders if search(o)]


def test_order_filters(store: Store) -> None:
    assert _numbers(store, 'name:"#1002"') == [1002]
    assert _numbers(store, "name:1002") == [1002]
    assert _numbers(store, "#1003") == [1003]
    assert _numbers(store, 'email:"ANA@example.com"') == [1001, 1002, 1003]
    assert _numbers(store, "status:open") == [1002, 1003, 1005]
    assert _numbers(store, "status:cancelled") == [1004]
    assert _numbers(store, "financial_status:paid,pending") == [1001, 1002, 1005]
    assert _numbers(store, "fulfillment_status:shipped") == [1001, 1002]
    assert _numbers(store, "created_at:>=2026-11-10") == [1002, 1003, 1004, 1005]
    assert _numbers(store, "customer_id:2") == [1004]
    assert _numbers(store, "tag:gift") == [1002]
    assert _numbers(store, "email:ana@example.com -fulfillment_status:fulfilled") == [1003]


def test_order_by_number_and_email_in_one_query(store: Store) -> None:
    """The order lookup's query: both terms must hold; the email is matched whole and without regard to case."""
    assert _numbers(store, 'name:"#1002" AND email:"ana@example.com"') == [1002]
    assert _numbers(store, 'name:"#1002" AND email:"ANA@Example.COM"') == [1002]
    assert _numbers(store, 'name:"#1004" AND email:"ana@example.com"') == [], "another customer's order"
    assert _numbers(store, 'name:"#9999" AND email:"ana@example.com"') == [], "no such order"
    assert _numbers(store, 'name:"#1002" AND email:"ana@example.co"') == [], "no partial match"
    assert _numbers(store, 'name:"#1002" AND email:"na@example.com"') == []
    assert _numbers(store, 'name:"#1002" AND (email:"x@example.net" OR email:"ana@example.com")') == [1002]
    assert _numbers(store, 'name:"#1002" AND (email:"x@example.net" OR email:"y@example.net")') == []
    assert parse_query('name:"#1002" AND email:"a@b.example"') == And(
        (Term("name", "#1002", phrase=True), Term("email", "a@b.example", phrase=True))
    )


async def test_order_by_number_and_email_over_http(http: httpx.AsyncClient) -> None:
    query = "query($q: String!) { orders(first: 2, query: $q) { nodes { name email } } }"
    hit = await gql(http, query, {"q": 'name:"#1003" AND email:"Ana@Example.com"'})
    assert hit["data"]["orders"]["nodes"] == [{"name": "#1003", "email": "ana@example.com"}]
    assert "search" not in hit.get("extensions", {}), "both filters are known to Shopify: nothing dropped"
    not_hers = await gql(http, query, {"q": 'name:"#1004" AND email:"ana@example.com"'})
    missing = await gql(http, query, {"q": 'name:"#9999" AND email:"ana@example.com"'})
    assert not_hers["data"] == missing["data"] == {"orders": {"nodes": []}}
    assert not_hers["extensions"]["cost"]["actualQueryCost"] == missing["extensions"]["cost"]["actualQueryCost"]


def test_product_filters(store: Store) -> None:
    def handles(query: str) -> list[str]:
        search = product_filter(query)
        assert search.warnings == []
        return [p.handle for p in store.products if search(p)]

    assert handles("sku:TEE-M") == ["merino-running-tee"]
    assert handles('"merino" "tee" status:active') == ["merino-running-tee"]
    assert handles("title:jacket") == ["preorder-jacket"]
    assert handles("handle:gift-card") == ["gift-card"]
    assert handles("tag:running") == ["merino-running-tee", "trail-socks"]
    assert handles("tag:running status:active") == ["merino-running-tee"]
    assert handles("vendor:'Sock Co'") == ["trail-socks"]
    assert handles("product_type:Jackets") == ["preorder-jacket"]
    assert handles("sku:TEE*") == ["merino-running-tee"]
    assert handles("socks") == ["trail-socks"]


def test_discount_filters(store: Store) -> None:
    def titles(query: str) -> list[str]:
        search = discount_filter(query)
        assert search.warnings == []
        return [d.title for d in store.discounts if search(d)]

    assert titles("status:active method:automatic") == ["Autumn 20% off", "Free shipping over 60"]
    assert titles("status:scheduled") == ["Launch"]
    assert titles("type:free_shipping") == ["Free shipping over 60"]
    assert titles("type:bogo") == ["Socks 3x2"]
    assert titles("tag:public") == ["Welcome 10%"]
    assert titles("title:summer") == ["Summer sale"]


def test_an_unknown_filter_is_dropped_and_reported(store: Store) -> None:
    search = product_filter("colour:red tag:running")
    assert [p.handle for p in store.products if search(p)] == ["merino-running-tee", "trail-socks"]
    assert search.extension(["products"]) == {
        "path": ["products"],
        "query": "colour:red tag:running",
        "parsed": {"field": "tag", "match_all": "running"},
        "warnings": [{"field": "colour", "message": "Invalid search field for this query."}],
    }
    assert product_filter("tag:running").extension(["products"]) is None


async def test_unknown_filter_over_http_returns_unrelated_records_with_a_warning(http: httpx.AsyncClient) -> None:
    body = await gql(http, 'query { orders(first: 10, query: "colour:blue") { nodes { name } } }')
    assert len(body["data"]["orders"]["nodes"]) == 5  # the term is ignored: every order matches
    assert body["extensions"]["search"] == [
        {
            "path": ["orders"],
            "query": "colour:blue",
            "parsed": {},
            "warnings": [{"field": "colour", "message": "Invalid search field for this query."}],
        }
    ]


async def test_a_malformed_date_is_dropped_with_a_warning(http: httpx.AsyncClient) -> None:
    body = await gql(http, 'query { orders(first: 10, query: "created_at:>yesterdayish") { nodes { name } } }')
    assert len(body["data"]["orders"]["nodes"]) == 5
    assert body["extensions"]["search"][0]["warnings"][0]["field"] == "created_at"
