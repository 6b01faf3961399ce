"""Admin API tokens and collector tokens (for Moesif middlewares): list, create (shown once), revoke."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import reflex as rx

from my_dev_portal.api_client import (
    AdminToken,
    AdminTokenCreated,
    ApiError,
    CollectorToken,
    CollectorTokenCreated,
    PortalApi,
)
from my_dev_portal.prices import format_date
from my_dev_portal.state.admin_base import AdminState

MAX_TOKEN_NAME = 100
KINDS = ("admin", "collector")


@dataclasses.dataclass
class TokenView:
    id: str = ""
    kind: str = ""
    name: str = ""
    prefix: str = ""
    created: str = ""
    last_used: str = ""
    active: bool = True


def token_view(kind: str, token: AdminToken | CollectorToken) -> TokenView:
    return TokenView(
        id=token.id,
        kind=kind,
        name=token.name,
        prefix=token.prefix,
        created=format_date(token.created_at),
        last_used=format_date(token.last_used_at) or "Never",
        active=token.revoked_at is None,
    )


async def _list(api: PortalApi, kind: str) -> Sequence[AdminToken | CollectorToken]:
    return await (api.admin_tokens() if kind == "admin" else api.collector_tokens())


async def _create(api: PortalApi, kind: str, name: str) -> AdminTokenCreated | CollectorTokenCreated:
    return await (api.create_admin_token(name) if kind == "admin" else api.create_collector_token(name))


class AdminTokensState(AdminState, rx.State):
    busy: bool = False
    admin_tokens: list[TokenView] = []
    collector_tokens: list[TokenView] = []
    admin_name_error: str = ""
    collector_name_error: str = ""

    # A token just created: shown once, then forgotten.
    revealed_kind: str = ""
    revealed_name: str = ""
    revealed_secret: str = ""

    revoke_id: str = ""
    revoke_kind: str = ""
    revoke_name: str = ""

    @rx.var
    def confirming_revoke(self) -> bool:
        return self.revoke_id != ""

    @rx.event
    async def load(self):
        self.revealed_kind = self.revealed_name = self.revealed_secret = ""
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
        if not name:
            setattr(self, error_field, "Name the token after what uses it, such as “billing-sync”.")
            return None
        if len(name) > MAX_TOKEN_NAME:
            setattr(self, error_field, f"Use at most {MAX_TOKEN_NAME} characters.")
            return None
        api = await self._admin_api()
        if api is None:
            return None
        self.busy = True
        try:
            created = await _create(api, kind, name)
            self._set(kind, await _list(api, kind))
        except ApiError as exc:
            self.busy = False
            if (refused := await self._refusal(exc)) is not None:
                return refused
            setattr(self, error_field, exc.message)
            return None
        self.busy = False
        self.revealed_kind, self.revealed_name, self.revealed_secret = kind, created.name, created.token
        return rx.set_value(f"new-{kind}-token-name", "")

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
