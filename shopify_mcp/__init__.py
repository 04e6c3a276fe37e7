"""Shopify MCP server: Admin GraphQL lookups (orders, customers, products, discounts, policies) and ticket escalation."""
