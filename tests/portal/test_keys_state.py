"""KeysState: create, rotate, revoke with confirmation; a new secret is shown once."""

from __future__ import annotations

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError
from my_dev_portal.state.keys import KeysState
from tests.portal.fakes import FakeApi, redirect_path, run


async def keys_page(state, fake_api: FakeApi, *names: str) -> KeysState:
    for name in names:
        await fake_api.create_key(name)
    fake_api.calls.clear()
    page = await state(KeysState, url="/dashboard", token="tok_abc")
    await run(KeysState.load_keys, page)
    return page


async def test_keys_are_listed(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api, "production")
    [row] = page.keys
    assert (row.name, row.prefix, row.active, row.last_used, row.created) == (
        "production",
        "mdp_0001",
        True,
        "Never",
        "Nov 24, 2026",
    )


async def test_created_key_secret_is_revealed_once(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api)
    await run(KeysState.create_key, page, {"name": " ci "})
    assert fake_api.called("create_key") == [("ci",)]
    assert (page.revealed_name, page.revealed_secret) == ("ci", "mdp_0001_secret")
    assert [k.name for k in page.keys] == ["ci"]
    await run(KeysState.dismiss_secret, page)
    assert page.revealed_secret == ""


async def test_secret_is_forgotten_when_the_dashboard_reloads(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api)
    await run(KeysState.create_key, page, {"name": "ci"})
    await run(KeysState.load_keys, page)
    assert page.revealed_secret == ""


async def test_key_name_is_required(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api)
    await run(KeysState.create_key, page, {"name": "  "})
    assert page.name_error
    assert fake_api.called("create_key") == []


async def test_create_refusal_shows_the_apis_message(fake_api: FakeApi, state) -> None:
    fake_api.fail["create_key"] = ApiError(403, "no_subscription", "Subscribe to a plan to create keys.")
    page = await keys_page(state, fake_api)
    await run(KeysState.create_key, page, {"name": "ci"})
    assert page.name_error == "Subscribe to a plan to create keys."
    assert not page.busy


async def test_rotating_reveals_the_new_secret_and_retires_the_old_key(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api, "production")
    await run(KeysState.rotate_key, page, "key_1")
    assert page.revealed_secret == "mdp_0002_secret"
    assert [(k.id, k.active) for k in page.keys] == [("key_1", False), ("key_2", True)]


async def test_revoking_asks_first_and_can_be_called_off(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api, "production")
    await run(KeysState.ask_revoke, page, "key_1", "production")
    assert page.confirming_revoke and page.revoke_key_name == "production"
    await run(KeysState.set_revoke_dialog_open, page, False)
    assert not page.confirming_revoke
    assert fake_api.called("revoke_key") == []


async def test_confirmed_revocation_revokes_and_refreshes(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api, "production")
    await run(KeysState.ask_revoke, page, "key_1", "production")
    await run(KeysState.revoke_confirmed, page)
    assert fake_api.called("revoke_key") == [("key_1",)]
    assert not page.confirming_revoke
    assert [(k.status, k.active) for k in page.keys] == [("revoked", False)]


async def test_expired_session_while_revoking_goes_to_login(fake_api: FakeApi, state) -> None:
    page = await keys_page(state, fake_api, "production")
    fake_api.fail["revoke_key"] = ApiError(401, "unauthorized", "Session expired.")
    await run(KeysState.ask_revoke, page, "key_1", "production")
    events = await run(KeysState.revoke_confirmed, page)
    assert redirect_path(events) == routes.signing_out_then("/login?next=/dashboard")
