"""One State class per feature of the portal."""
