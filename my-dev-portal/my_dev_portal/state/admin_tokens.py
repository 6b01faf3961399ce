"""Admin API tokens (with scopes) and collector tokens (for Moesif middlewares): list, create, revoke."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import reflex as rx

from my_dev_portal.api_client import (
    DEFAULT_TOKEN_SCOPES,
    TOKEN_SCOPES,
    AdminToken,
    AdminTokenCreated,
    ApiError,
    CollectorToken,
    CollectorTokenCreated,
    PortalApi,
    TokenScope,
)
from my_dev_portal.prices import format_date
from my_dev_portal.state.admin_base import AdminState

MAX_TOKEN_NAME = 100
KINDS = ("admin", "collector")
# What each scope of an admin API token lets it call.
SCOPE_HINTS: dict[str, str] = {
    "admin": "every admin and console route",
    "verify": "POST /v1/keys/verify",
    "ingest": "POST /v1/usage/events",
}
NO_SCOPE = "Choose at least one scope."


@dataclasses.dataclass
class TokenView:
    id: str = ""
    kind: str = ""
    name: str = ""
    prefix: str = ""
    created: str = ""
    last_used: str = ""
    active: bool = True
    # An admin API token's scopes, in TOKEN_SCOPES order; collector tokens have none.
    scopes: list[str] = dataclasses.field(default_factory=list)


def token_view(kind: str, token: AdminToken | CollectorToken) -> TokenView:
    return TokenView(
        id=token.id,
        kind=kind,
        name=token.name,
        prefix=token.prefix,
        created=format_date(token.created_at),
        last_used=format_date(token.last_used_at) or "Never",
        active=token.revoked_at is None,
        scopes=[*scope_list(token.scopes)] if isinstance(token, AdminToken) else [],
    )


def scope_list(scopes: Sequence[str]) -> list[TokenScope]:
    """The known scopes among `scopes`, in TOKEN_SCOPES order (how the page lists and sends them)."""
    return [scope for scope in TOKEN_SCOPES if scope in scopes]


def _with_scope(scopes: Sequence[str], scope: str, checked: bool) -> list[str]:
    """`scopes` with `scope` ticked or not."""
    return [*scope_list([*(s for s in scopes if s != scope), *([scope] if checked else [])])]


async def _list(api: PortalApi, kind: str) -> Sequence[AdminToken | CollectorToken]:
    return await (api.admin_tokens() if kind == "admin" else api.collector_tokens())


async def _create(
    api: PortalApi, kind: str, name: str, scopes: list[TokenScope]
) -> AdminTokenCreated | CollectorTokenCreated:
    if kind == "admin":
        return await api.create_admin_token(name, scopes)
    return await api.create_collector_token(name)


class AdminTokensState(AdminState, rx.State):
    """`/admin/tokens`: both kinds of token, the one just created, and the dialogs to revoke or rescope."""

    busy: bool = False
    admin_tokens: list[TokenView] = []
    collector_tokens: list[TokenView] = []
    admin_name_error: str = ""
    collector_name_error: str = ""

    # A token just created: shown once, then forgotten.
    revealed_kind: str = ""
    revealed_name: str = ""
    revealed_secret: str = ""

    # The scopes ticked in the "new admin API token" form.
    new_scopes: list[str] = list(DEFAULT_TOKEN_SCOPES)
    new_scopes_error: str = ""

    revoke_id: str = ""
    revoke_kind: str = ""
    revoke_name: str = ""

    # The admin API token whose scopes are being changed; scopes_id "" when no dialog is open.
    scopes_id: str = ""
    scopes_name: str = ""
    scopes_chosen: list[str] = []
    scopes_error: str = ""
    scopes_saving: bool = False

    @rx.var
    def confirming_revoke(self) -> bool:
        return self.revoke_id != ""

    @rx.var
    def editing_scopes(self) -> bool:
        return self.scopes_id != ""

    @rx.event
    async def load(self):
        self.revealed_kind = self.revealed_name = self.revealed_secret = ""
        self.new_scopes, self.new_scopes_error = list(DEFAULT_TOKEN_SCOPES), ""
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        for kind in KINDS:
            try:
                tokens = await _list(api, kind)
            except ApiError as exc:
                if (refused := await self._refusal(exc)) is not None:
                    self.loaded = True
                    return refused
                self.error = f"The {kind} tokens could not be loaded: {exc.message}"
                continue
            self._set(kind, tokens)
        self.loaded = True
        return None

    def _set(self, kind: str, tokens: Sequence[AdminToken | CollectorToken]) -> None:
        views = [token_view(kind, token) for token in tokens]
        if kind == "admin":
            self.admin_tokens = views
        else:
            self.collector_tokens = views

    @rx.event
    async def create(self, kind: str, form_data: dict[str, str]):
        if kind not in KINDS:
            return None
        name = form_data.get("name", "").strip()
        error_field = f"{kind}_name_error"
        setattr(self, error_field, "")
        self.new_scopes_error = ""
        scopes = scope_list(self.new_scopes)
        if not name:
            setattr(self, error_field, "Name the token after what uses it, such as “billing-sync”.")
        elif len(name) > MAX_TOKEN_NAME:
            setattr(self, error_field, f"Use at most {MAX_TOKEN_NAME} characters.")
        if kind == "admin" and not scopes:
            self.new_scopes_error = NO_SCOPE
        if getattr(self, error_field) or self.new_scopes_error:
            return None
        api = await self._admin_api()
        if api is None:
            return None
        self.busy = True
        try:
            created = await _create(api, kind, name, scopes)
            self._set(kind, await _list(api, kind))
        except ApiError as exc:
            self.busy = False
            if (refused := await self._refusal(exc)) is not None:
                return refused
            setattr(self, error_field, exc.message)
            return None
        self.busy = False
        self.revealed_kind, self.revealed_name, self.revealed_secret = kind, created.name, created.token
        if kind == "admin":
            self.new_scopes = list(DEFAULT_TOKEN_SCOPES)
        return rx.set_value(f"new-{kind}-token-name", "")

    @rx.event
    def set_new_scope(self, scope: str, checked: bool) -> None:
        self.new_scopes = _with_scope(self.new_scopes, scope, checked)
        self.new_scopes_error = ""

    @rx.event
    def dismiss_secret(self) -> None:
        self.revealed_kind = self.revealed_name = self.revealed_secret = ""

    @rx.event
    def ask_revoke(self, kind: str, token_id: str, name: str) -> None:
        self.revoke_kind, self.revoke_id, self.revoke_name = kind, token_id, name

    @rx.event
    def set_revoke_dialog_open(self, is_open: bool) -> None:
        if not is_open:
            self.revoke_kind = self.revoke_id = self.revoke_name = ""

    @rx.event
    async def revoke_confirmed(self):
        kind, token_id = self.revoke_kind, self.revoke_id
        self.revoke_kind = self.revoke_id = self.revoke_name = ""
        api = await self._admin_api()
        if not token_id or kind not in KINDS or api is None:
            return None
        self.error = ""
        try:
            if kind == "admin":
                await api.revoke_admin_token(token_id)
            else:
                await api.revoke_collector_token(token_id)
            self._set(kind, await _list(api, kind))
        except ApiError as exc:
            return await self._failed(exc, "The token could not be revoked")
        return None

    # --- changing an admin API token's scopes -------------------------------------------------------------

    @rx.event
    def ask_scopes(self, token_id: str, name: str, scopes: list[str]) -> None:
        self.scopes_id, self.scopes_name, self.scopes_chosen = token_id, name, [*scope_list(scopes)]
        self.scopes_error = ""

    @rx.event
    def set_chosen_scope(self, scope: str, checked: bool) -> None:
        self.scopes_chosen = _with_scope(self.scopes_chosen, scope, checked)
        self.scopes_error = ""

    @rx.event
    def set_scopes_dialog_open(self, is_open: bool) -> None:
        if not is_open:
            self.scopes_id = self.scopes_name = self.scopes_error = ""
            self.scopes_chosen = []

    @rx.event
    async def save_scopes(self):
        token_id, scopes = self.scopes_id, scope_list(self.scopes_chosen)
        if not token_id:
            return None
        if not scopes:
            self.scopes_error = NO_SCOPE
            return None
        api = await self._admin_api()
        if api is None:
            return None
        self.scopes_saving = True
        try:
            token = await api.update_admin_token_scopes(token_id, scopes)
        except ApiError as exc:
            self.scopes_saving = False
            if (refused := await self._refusal(exc)) is not None:
                return refused
            self.scopes_error = exc.message
            return None
        self.scopes_saving = False
        self.admin_tokens = [
            token_view("admin", token) if view.id == token.id else view for view in self.admin_tokens
        ]
        self.scopes_id = self.scopes_name = ""
        self.scopes_chosen = []
        return rx.toast.success(f"Scopes of “{token.name}” saved")
