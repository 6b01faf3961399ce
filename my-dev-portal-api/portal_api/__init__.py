"""Developer portal API."""
