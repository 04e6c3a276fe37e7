"""`support-agent tour`: a guided tour of the sandbox store through the Shopify MCP server over real stdio."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters

Step = tuple[str, str, dict[str, Any], Callable[[dict[str, Any]], list[str]]]


def server_parameters(data_dir: Path) -> StdioServerParameters:
    """Spawn `python -m shopify_mcp` on the sandbox store. The stdio client passes almost no environment on, so
    every setting the server needs is given explicitly."""
    env = {
        "SHOPIFY_TICKET_DB": str(data_dir / "tickets.sqlite3"),
        "SHOPIFY_TICKET_SINK": "local",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(data_dir),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "shopify_mcp", "--log-level", "WARNING"], env=env)


def _order(result: dict[str, Any]) -> list[str]:
    lines = [
        f"{result['order_number']}: {result['state']} (total {result['totals']['total']['amount']} "
        f"{result['totals']['total']['currency']})"
    ]
    for shipment in result["shipments"]:
        for t in shipment["tracking"]:
            lines.append(
                f"  shipment {shipment['name']}: {t['carrier']} {t['number']} -> {shipment['delivery_status']}"
            )
    return lines


def _orders(result: dict[str, Any]) -> list[str]:
    return [f"{o['order_number']} {o['processed_at'][:10]} {o['state']}" for o in result["orders"]]


def _profile(result: dict[str, Any]) -> list[str]:
    spend = result["lifetime_spend"]
    return [
        f"{result['name']}: VIP={result['vip']} orders={result['order_count']} spend={spend['amount']} "
        f"{spend['currency']} rfm={result['rfm_group']}"
    ]


def _products(result: dict[str, Any]) -> list[str]:
    lines = []
    for p in result["products"]:
        stock = ", ".join(f"{v['title']}={v['stock_status']}" for v in p["variants"][:4])
        lines.append(f"{p['title']} ({p['handle']}): {stock}")
    return lines or ["(no products)"]


def _product(result: dict[str, Any]) -> list[str]:
    facts = "; ".join(f"{key}: {' '.join(str(value).split())}" for key, value in result["details"].items())
    lines = [f"{result['title']}: {facts}"]
    for v in result["variants"][:3]:
        where = ", ".join(f"{loc['location']}={loc['available']}" for loc in v.get("locations") or [])
        lines.append(f"  {v['title']}: {v['stock_status']} [{where or 'untracked'}]")
    return lines


def _discount(result: dict[str, Any]) -> list[str]:
    return [f"{result['code']}: usable={result['usable_now']} - {result['reason']}"]


def _promotions(result: dict[str, Any]) -> list[str]:
    lines = [f"automatic: {p['title']}" for p in result["automatic"]]
    return lines + [f"code {p['code']}: {p['summary']}" for p in result["public_codes"]]


def _policies(result: dict[str, Any]) -> list[str]:
    return [f"{p['title']}: {p['text'][:100]}..." for p in result["policies"]]


def _ticket(result: dict[str, Any]) -> list[str]:
    return [f"ticket {result['id']} ({result['priority']}) stored in the {result['sink']} sink"]


async def run_demo(out: TextIO = sys.stdout) -> int:
    """Run the tour; return the number of steps that failed (0 on success)."""
    with tempfile.TemporaryDirectory(prefix="support-agent-demo-") as tmp:
        async with Client(server_parameters(Path(tmp))) as client:
            tools = await client.list_tools()
            out.write(f"Shopify MCP server (sandbox store) over stdio: {len(tools.tools)} tools\n")
            out.write("  " + ", ".join(t.name for t in tools.tools) + "\n\n")
            steps = tour()
            failures = 0
            for title, tool, args, render in steps:
                result = await client.call_tool(tool, args)
                out.write(f"== {title}\n   {tool}({', '.join(f'{k}={v!r}' for k, v in args.items())})\n")
                refusal_expected = "wrong email" in title
                if result.is_error:
                    text = " ".join(getattr(c, "text", "") for c in result.content)
                    text = text.removeprefix(f"Error executing tool {tool}: ")
                    out.write(f"   -> refused: {text}\n\n")
                    failures += 0 if refusal_expected else 1
                    continue
                if refusal_expected:
                    out.write("   -> DISCLOSED an order to the wrong email: this is a bug\n\n")
                    failures += 1
                    continue
                for line in render(result.structured_content or {}):
                    out.write(f"   {line}\n")
                out.write("\n")
            out.write("Every step ran against the sandbox store. " if not failures else f"{failures} step(s) failed. ")
            out.write("Set SHOPIFY_STORE and a credential to use your own store (see README).\n")
            return failures


SAMPLE_CUSTOMER = "maria.garcia@example.com"
SAMPLE_ORDER = "#1021"
"""A sandbox VIP and her order that shipped in two parcels with two carriers (see shopify_mcp/sandbox/)."""


def tour() -> list[Step]:
    """The steps of the tour over the sandbox store."""
    email, number = SAMPLE_CUSTOMER, SAMPLE_ORDER
    return [
        ("An order, asked by its owner", "lookup_order", {"order_number": number, "customer_email": email}, _order),
        (
            "The same order, wrong email (the same answer as a missing order)",
            "lookup_order",
            {"order_number": number, "customer_email": "someone.else@example.net"},
            _order,
        ),
        ("Recent orders of a customer who gave no number", "list_customer_orders", {"customer_email": email}, _orders),
        ("Customer profile", "get_customer_profile", {"customer_email": email}, _profile),
        ("Product search", "search_products", {"query": "compression leggings"}, _products),
        (
            "Stock per location and care facts",
            "get_product",
            {"handle": "pro-compression-leggings", "include_locations": True},
            _product,
        ),
        ("A customer's code that does not work", "check_discount_code", {"code": "summer25"}, _discount),
        ("Promotions that may be shared with anyone", "list_promotions", {}, _promotions),
        ("Refund policy", "get_policies", {"kind": "refund"}, _policies),
        (
            "Escalation to a human",
            "escalate_ticket",
            {
                "category": "CustomerComplaintsSatisfaction",
                "customer_email": email,
                "summary": "Demo ticket: the customer asks to speak to a person.",
                "priority": "high",
            },
            _ticket,
        ),
    ]
