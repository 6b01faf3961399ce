"""Admin console views that combine features (the billing provider screen with webhook activity)."""
