"""Admin console States: guard, overview health, billing provider, customers, report runs, tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from my_dev_portal import routes
from my_dev_portal.api_client import ApiError, ReportRun
from my_dev_portal.state.admin import AdminGuardState, AdminOverviewState, lag_text
from my_dev_portal.state.admin_billing_provider import AdminBillingProviderState
from my_dev_portal.state.admin_customers import AdminCustomersState, customer_view
from my_dev_portal.state.admin_report_runs import AdminReportRunsState
from my_dev_portal.state.admin_tokens import AdminTokensState
from my_dev_portal.state.auth import AuthState
from tests.portal.api_objects import (
    admin_health,
    customer,
    customer_detail,
    customer_list,
    meter,
    plan,
    report_run,
    report_runs,
)
from tests.portal.fakes import ADMIN, FakeApi, follow_sign_in, redirect_path, run, signed_in_admin

CUSTOMER_USAGE = {
    "usage": [
        {
            "meter_id": "mtr_1",
            "name": "API calls",
            "charge_by": "sum_during_period",
            "subscription_item_id": "si_7",
            "usage_quantity": "1502",
            "reported_quantity": "1500",
            "unreported_reports": 1,
        }
    ],
    "last_reports": [
        {
            "id": 9,
            "subscription_item_id": "si_7",
            "meter_id": "mtr_1",
            "hour": "2026-11-24T17:00:00Z",
            "revision": 0,
            "kind": "usage",
            "action": "increment",
            "quantity": "2",
            "carried": False,
            "status": "failed",
            "attempts": 3,
            "last_error": "Stripe did not answer",
            "report_timestamp": None,
            "sent_at": None,
        }
    ],
}


# --- guard ----------------------------------------------------------------------------------------


async def test_logging_in_as_admin_remembers_admin_rights(fake_api: FakeApi, state) -> None:
    fake_api.user = ADMIN
    auth = await state(AuthState, url="/login?next=/admin/meters")
    events = await run(AuthState.login, auth, {"email": ADMIN.email, "password": "s3cret-pass"})
    assert auth.is_admin
    assert await follow_sign_in(auth, events) == "/admin/meters"
    assert await run(AuthState.require_login, auth) == []
    assert auth.is_admin
    await run(AuthState.logout, auth)
    assert not auth.is_admin


async def test_reloading_an_admin_page_learns_admin_rights_from_the_api(fake_api: FakeApi, state) -> None:
    fake_api.user = ADMIN
    auth = await state(AuthState, url="/admin", token="tok_admin")
    await run(AuthState.require_login, auth)
    assert auth.is_admin and auth.user_id == ADMIN.id


async def test_anonymous_visitors_of_admin_pages_go_to_login(fake_api: FakeApi, state) -> None:
    auth = await state(AuthState, url="/admin/report-runs")
    events = await run(AuthState.require_login, auth)
    assert redirect_path(events) == "/login?next=/admin/report-runs"


async def test_guard_explains_when_the_api_could_not_say_who_you_are(fake_api: FakeApi, state) -> None:
    fake_api.fail["me"] = ApiError(0, "api_unreachable", "The portal API cannot be reached right now.")
    guard = await state(AdminGuardState, url="/admin", token="tok_admin")
    await run(AuthState.require_login, await guard.get_state(AuthState))
    await run(AdminGuardState.check, guard)
    assert "did not answer" in guard.error


async def test_a_signed_in_customer_is_not_an_admin(fake_api: FakeApi, state) -> None:
    guard = await state(AdminGuardState, url="/admin", token="tok_user")
    auth = await guard.get_state(AuthState)
    await run(AuthState.require_login, auth)
    await run(AdminGuardState.check, guard)
    assert auth.user_id and not auth.is_admin and guard.error == ""


# --- overview -------------------------------------------------------------------------------------


async def test_overview_summarises_billing_webhooks_meters_and_reporting(fake_api: FakeApi, state) -> None:
    fake_api.runs = report_runs(
        report_run(id="rrun_2", kind="meter_test", status="failed"),
        report_run(id="rrun_1", kind="hourly", status="partial"),
        lag_seconds=7500,
    )
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert page.loaded
    assert (page.provider_ok, page.provider_text) == (True, "Stripe, test mode, API version 2020-08-27")
    assert (page.webhooks_ok, page.webhooks_text) == (False, "No event has arrived yet")
    assert (page.meters_ok, page.meters_text) == (False, "No meter yet")
    assert (page.reporting_ok, page.reporting_text) == (False, "Last run partial, lag 2 h 5 min")


async def test_overview_warns_about_metered_prices_no_meter_bills(fake_api: FakeApi, state) -> None:
    fake_api.plan_list = [
        plan(price_id="price_free", product_name="My API", nickname="Free"),
        plan(price_id="price_payg", product_name="My API", nickname="Pay as you go", usage_type="metered"),
        plan(
            price_id="price_pkg", product_name="My API", nickname="$10 per 1,000 calls", usage_type="metered"
        ),
    ]
    fake_api.meter_list = [meter(id="mtr_1", name="Search calls", stripe_price_id="price_payg")]
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))

    await run(AdminOverviewState.load, page)

    assert (page.meters_ok, page.meters_text) == (False, "1 metered price never billed")
    assert [(p.price_id, p.label) for p in page.unbilled] == [("price_pkg", "My API · $10 per 1,000 calls")]
    fake_api.meter_list.append(meter(id="mtr_2", name="API calls", stripe_price_id="price_pkg"))
    await run(AdminOverviewState.load, page)
    assert (page.meters_ok, page.meters_text, page.unbilled) == (True, "2 active of 2", [])


async def test_overview_warns_about_a_price_two_active_meters_bill(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [
        meter(id="mtr_1", name="Search calls", stripe_price_id="price_payg"),
        meter(id="mtr_2", name="Twin", stripe_price_id="price_payg"),
    ]
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert (page.meters_ok, page.meters_text) == (False, "1 price billed twice")
    assert [d.meters for d in page.double_metered] == ["“Search calls”, “Twin”"]


async def test_overview_is_not_green_when_coverage_is_unknown(fake_api: FakeApi, state) -> None:
    fake_api.meter_list = [meter(id="mtr_1", stripe_price_id="price_payg")]
    fake_api.fail["meter_coverage"] = ApiError(502, "upstream_error", "Stripe did not answer")
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert not page.meters_ok
    assert page.meters_text == "1 active of 1; which prices they bill is unknown: Stripe did not answer"


async def test_overview_keeps_going_when_one_section_fails(fake_api: FakeApi, state) -> None:
    fake_api.fail["report_runs"] = ApiError(500, "internal_error", "Something went wrong on our side")
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert page.reporting_text == "Unknown: Something went wrong on our side"
    assert page.provider_ok


def test_lag_reads_like_a_person_would_say_it() -> None:
    assert [lag_text(s) for s in (None, 42, 600, 7200, 3 * 86400)] == ["", "42 s", "10 min", "2 h", "3 days"]


# --- billing provider -----------------------------------------------------------------------------


async def provider_page(state) -> AdminBillingProviderState:
    page = await state(AdminBillingProviderState, url="/admin/billing-provider", token="tok_admin")
    page = await signed_in_admin(page)
    await run(AdminBillingProviderState.load, page)
    return page


async def test_secret_key_is_only_shown_as_set_with_its_last_four(fake_api: FakeApi, state) -> None:
    page = await provider_page(state)
    assert (page.secret_key_set, page.secret_key_hint, page.mode) == (True, "…4242", "test")
    assert page.webhook_url == "http://api.test/v1/webhooks/stripe"
    assert page.reporting == "Usage records (legacy metered billing)"
    assert not any("sk_" in str(value) for value in page.dict().values())


async def test_saving_sends_only_the_secrets_typed_in(fake_api: FakeApi, state) -> None:
    page = await provider_page(state)
    form = {"secret_key": "", "publishable_key": " pk_test_abcd ", "api_version": "", "webhook_secret": ""}
    events = await run(AdminBillingProviderState.save, page, form)
    [(changes,)] = fake_api.called("update_billing_provider")
    assert changes == {"provider": "stripe", "publishable_key": "pk_test_abcd", "api_version": "2020-08-27"}
    assert page.publishable_key == "pk_test_abcd" and not page.saving
    assert events  # the secret inputs are cleared and a toast says it is saved


async def test_a_rejected_key_is_reported_next_to_its_field(fake_api: FakeApi, state) -> None:
    page = await provider_page(state)
    fake_api.fail["update_billing_provider"] = ApiError(
        422, "invalid_secret_key", "secret_key must be a Stripe secret or restricted key"
    )
    await run(AdminBillingProviderState.save, page, {"secret_key": "pk_oops", "api_version": "2020-08-27"})
    assert page.secret_key_error == "secret_key must be a Stripe secret or restricted key"
    assert page.form_error == "" and not page.saving
    fake_api.fail["update_billing_provider"] = ApiError(
        422, "key_mode_mismatch", "The secret key is a test key but the publishable key is a live key"
    )
    await run(AdminBillingProviderState.save, page, {"publishable_key": "pk_live_1234"})
    assert page.publishable_key_error.startswith("The secret key is a test key")


async def test_removing_a_stored_secret_sends_an_empty_value(fake_api: FakeApi, state) -> None:
    page = await provider_page(state)
    await run(AdminBillingProviderState.clear_secret, page, "webhook_secret")
    await run(AdminBillingProviderState.clear_secret, page, "not_a_secret")
    assert fake_api.called("update_billing_provider") == [({"provider": "stripe", "webhook_secret": ""},)]


# --- customers ------------------------------------------------------------------------------------


async def test_customers_are_listed_with_usage_and_can_be_searched(fake_api: FakeApi, state) -> None:
    fake_api.customer_list = customer_list(customer(**CUSTOMER_USAGE))
    page = await signed_in_admin(await state(AdminCustomersState, url="/admin/customers", token="tok_admin"))
    await run(AdminCustomersState.load, page)
    [row] = page.customers
    assert (row.email, row.plan, row.status, row.status_color) == (
        "lin@example.com",
        "Pay as you go",
        "active",
        "green",
    )
    assert (row.usage, row.behind, row.period) == ("API calls: 1,502", True, "Nov 1, 2026 \u2013 Dec 1, 2026")
    await run(AdminCustomersState.set_search, page, "LIN@")
    assert len(page.shown_customers) == 1
    await run(AdminCustomersState.set_search, page, "nobody")
    assert page.shown_customers == []


async def test_customer_detail_comes_from_the_user_id_in_the_url(fake_api: FakeApi, state) -> None:
    fake_api.customer_detail = customer_detail(**CUSTOMER_USAGE)
    url = "/admin/customers/detail?user_id=usr_7"
    page = await signed_in_admin(await state(AdminCustomersState, url=url, token="tok_admin"))
    await run(AdminCustomersState.load_detail, page)
    assert fake_api.called("customer") == [("usr_7",)]
    [usage] = page.detail_usage
    assert (usage.usage, usage.reported, usage.unreported, usage.in_sync) == ("1,502", "1,500", 1, False)
    [report] = page.detail_reports
    assert (report.hour, report.meter, report.status, report.color, report.error) == (
        "2026-11-24 17:00 UTC",
        "API calls",
        "failed",
        "orange",
        "Stripe did not answer",
    )


async def test_unknown_customer_shows_the_apis_message(fake_api: FakeApi, state) -> None:
    url = "/admin/customers/detail?user_id=usr_404"
    page = await signed_in_admin(await state(AdminCustomersState, url=url, token="tok_admin"))
    await run(AdminCustomersState.load_detail, page)
    assert page.detail_loaded and page.detail_error == "There is no customer usr_404"


# --- report runs ----------------------------------------------------------------------------------


async def test_report_runs_show_status_counts_lag_and_errors(fake_api: FakeApi, state) -> None:
    started = datetime(2026, 11, 24, 17, 5, tzinfo=UTC)
    fake_api.runs = report_runs(
        report_run(
            status="partial",
            started_at=started,
            finished_at=started.replace(second=3),
            planned=10,
            sent=8,
            failed=2,
            lag_seconds=3900,
            errors=[{"subscription_item_id": "si_7", "error": "Stripe did not answer"}],
        ),
        lag_seconds=3900,
    )
    page = await signed_in_admin(
        await state(AdminReportRunsState, url="/admin/report-runs", token="tok_admin")
    )
    await run(AdminReportRunsState.load, page)
    [row] = page.runs
    assert (row.status, row.color, row.duration, row.counts, row.lag) == (
        "partial",
        "orange",
        "3.0 s",
        "8 sent of 10 planned · 2 failed",
        "1 h 5 min",
    )
    assert row.errors == ["si_7: Stripe did not answer"]
    assert page.lag == "1 h 5 min"


async def test_report_runs_failure_is_explained(fake_api: FakeApi, state) -> None:
    fake_api.fail["report_runs"] = ApiError(500, "internal_error", "Something went wrong on our side")
    page = await signed_in_admin(
        await state(AdminReportRunsState, url="/admin/report-runs", token="tok_admin")
    )
    await run(AdminReportRunsState.load, page)
    assert page.loaded and page.error == "Report runs could not be loaded: Something went wrong on our side"


async def report_runs_page(state) -> AdminReportRunsState:
    page = await signed_in_admin(
        await state(AdminReportRunsState, url="/admin/report-runs", token="tok_admin")
    )
    await run(AdminReportRunsState.load, page)
    return page


async def test_report_now_runs_the_reporter_shows_the_outcome_and_reloads(fake_api: FakeApi, state) -> None:
    fake_api.report_now_run = ReportRun.model_validate(
        report_run(id="rrun_9", kind="manual", status="succeeded", planned=4, sent=4, corrections=1)
    )
    page = await report_runs_page(state)
    fake_api.calls.clear()

    events = await run(AdminReportRunsState.report_now, page)

    assert fake_api.called("report_now") == [(None,)]
    assert not page.reporting
    assert page.report_outcome == "Run rrun_9 succeeded: 4 sent of 4 planned, 1 corrections."
    assert page.report_color == "green"
    assert events == [AdminReportRunsState.load]  # the list shows the new run


async def test_report_now_while_a_run_is_in_progress_says_so(fake_api: FakeApi, state) -> None:
    message = "A report run (hourly run rrun_1, started 17:05:00 UTC) is in progress in this process"
    fake_api.fail["report_now"] = ApiError(409, "report_run_in_progress", message)
    page = await report_runs_page(state)

    await run(AdminReportRunsState.report_now, page)

    assert not page.reporting and page.report_color == "orange"
    assert page.report_outcome == f"Report now did not run: {message}"


# --- tokens ---------------------------------------------------------------------------------------


async def tokens_page(state) -> AdminTokensState:
    page = await signed_in_admin(await state(AdminTokensState, url="/admin/tokens", token="tok_admin"))
    await run(AdminTokensState.load, page)
    return page


async def test_a_new_token_is_shown_once(fake_api: FakeApi, state) -> None:
    page = await tokens_page(state)
    await run(AdminTokensState.create, page, "collector", {"name": " moesif "})
    assert fake_api.called("create_collector_token") == [("moesif",)]
    assert (page.revealed_kind, page.revealed_name, page.revealed_secret) == (
        "collector",
        "moesif",
        "mdp_collector_0001_secret",
    )
    assert [t.name for t in page.collector_tokens] == ["moesif"] and page.admin_tokens == []
    await run(AdminTokensState.load, page)
    assert page.revealed_secret == ""


async def test_token_name_is_required_and_api_refusals_are_shown(fake_api: FakeApi, state) -> None:
    page = await tokens_page(state)
    await run(AdminTokensState.create, page, "admin", {"name": ""})
    assert page.admin_name_error and fake_api.called("create_admin_token") == []
    fake_api.fail["create_admin_token"] = ApiError(422, "validation_error", "name: too long")
    await run(AdminTokensState.create, page, "admin", {"name": "ci"})
    assert page.admin_name_error == "name: too long" and not page.busy


async def test_revoking_a_token_asks_first(fake_api: FakeApi, state) -> None:
    await fake_api.create_admin_token("ci")
    page = await tokens_page(state)
    await run(AdminTokensState.ask_revoke, page, "admin", "admin_1", "ci")
    assert page.confirming_revoke
    await run(AdminTokensState.revoke_confirmed, page)
    assert fake_api.called("revoke_admin_token") == [("admin_1",)]
    assert [t.active for t in page.admin_tokens] == [False] and not page.confirming_revoke


async def test_a_new_admin_token_gets_verify_and_ingest_unless_the_admin_chooses(
    fake_api: FakeApi, state
) -> None:
    page = await tokens_page(state)
    assert page.new_scopes == ["verify", "ingest"]
    await run(AdminTokensState.create, page, "admin", {"name": "gateway"})
    await run(AdminTokensState.set_new_scope, page, "admin", True)
    await run(AdminTokensState.set_new_scope, page, "ingest", False)
    assert page.new_scopes == ["admin", "verify"]  # listed in one order, however ticked
    await run(AdminTokensState.create, page, "admin", {"name": "console-bot"})
    assert fake_api.called("create_admin_token") == [
        ("gateway", ["verify", "ingest"]),
        ("console-bot", ["admin", "verify"]),
    ]
    assert [t.scopes for t in page.admin_tokens] == [["verify", "ingest"], ["admin", "verify"]]
    assert page.new_scopes == ["verify", "ingest"]  # back to the default for the next token


async def test_a_token_needs_at_least_one_scope(fake_api: FakeApi, state) -> None:
    page = await tokens_page(state)
    for scope in ("verify", "ingest"):
        await run(AdminTokensState.set_new_scope, page, scope, False)
    await run(AdminTokensState.create, page, "admin", {"name": "nothing"})
    assert page.new_scopes_error == "Choose at least one scope." and page.admin_name_error == ""
    assert fake_api.called("create_admin_token") == []
    await run(AdminTokensState.create, page, "collector", {"name": "moesif"})  # collectors have none
    assert fake_api.called("create_collector_token") == [("moesif",)]


async def test_an_admin_changes_an_existing_tokens_scopes(fake_api: FakeApi, state) -> None:
    await fake_api.create_admin_token("gateway")
    page = await tokens_page(state)
    [token] = page.admin_tokens
    await run(AdminTokensState.ask_scopes, page, token.id, token.name, token.scopes)
    assert page.editing_scopes and page.scopes_chosen == ["verify", "ingest"]
    await run(AdminTokensState.set_chosen_scope, page, "ingest", False)
    await run(AdminTokensState.set_chosen_scope, page, "verify", False)
    await run(AdminTokensState.save_scopes, page)
    assert page.scopes_error == "Choose at least one scope." and page.editing_scopes
    await run(AdminTokensState.set_chosen_scope, page, "admin", True)
    events = await run(AdminTokensState.save_scopes, page)
    assert fake_api.called("update_admin_token_scopes") == [("admin_1", ["admin"])]
    assert [t.scopes for t in page.admin_tokens] == [["admin"]]
    assert not page.editing_scopes and events  # the dialog closes with a toast


async def test_a_refused_scope_change_stays_in_the_dialog(fake_api: FakeApi, state) -> None:
    await fake_api.create_admin_token("gateway")
    page = await tokens_page(state)
    await run(AdminTokensState.ask_scopes, page, "admin_1", "gateway", ["verify"])
    fake_api.fail["update_admin_token_scopes"] = ApiError(
        409, "last_admin_token", "Keep at least one token with the admin scope"
    )
    await run(AdminTokensState.save_scopes, page)
    assert page.editing_scopes and page.scopes_error == "Keep at least one token with the admin scope"
    assert not page.scopes_saving
    fake_api.fail["update_admin_token_scopes"] = ApiError(401, "not_signed_in", "Sign in first")
    events = await run(AdminTokensState.save_scopes, page)
    assert redirect_path(events) == routes.signing_out_then("/login?next=/admin/tokens")
    await run(AdminTokensState.set_scopes_dialog_open, page, False)
    assert not page.editing_scopes and page.scopes_chosen == []


async def test_overview_shows_system_health_when_the_api_reports_it(fake_api: FakeApi, state) -> None:
    fake_api.health = admin_health(
        status="degraded",
        database={"status": "ok", "latency_ms": 1.7},
        stripe={
            "status": "error",
            "reachable": False,
            "latency_ms": None,
            "error": "upstream_error",
            "checked_at": "2026-11-24T18:00:00Z",
            "cached": False,
        },
        webhook_inbox={"pending": 2, "failed": 1, "last_received_at": None},
        ingest={"events_last_hour": 12345},
    )
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert page.system_status == "degraded"
    assert (page.database_ok, page.database_text) == (True, "Answers in 2 ms")
    assert (page.stripe_ok, page.stripe_text) == (False, "Not reachable (upstream_error)")
    assert (page.inbox_ok, page.inbox_text) == (False, "2 waiting, 1 failed")
    assert page.ingest_text == "12,345 usage events in the last hour"


async def test_overview_without_a_health_endpoint_hides_the_system_section(fake_api: FakeApi, state) -> None:
    page = await signed_in_admin(await state(AdminOverviewState, url="/admin", token="tok_admin"))
    await run(AdminOverviewState.load, page)
    assert page.loaded and page.system_status == ""


def test_usage_is_in_sync_when_the_decimals_are_equal_however_written() -> None:
    usage = {"meter_id": "mtr_1", "name": "API calls", "charge_by": "sum_during_period"}
    usage |= {"subscription_item_id": "si_7", "unreported_reports": 0}
    same = customer(usage=[usage | {"usage_quantity": "1500", "reported_quantity": "1500.0"}])
    behind = customer(usage=[usage | {"usage_quantity": "1500.5", "reported_quantity": "1500"}])
    assert [customer_view(c).behind for c in customer_list(same, behind).data] == [False, True]
