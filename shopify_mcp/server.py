"""MCP tool, resource and route declarations of the Shopify server; the work is done by the lookup modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, cast

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shopify_mcp.context import ShopifyContext
from shopify_mcp.diagnosis import diagnose
from shopify_mcp.errors import ShopifyAPIError, ShopifyMCPError
from shopify_mcp.inputs import normalise_customer_email
from shopify_mcp.tickets import ListableTicketSink, Priority, Ticket, TicketCategory, TicketList, TicketRequest
from support_core.diagnosis import Diagnosis
from support_core.store import (
    CustomerOrders,
    CustomerProfile,
    DiscountCheck,
    OrderDetails,
    Policies,
    Product,
    ProductSearch,
    Promotions,
)

INSTRUCTIONS = """\
Read-only access to a Shopify store for customer support, plus ticket escalation to a human.
Order and customer tools only answer for the customer's own email address: pass the email of the person you are
helping, exactly as they wrote from. A wrong email and a wrong order number give the same 'not found' answer.
Never invent order details, tracking numbers, stock or discount terms: quote what the tools return.
"""

RouteHandler = Callable[[Request], Awaitable[Response]]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
ESCALATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

Email = Annotated[
    str,
    Field(description="Email address of the customer you are helping (the sender of the message), e.g. ana@x.com."),
]
OrderNumber = Annotated[
    str, Field(description="Order number from the confirmation email: '#1001' or '1001'.", max_length=40)
]


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn the package's errors into `ToolError`, whose message the model reads and can act on."""
    try:
        yield
    except ShopifyMCPError as exc:
        raise ToolError(str(exc)) from exc


def create_server(ctx: ShopifyContext) -> MCPServer:
    """The Shopify MCP server over an open `ShopifyContext`."""
    server = MCPServer("shopify-mcp", instructions=INSTRUCTIONS, version="0.1.0")
    verify = ctx.settings.verify_customer_email

    if verify:

        @server.tool(name="lookup_order", title="Look up an order", annotations=READ_ONLY)
        async def lookup_order(order_number: OrderNumber, customer_email: Email) -> OrderDetails:
            """Full status of one order: payment, fulfilment, each shipment's carrier, tracking number, tracking
            URL and delivery estimate, items, totals, refunds, returns, cancellation and the order status page.

            Use it when a customer asks about a specific order ("where is #1001?", "was I charged?"). The order is
            returned only when `customer_email` owns it; otherwise the answer is 'not found' (the same as for a
            number that does not exist), so ask the customer to check the number and the address they ordered
            with. Orders older than 60 days are invisible when the app lacks the read_all_orders scope.
            No order number? Use list_customer_orders.
            """
            with tool_errors():
                return await ctx.orders.lookup(order_number, customer_email)

    else:

        @server.tool(name="lookup_order", title="Look up an order", annotations=READ_ONLY)
        async def lookup_order_merchant(
            order_number: OrderNumber,
            customer_email: Annotated[
                str | None, Field(description="Optional: when given, the order must belong to this email.")
            ] = None,
        ) -> OrderDetails:
            """Full status of one order (merchant mode: the owner check is off unless an email is given):
            payment, fulfilment, each shipment's carrier, tracking number, URL and delivery estimate, items,
            totals, refunds, returns, cancellation and the order status page. Orders older than 60 days are
            invisible when the app lacks the read_all_orders scope.
            """
            with tool_errors():
                return await ctx.orders.lookup(order_number, customer_email)

    @server.tool(name="list_customer_orders", title="List a customer's orders", annotations=READ_ONLY)
    async def list_customer_orders(
        customer_email: Email,
        limit: Annotated[int, Field(ge=1, le=10, description="How many recent orders, newest first.")] = 5,
    ) -> CustomerOrders:
        """The most recent orders placed with `customer_email`, newest first, each with its state, total, items
        and tracking. Use it when a customer asks about "my order" without giving a number, then call
        lookup_order for details. An empty list means no orders for that address (orders older than 60 days
        are invisible without the read_all_orders scope).
        """
        with tool_errors():
            return await ctx.orders.list_for_customer(customer_email, limit)

    @server.tool(name="get_customer_profile", title="Customer profile", annotations=READ_ONLY)
    async def get_customer_profile(customer_email: Email) -> CustomerProfile:
        """The customer's profile: VIP flag (and why), lifetime spend, number of orders, first and last order,
        tags, Shopify RFM group and account state. Use it to adapt tone and offers (for example, to prioritise a
        VIP). 'Not found' means there is no customer record for that address (guest checkout).
        """
        with tool_errors():
            return await ctx.customers.profile(customer_email)

    @server.tool(name="search_products", title="Search products", annotations=READ_ONLY)
    async def search_products(
        query: Annotated[
            str, Field(description="Product words ('black compression leggings'), a SKU or a handle.", max_length=200)
        ],
        limit: Annotated[int, Field(ge=1, le=10, description="Maximum number of products.")] = 5,
    ) -> ProductSearch:
        """Find products by words, SKU or handle. Each result has its price range, availability, product facts
        (care instructions, materials, compression, ...) and every variant's price, stock and stock status
        (in_stock, low_stock, sold_out, backorder, not_tracked). Only published (active) products are searched.
        For stock per location, call get_product with include_locations.
        """
        with tool_errors():
            return await ctx.catalog.search(query, limit)

    @server.tool(name="get_product", title="Product details", annotations=READ_ONLY)
    async def get_product(
        handle: Annotated[
            str | None, Field(description="URL handle, e.g. 'merino-running-tee' (from search_products).")
        ] = None,
        product_id: Annotated[str | None, Field(description="Or the product id: 'gid://shopify/Product/123'.")] = None,
        include_locations: Annotated[bool, Field(description="Add stock per warehouse/store location.")] = False,
    ) -> Product:
        """One product by handle or id: description, product facts, every variant's price, availability and
        stock, and (with include_locations) stock per location. A variant with stock null has untracked
        inventory and is always available. Give exactly one of handle or product_id.
        """
        with tool_errors():
            return await ctx.catalog.get(handle, product_id, include_locations)

    @server.tool(name="check_discount_code", title="Check a discount code", annotations=READ_ONLY)
    async def check_discount_code(
        code: Annotated[str, Field(description="The code the customer tried, e.g. 'WELCOME10'.", max_length=255)],
    ) -> DiscountCheck:
        """Whether one discount code exists and can be used now, with the reason when it cannot (expired, not
        started, usage limit reached), what it gives, its dates, minimum purchase and usage limits. Use it when a
        customer says a code does not work. It reports only on the code given; it never lists other codes.
        """
        with tool_errors():
            return await ctx.discounts.check(code)

    @server.tool(name="list_promotions", title="Current promotions", annotations=READ_ONLY)
    async def list_promotions() -> Promotions:
        """Promotions running now: automatic discounts (no code needed) and the codes the merchant marked as
        shareable with any customer. Private codes (VIP, influencer, one-off) are never listed. Use it when a
        customer asks about sales or discounts.
        """
        with tool_errors():
            return await ctx.discounts.promotions()

    @server.tool(name="get_policies", title="Store policies", annotations=READ_ONLY)
    async def get_policies(
        kind: Annotated[
            str | None,
            Field(
                description="One policy: refund, shipping, privacy, terms, contact (or a type such as REFUND_POLICY)."
            ),
        ] = None,
        language: Annotated[
            str | None,
            Field(
                max_length=20,
                description="The customer's language as an ISO 639-1 code, e.g. 'de', 'fr', 'pt' (a region is "
                "allowed: 'pt-BR'). Leave it out for the shop's own texts.",
            ),
        ] = None,
    ) -> Policies:
        """The store's published policies as plain text with their URLs: refunds and returns, shipping and
        delivery, privacy, terms, contact information. Quote them instead of guessing deadlines or conditions.
        Without `kind`, every published policy is returned.

        Pass `language` (the language you reply in) to get each policy in that language when the shop publishes a
        translation of it: then `translated` is true and `language` is that language. Otherwise the policy comes in
        the shop's own language (`translated` false, `language` = `primary_language`): quote it as it is and tell
        the customer the policy is only published in that language (never present your own translation as the
        shop's policy). An unknown language code is an error that says what to pass.
        """
        with tool_errors():
            return await ctx.policies.get(kind, language)

    @server.tool(name="escalate_ticket", title="Escalate to a human", annotations=ESCALATE)
    async def escalate_ticket(
        category: Annotated[
            TicketCategory,
            Field(
                description="Support category: one of the nine (OrderPlacementStatus, ShippingDelivery, "
                "ReturnsCancellationsExchanges, PaymentBilling, ProductInfoAvailability, TechnicalIssues, "
                "PromotionsDiscountsPricing, CustomerComplaintsSatisfaction, AccountProfileOther), InternalAlert "
                "for partner or internal mail, or Other."
            ),
        ],
        customer_email: Email,
        summary: Annotated[
            str, Field(description="What the customer needs and what was already checked, for the human.")
        ],
        priority: Annotated[Priority, Field(description="low, normal, high or urgent.")] = "normal",
        order_number: Annotated[str | None, Field(description="Related order, e.g. '#1001'.")] = None,
        customer_name: Annotated[str | None, Field(description="Customer's name if known.")] = None,
    ) -> Ticket:
        """Open a ticket for a human colleague. Use it when the customer asks for a person, is angry or
        threatens legal action, reports fraud or a payment problem you cannot verify, or when the tools cannot
        answer. `category` is one of the listed values (the support category of the message; InternalAlert for
        partner or internal mail; Other when none fits); anything else is refused. A malformed customer_email is
        refused with the reason. Tell the customer a colleague will follow up; do not promise refunds or dates.
        """
        with tool_errors():
            request = TicketRequest(
                category=category,
                customer_email=normalise_customer_email(customer_email),
                summary=summary,
                priority=priority,
                order_number=order_number,
                customer_name=customer_name,
                source="mcp",
            )
            return await ctx.tickets.create(request)

    @server.tool(name="list_tickets", title="List escalation tickets", annotations=READ_ONLY)
    async def list_tickets(
        status: Annotated[str | None, Field(description="'open' or 'closed'; all when omitted.")] = None,
        customer_email: Annotated[
            str | None,
            Field(
                description="Only tickets of this customer. Required unless the server runs in merchant mode "
                "(SHOPIFY_VERIFY_CUSTOMER_EMAIL=false)."
            ),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=500, description="Newest first.")] = 50,
    ) -> TicketList:
        """Tickets stored by the local ticket sink, newest first. Pass the email of the customer you are helping:
        only their tickets are listed, and the email is required (an error says so) while customer ownership is
        checked; in merchant mode it may be omitted to list every ticket. When tickets go to a webhook or Zendesk,
        look them up there instead (this tool then explains where they went).
        """
        if verify and not (customer_email and customer_email.strip()):
            raise ToolError(
                "customer_email is required: tickets are only listed for the customer they belong to. Pass the "
                "email of the customer you are helping."
            )
        if not isinstance(ctx.tickets, ListableTicketSink):
            raise ToolError(
                f"Tickets are sent to {ctx.settings.ticket_sink}, not stored locally: list them in that system."
            )
        with tool_errors():
            return await ctx.tickets.list(status=status, limit=limit, email=customer_email)

    @server.tool(name="diagnose", title="Check this server's configuration", annotations=READ_ONLY)
    async def diagnose_store(
        call_timeout: Annotated[
            float, Field(gt=0, le=120, description="Seconds each network call may take (none is retried).")
        ] = 15.0,
    ) -> Diagnosis:
        """Check the server's own configuration, one line each with what to fix: sandbox or store, whether the
        token is accepted, the API version Shopify serves, the granted access scopes against the ones the tools
        need (naming what a missing one breaks), and whether the ticket sink can take tickets. Changes nothing,
        sends no ticket, never shows a secret. `support-agent doctor` calls it.
        """
        return await diagnose(ctx, call_timeout)

    @server.resource(
        "shopify://policies",
        name="policies",
        title="All store policies",
        description="Every published store policy as plain text.",
        mime_type="application/json",
    )
    async def all_policies() -> str:
        try:
            return (await ctx.policies.all()).model_dump_json(indent=2)
        except ShopifyMCPError as exc:
            raise ResourceError(str(exc)) from exc

    @server.resource(
        "shopify://policies/{kind}",
        name="policy",
        title="One store policy",
        description="One policy as plain text: refund, shipping, privacy, terms or contact.",
        mime_type="text/plain",
    )
    async def one_policy(kind: str) -> str:
        try:
            policy = (await ctx.policies.get(kind)).policies[0]
        except ShopifyMCPError as exc:
            raise ResourceError(str(exc)) from exc
        return f"{policy.title}\n{policy.url}\n\n{policy.text}"

    health_route = cast(Callable[[RouteHandler], RouteHandler], server.custom_route("/health", methods=["GET"]))

    @health_route
    async def health(request: Request) -> Response:
        """200 when the Admin API (or the sandbox) answers a trivial query, 503 with the reason otherwise.

        Served without the bearer token (load balancers probe it), so it says nothing about the store itself.
        """
        try:
            await ctx.client.execute("ShopInfo")
        except ShopifyAPIError as exc:
            return JSONResponse({"status": "unhealthy", "shopify": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "mode": "sandbox" if ctx.emulator else "live"})

    return server
