"""Reflex configuration of the developer portal."""

import reflex as rx

config = rx.Config(
    app_name="my_dev_portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="iris", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
