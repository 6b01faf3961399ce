"""Usage reporting: the exactly-once ledger of usage sent to Stripe, the reporter, Meter Test, invoices."""
