"""AdminState, shared by the console's pages: 401 -> log in again, 403 -> "admins only", its own flags."""

from __future__ import annotations

from typing import Any

import pytest

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.admin import AdminOverviewState
from my_dev_portal.state.admin_base import AdminState
from my_dev_portal.state.admin_billing_provider import AdminBillingProviderState
from my_dev_portal.state.admin_customers import AdminCustomersState
from my_dev_portal.state.admin_meters import AdminMetersState
from my_dev_portal.state.admin_report_runs import AdminReportRunsState
from my_dev_portal.state.admin_tokens import AdminTokensState
from my_dev_portal.state.auth import AuthState
from tests.portal.fakes import FakeApi, redirect_path, run, signed_in_admin

# Each console page's loader, its URL, and the API call that the loader makes first.
LOADERS = [
    (AdminOverviewState, "load", "/admin", "billing_provider"),
    (AdminBillingProviderState, "load", "/admin/billing-provider", "billing_provider"),
    (AdminMetersState, "load", "/admin/meters", "meters"),
    (AdminCustomersState, "load", "/admin/customers", "customers"),
    (AdminCustomersState, "load_detail", "/admin/customers/detail?user_id=usr_7", "customer"),
    (AdminReportRunsState, "load", "/admin/report-runs", "report_runs"),
    (AdminTokensState, "load", "/admin/tokens", "admin_tokens"),
]
IDS = [f"{cls.__name__}.{handler}" for cls, handler, _url, _call in LOADERS]


async def _load(state, cls: type, handler: str, url: str) -> tuple[Any, list[Any]]:
    page = await signed_in_admin(await state(cls, url=url, token="tok_admin"))
    return page, await run(getattr(cls, handler), page)


@pytest.mark.parametrize(("cls", "handler", "url", "call"), LOADERS, ids=IDS)
async def test_an_expired_session_sends_every_console_page_to_login(
    fake_api: FakeApi, state, cls: type, handler: str, url: str, call: str
) -> None:
    fake_api.fail[call] = ApiError(401, "not_signed_in", "Sign in first")
    page, events = await _load(state, cls, handler, url)
    # Through /signing-out, which clears the dead cookie.
    assert redirect_path(events) == routes.signing_out_then(routes.login_with_next(url))
    assert (await page.get_state(AuthState)).session_token() == ""


@pytest.mark.parametrize(("cls", "handler", "url", "call"), LOADERS, ids=IDS)
async def test_a_user_who_is_no_longer_an_admin_sees_admins_only(
    fake_api: FakeApi, state, cls: type, handler: str, url: str, call: str
) -> None:
    fake_api.fail[call] = ApiError(403, "admin_only", "This needs a provider admin")
    page, events = await _load(state, cls, handler, url)
    auth = await page.get_state(AuthState)
    assert redirect_path(events) is None
    assert auth.session_token() == "tok_admin" and not auth.is_admin


@pytest.mark.parametrize(("cls", "handler", "url", "call"), LOADERS, ids=IDS)
async def test_visitors_who_are_not_admins_ask_nothing_of_the_admin_api(
    fake_api: FakeApi, state, cls: type, handler: str, url: str, call: str
) -> None:
    page = await state(cls, url=url, token="tok_user")
    assert await run(getattr(cls, handler), page) == []
    assert fake_api.calls == []


async def test_each_console_page_has_its_own_loaded_and_error(fake_api: FakeApi, state) -> None:
    fake_api.fail["report_runs"] = ApiError(500, "internal_error", "Something went wrong on our side")
    runs, _ = await _load(state, AdminReportRunsState, "load", "/admin/report-runs")
    customers = await runs.get_state(AdminCustomersState)
    assert runs.loaded and runs.error.startswith("Report runs could not be loaded")
    assert (customers.loaded, customers.error) == (False, "")
    assert all(issubclass(cls, AdminState) for cls, *_ in LOADERS)
