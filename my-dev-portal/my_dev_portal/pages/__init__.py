"""One module per page; each exposes a function returning the page's component."""
