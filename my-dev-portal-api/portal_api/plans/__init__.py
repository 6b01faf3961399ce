"""Plans: the public catalog read from Stripe."""
