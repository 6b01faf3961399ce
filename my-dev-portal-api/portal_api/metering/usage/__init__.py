"""Usage: POST /v1/usage/events (provider ingest) and GET /v1/usage (a customer's own metered usage)."""
