"""`/signing-in` and `/signing-out`: whole-page loads of the session routes that set and clear the cookie."""

from __future__ import annotations

import json

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.callouts import loading_block
from my_dev_portal.templates import template


def _load_session_route(route: str, label: str) -> rx.Component:
    """Replace this page by `route` with the same query string, as a real page load.

    An `rx.redirect` to the route would stay inside the single-page app, which has no such page. The script
    is compiled into the bundle (not eval'd from the backend), so the CSP, which has no 'unsafe-eval',
    allows it; `replace` keeps this page out of the history.
    """
    script = f"window.location.replace({json.dumps(route)} + window.location.search)"
    return rx.box(loading_block(label, height="60vh"), on_mount=rx.run_script(script), width="100%")


@template
def signing_in() -> rx.Component:
    return _load_session_route(routes.SESSION_ESTABLISH, "Signing you in…")


@template
def signing_out() -> rx.Component:
    return _load_session_route(routes.SESSION_END, "Signing you out…")
