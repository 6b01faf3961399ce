"""What every admin console State shares: the admin's API client, its loaded and error flags, and refusals."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from my_dev_portal.api_client import ApiError, PortalApi
from my_dev_portal.state.auth import AuthState


class AdminState(rx.State, mixin=True):
    """Mixed into each admin page's State, so each page has its own `loaded` and `error`.

    A handler asks `await self._admin_api()` for its client (None: not an admin, so ask the API nothing;
    the page shows "admins only") and hands an ApiError to `_failed`, or to `_refusal` when it shows the
    error itself (next to a form field, say). Both return the events for the handler to return or yield.
    """

    # The page's first load has finished (or failed): it shows its data or its error, not a spinner.
    loaded: bool = False
    # Why the page could not load or act, for the callout at its top; "" when all is well.
    error: str = ""

    async def _admin_api(self) -> PortalApi | None:
        """The signed-in admin's API client, or None when the visitor is not (known as) an admin."""
        auth = await self.get_state(AuthState)
        if not auth.session_token() or not auth.is_admin:
            return None
        return auth.api()

    async def _refusal(self, exc: ApiError) -> list[EventSpec] | None:
        """What a 401 or 403 means for the page, or None when `exc` is another error for the caller to show.

        401: the session ended -> log in again, back to this page. 403: this needs a provider admin and
        the user no longer is one -> the page shows "admins only".
        """
        if exc.status not in (401, 403):
            return None
        auth = await self.get_state(AuthState)
        if exc.status == 401:
            return [auth.session_expired()]
        auth.is_admin = False
        return []

    async def _failed(self, exc: ApiError, doing: str) -> list[EventSpec] | None:
        """A refusal, or else the page's error: "<doing>: <the API's message>"."""
        refused = await self._refusal(exc)
        if refused is None:
            self.error = f"{doing}: {exc.message}"
        return refused
