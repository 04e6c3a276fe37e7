"""The nine support categories: the orchestrator routes to them and the Shopify server files tickets under them."""

from __future__ import annotations

from typing import Literal, get_args

Category = Literal[
    "OrderPlacementStatus",
    "ShippingDelivery",
    "ReturnsCancellationsExchanges",
    "PaymentBilling",
    "ProductInfoAvailability",
    "TechnicalIssues",
    "PromotionsDiscountsPricing",
    "CustomerComplaintsSatisfaction",
    "AccountProfileOther",
]
CATEGORIES: tuple[str, ...] = get_args(Category)

TicketCategory = Literal[Category, "InternalAlert", "Other"]
"""The nine categories, `InternalAlert` (partner or internal mail raised to a person) and `Other`. An enum, so tool
schemas list every choice and a model cannot invent one."""
TICKET_CATEGORIES: tuple[str, ...] = (*CATEGORIES, "InternalAlert", "Other")
