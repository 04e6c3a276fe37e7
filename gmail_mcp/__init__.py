"""Gmail MCP server (planned): read mail and threads, create in-thread reply drafts, mark read, manage labels."""
