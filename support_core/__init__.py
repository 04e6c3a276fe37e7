"""What the Shopify server, the Gmail server and the orchestrator share: strict address parsing and normalisation."""
