"""Daily reconciliation of local customers and subscriptions with Stripe (repairs missed webhooks)."""
