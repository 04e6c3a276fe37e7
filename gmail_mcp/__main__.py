"""`python -m gmail_mcp`: run the Gmail MCP server."""

from gmail_mcp import main

main()
