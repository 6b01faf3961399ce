"""Developer portal frontend."""
