"""`python -m shopify_mcp`: run the Shopify MCP server."""

from shopify_mcp import main

main()
