"""Provider admin: admin API tokens and console endpoints."""
