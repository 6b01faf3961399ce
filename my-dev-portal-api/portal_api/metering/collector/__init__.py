"""Moesif-compatible collector: /collector/v1/* routes, collector tokens, the Moesif event model."""
