"""The order lookups' GraphQL documents: sized so that Shopify's up-front charge stays near what an order returns."""

from __future__ import annotations

MONEY = "amount currencyCode"

ORDER_LINES = 5
SHIPPED_LINES = 4
"""Line items and items per shipment in the first answer: most orders have no more, and these sizes keep Shopify's
up-front charge (53 points) within twice what the smallest order returns (27); bigger orders are completed by
`OrderPage` follow-ups."""

LINE_ITEM_FIELDS = f"""
fragment LineItemFields on LineItem {{
  title variantTitle sku quantity currentQuantity unfulfilledQuantity
  originalUnitPriceSet {{ shopMoney {{ {MONEY} }} }}
}}
"""

SHIPPED_ITEMS = """
fragment ShippedItems on FulfillmentLineItemConnection {
  nodes { quantity lineItem { title variantTitle } }
  pageInfo { hasNextPage }
}
"""

RETURN_FIELDS = """
fragment ReturnFields on ReturnConnection {
  nodes { name status createdAt closedAt }
  pageInfo { hasNextPage }
}
"""

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id
  name
  email
  createdAt
  processedAt
  cancelledAt
  cancelReason
  closed
  displayFinancialStatus
  displayFulfillmentStatus
  returnStatus
  statusPageUrl
  customerLocale
  subtotalLineItemsQuantity
  totalPriceSet {{ shopMoney {{ {MONEY} }} }}
  subtotalPriceSet {{ shopMoney {{ {MONEY} }} }}
  totalShippingPriceSet {{ shopMoney {{ {MONEY} }} }}
  totalTaxSet {{ shopMoney {{ {MONEY} }} }}
  totalDiscountsSet {{ shopMoney {{ {MONEY} }} }}
  totalRefundedSet {{ shopMoney {{ {MONEY} }} }}
  customer {{ displayName defaultEmailAddress {{ emailAddress }} }}
  shippingAddress {{ name city countryCodeV2 }}
  lineItems(first: {ORDER_LINES}) {{ nodes {{ ...LineItemFields }} pageInfo {{ hasNextPage endCursor }} }}
  fulfillments {{
    id
    name
    status
    displayStatus
    createdAt
    inTransitAt
    deliveredAt
    estimatedDeliveryAt
    totalQuantity
    trackingInfo {{ company number url }}
    fulfillmentLineItems(first: {SHIPPED_LINES}) {{ ...ShippedItems }}
  }}
  refunds {{ createdAt note totalRefundedSet {{ shopMoney {{ {MONEY} }} }} }}
  returns(first: 1) {{ ...ReturnFields }}
}}
"""
"""`fulfillments`, `trackingInfo` and `refunds` are plain lists, not connections: asked without `first` they come back
whole (with `first: n` the rest is cut off silently, and n of them are charged up front). Shopify documents no cost
for such lists; the emulator charges one element, as for any object field."""

ORDER_BY_NAME = (
    """
query OrderByName($query: String!) {
  orders(first: 1, query: $query) {
    nodes { ...OrderFields }
  }
}
"""
    + ORDER_FIELDS
    + LINE_ITEM_FIELDS
    + SHIPPED_ITEMS
    + RETURN_FIELDS
)
"""Order names are unique in a shop, so one node: `first: 2` would make Shopify reserve a second order's cost."""

ORDER_PAGE = (
    """
query OrderPage(
  $id: ID!, $after: String, $lines: Int!, $withLines: Boolean!, $shipped: Int!, $withShipped: Boolean!,
  $returns: Int!, $withReturns: Boolean!
) {
  order(id: $id) {
    lineItems(first: $lines, after: $after) @include(if: $withLines) {
      nodes { ...LineItemFields }
      pageInfo { hasNextPage endCursor }
    }
    fulfillments @include(if: $withShipped) { id fulfillmentLineItems(first: $shipped) { ...ShippedItems } }
    returns(first: $returns) @include(if: $withReturns) { ...ReturnFields }
  }
}
"""
    + LINE_ITEM_FIELDS
    + SHIPPED_ITEMS
    + RETURN_FIELDS
)
"""The rest of an order bigger than `OrderByName`'s first answer: the next line items, each shipment's items
whole, the returns; each sized from what the first answer said is left."""

ORDERS_BY_EMAIL = f"""
query OrdersByEmail($query: String!, $first: Int!, $after: String, $withCount: Boolean! = false) {{
  ordersCount(query: $query, limit: 10) @include(if: $withCount) {{ count }}
  orders(first: $first, after: $after, query: $query, sortKey: PROCESSED_AT, reverse: true) {{
    nodes {{
      name
      email
      customer {{ defaultEmailAddress {{ emailAddress }} }}
      processedAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      returnStatus
      statusPageUrl
      totalPriceSet {{ shopMoney {{ {MONEY} }} }}
      lineItems(first: 5) {{ nodes {{ title variantTitle quantity }} }}
      fulfillments {{ displayStatus trackingInfo {{ company number url }} }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
"""The first page is one order plus the count of the customer's orders; the next page asks for exactly the rest
(up to the limit), so Shopify never reserves the cost of orders that do not exist."""
