"""Metering: Moesif-compatible ingest, billing meters, hourly rollups, the usage API and charge-by values."""
