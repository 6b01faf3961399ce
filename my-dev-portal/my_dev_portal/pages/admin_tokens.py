"""`/admin/tokens`: admin API tokens (scripts) and collector tokens (Moesif middlewares); shown once."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.admin_tokens_panel import revoke_dialog, scopes_dialog, tokens_panel
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin_tokens import AdminTokensState
from my_dev_portal.templates import admin_only, template

S = AdminTokensState


@template
@admin_only
def admin_tokens() -> rx.Component:
    return admin_page(
        "Tokens",
        "Secrets for machines. Each is shown once when created; store it in your secret manager.",
        routes.ADMIN_TOKENS,
        rx.cond(S.error != "", error_callout(S.error)),
        rx.cond(
            S.loaded,
            rx.vstack(
                tokens_panel(
                    "admin",
                    "Admin API tokens",
                    "For scripts and gateways: send Authorization: Bearer mdp_admin_…; "
                    "each token may call only what its scopes allow.",
                    S.admin_tokens,  # type: ignore[arg-type]
                    S.admin_name_error,
                ),
                tokens_panel(
                    "collector",
                    "Collector tokens",
                    "The Application Id a Moesif middleware sends usage events with.",
                    S.collector_tokens,  # type: ignore[arg-type]
                    S.collector_name_error,
                ),
                spacing="4",
                width="100%",
            ),
            loading_block("Loading tokens…"),
        ),
        revoke_dialog(),
        scopes_dialog(),
    )
