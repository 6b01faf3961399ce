"""API keys: issue, rotate, revoke, verify."""
