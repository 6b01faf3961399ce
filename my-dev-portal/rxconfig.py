"""Reflex configuration of the developer portal."""

import reflex as rx

from my_dev_portal.config import get_settings

config = rx.Config(
    app_name="my_dev_portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="iris", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Only the portal's own pages may open the state websocket or call the backend (not "*").
    cors_allowed_origins=[get_settings().PORTAL_URL.rstrip("/")],
)
