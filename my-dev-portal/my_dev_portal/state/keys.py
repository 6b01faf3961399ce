"""API keys on the dashboard: list, create, rotate, revoke; a new secret is shown once."""

from __future__ import annotations

import dataclasses

import reflex as rx

from my_dev_portal.api_client import ApiError, ApiKey, CreatedKey
from my_dev_portal.prices import format_date
from my_dev_portal.state.auth import AuthState

MAX_KEY_NAME = 64


@dataclasses.dataclass
class KeyView:
    """One row of the keys table."""

    id: str = ""
    name: str = ""
    prefix: str = ""
    status: str = ""
    created: str = ""
    last_used: str = ""
    expires: str = ""
    active: bool = False


def key_view(key: ApiKey) -> KeyView:
    return KeyView(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        status=key.status,
        created=format_date(key.created_at),
        last_used=format_date(key.last_used_at) or "Never",
        expires=format_date(key.expires_at) or "Never",
        active=key.status == "active" and key.revoked_at is None,
    )


class KeysState(rx.State):
    keys: list[KeyView] = []
    loaded: bool = False
    error: str = ""
    name_error: str = ""
    busy: bool = False

    # The secret of the key just created or rotated: shown once, then forgotten.
    revealed_secret: str = ""
    revealed_name: str = ""

    # The key awaiting confirmation of its revocation; "" when no dialog is open.
    revoke_key_id: str = ""
    revoke_key_name: str = ""

    @rx.var
    def confirming_revoke(self) -> bool:
        return bool(self.revoke_key_id)

    @rx.event
    async def load_keys(self):
        auth = await self.get_state(AuthState)
        self.revealed_secret = self.revealed_name = ""
        if not auth.session_token():
            return None
        try:
            keys = await auth.api().keys()
        except ApiError as exc:
            if exc.status == 401:
                return auth.session_expired()
            self.error = exc.message
            self.loaded = True
            return None
        self.error = ""
        self.keys = [key_view(key) for key in keys]
        self.loaded = True
        return None

    async def _refresh(self, auth: AuthState) -> None:
        try:
            self.keys = [key_view(key) for key in await auth.api().keys()]
        except ApiError as exc:
            self.error = exc.message

    def _reveal(self, key: CreatedKey) -> None:
        self.revealed_secret = key.secret
        self.revealed_name = key.name

    @rx.event
    async def create_key(self, form_data: dict[str, str]):
        name = form_data.get("name", "").strip()
        self.name_error = ""
        if not name:
            self.name_error = "Give the key a name, such as “production”."
            return None
        if len(name) > MAX_KEY_NAME:
            self.name_error = f"Use at most {MAX_KEY_NAME} characters."
            return None
        auth = await self.get_state(AuthState)
        self.busy = True
        try:
            created = await auth.api().create_key(name)
        except ApiError as exc:
            self.busy = False
            if exc.status == 401:
                return auth.session_expired()
            self.name_error = exc.message
            return None
        self._reveal(created)
        await self._refresh(auth)
        self.busy = False
        return rx.set_value("new-key-name", "")

    @rx.event
    async def rotate_key(self, key_id: str):
        auth = await self.get_state(AuthState)
        self.busy = True
        self.error = ""
        try:
            created = await auth.api().rotate_key(key_id)
        except ApiError as exc:
            self.busy = False
            if exc.status == 401:
                return auth.session_expired()
            self.error = exc.message
            return None
        self._reveal(created)
        await self._refresh(auth)
        self.busy = False
        return None

    @rx.event
    def ask_revoke(self, key_id: str, key_name: str) -> None:
        self.revoke_key_id, self.revoke_key_name = key_id, key_name

    def _close_revoke_dialog(self) -> None:
        self.revoke_key_id = self.revoke_key_name = ""

    @rx.event
    def cancel_revoke(self) -> None:
        self._close_revoke_dialog()

    @rx.event
    def set_revoke_dialog_open(self, is_open: bool) -> None:
        if not is_open:
            self._close_revoke_dialog()

    @rx.event
    async def revoke_confirmed(self):
        key_id = self.revoke_key_id
        self._close_revoke_dialog()
        if not key_id:
            return None
        auth = await self.get_state(AuthState)
        self.busy = True
        self.error = ""
        try:
            await auth.api().revoke_key(key_id)
        except ApiError as exc:
            self.busy = False
            if exc.status == 401:
                return auth.session_expired()
            self.error = exc.message
            return None
        await self._refresh(auth)
        self.busy = False
        return None

    @rx.event
    def dismiss_secret(self) -> None:
        self.revealed_secret = self.revealed_name = ""
