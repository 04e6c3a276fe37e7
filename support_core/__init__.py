"""What the Shopify server, the Gmail server and the orchestrator share: the tools' result contracts (`mail`,
`store`, `diagnosis`), strict address parsing and one normal form (`addresses`), the support categories, the error
root, the transport runner and HTTP limits, retries, HTML to text, and the version."""
