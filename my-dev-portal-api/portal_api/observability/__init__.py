"""Observability: request ids and logging context, access log, Prometheus metrics, admin health."""
