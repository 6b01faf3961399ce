"""Billing meters: filters, metrics, admin CRUD, price checks and rollup rebuilds."""
