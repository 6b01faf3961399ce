"""The admin console's guard (admins only) and its overview page with a health summary."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.api_client import ApiError, PortalApi
from my_dev_portal.prices import format_date, plural
from my_dev_portal.state.admin_base import AdminState
from my_dev_portal.state.admin_meters import DoubledView, UnbilledView, coverage_views
from my_dev_portal.state.auth import AuthState


def lag_text(seconds: int | None) -> str:
    """A reporting lag for people: "4 min", "2 h 5 min", "" when unknown."""
    if seconds is None:
        return ""
    minutes = max(0, seconds) // 60
    if minutes < 60:
        return f"{minutes} min" if minutes else f"{max(0, seconds)} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


class AdminGuardState(rx.State):
    """Tells the admin pages whether the visitor's rights could be checked at all."""

    error: str = ""

    @rx.event
    async def check(self):
        """After AuthState.require_login: signed in but unidentified means the API did not answer."""
        auth = await self.get_state(AuthState)
        self.error = ""
        if auth.session_token() and not auth.user_id:
            self.error = (
                "Your admin rights could not be checked: the portal API did not answer. Reload to retry."
            )


class AdminOverviewState(AdminState, rx.State):
    """The console's front page: is billing set up, do webhooks arrive, are meters and reports healthy."""

    provider_ok: bool = False
    provider_text: str = ""
    webhooks_ok: bool = False
    webhooks_text: str = ""
    meters_ok: bool = False
    meters_text: str = ""
    # Metered prices whose usage is never billed (no active meter), or billed twice (two of them).
    unbilled: list[UnbilledView] = []
    double_metered: list[DoubledView] = []
    reporting_ok: bool = False
    reporting_text: str = ""

    # From GET /v1/admin/health, when the API has it: "ok" or "degraded", "" when unknown.
    system_status: str = ""
    database_ok: bool = False
    database_text: str = ""
    stripe_ok: bool = False
    stripe_text: str = ""
    inbox_ok: bool = False
    inbox_text: str = ""
    ingest_text: str = ""

    @rx.event
    async def load(self):
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        try:
            provider = await api.billing_provider()
        except ApiError as exc:
            if (refused := await self._refusal(exc)) is not None:
                return refused
            self.provider_ok = self.webhooks_ok = False
            self.provider_text = self.webhooks_text = f"Unknown: {exc.message}"
        else:
            self.provider_ok = provider.secret_key_set
            mode = f"{provider.mode} mode, " if provider.mode else ""
            self.provider_text = (
                f"Stripe, {mode}API version {provider.api_version}"
                if provider.secret_key_set
                else "No Stripe secret key yet"
            )
            webhook = provider.webhook
            self.webhooks_ok = bool(webhook and webhook.arriving)
            if webhook is None or not webhook.signing_secret_set:
                self.webhooks_text = "No webhook signing secret yet"
            elif webhook.arriving:
                self.webhooks_text = f"{webhook.received_last_24h} events in the last 24 h"
            elif webhook.last_received_at:
                self.webhooks_text = f"None in 24 h; last on {format_date(webhook.last_received_at)}"
            else:
                self.webhooks_text = "No event has arrived yet"
        await self._show_meters(api)
        try:
            runs = await api.report_runs()
        except ApiError as exc:
            self.reporting_ok, self.reporting_text = False, f"Unknown: {exc.message}"
        else:
            reporter_runs = [run for run in runs.data if run.kind != "meter_test"]
            if not reporter_runs:
                self.reporting_ok, self.reporting_text = False, "No report run yet"
            else:
                last = reporter_runs[0]
                self.reporting_ok = last.status in ("succeeded", "skipped", "running")
                lag = lag_text(runs.lag_seconds)
                self.reporting_text = f"Last run {last.status.replace('_', ' ')}" + (
                    f", lag {lag}" if lag else ""
                )
        await self._show_health(api)
        self.loaded = True
        return None

    async def _show_meters(self, api: PortalApi) -> None:
        """Green only when meters exist and every metered price is billed by exactly one active meter."""
        self.unbilled, self.double_metered = [], []
        try:
            meters = await api.meters()
        except ApiError as exc:
            self.meters_ok, self.meters_text = False, f"Unknown: {exc.message}"
            return
        active = sum(1 for meter in meters if meter.active)
        self.meters_ok = active > 0
        self.meters_text = f"{active} active of {len(meters)}" if meters else "No meter yet"
        try:
            coverage = await api.meter_coverage()
        except ApiError as exc:
            self.meters_ok = False
            self.meters_text += f"; which prices they bill is unknown: {exc.message}"
            return
        self.unbilled, self.double_metered = coverage_views(
            coverage, {meter.id: meter.name for meter in meters}
        )
        if self.unbilled:
            count = len(self.unbilled)
            self.meters_ok = False
            self.meters_text = f"{count} metered {plural('price', count)} never billed"
        elif self.double_metered:
            count = len(self.double_metered)
            self.meters_ok = False
            self.meters_text = f"{count} {plural('price', count)} billed twice"

    async def _show_health(self, api: PortalApi) -> None:
        try:
            health = await api.admin_health()
        except ApiError as exc:
            self.system_status, self.database_text = "degraded", f"Unknown: {exc.message}"
            return
        if health is None:
            self.system_status = ""
            return
        self.system_status = health.status
        database, stripe, inbox = health.database, health.stripe, health.webhook_inbox
        self.database_ok = bool(database and database.status == "ok")
        if database is None:
            self.database_text = "Unknown"
        elif self.database_ok:
            self.database_text = f"Answers in {database.latency_ms or 0:.0f} ms"
        else:
            self.database_text = f"Not answering ({database.error or 'error'})"
        self.stripe_ok = bool(stripe and stripe.status == "ok")
        if stripe is None:
            self.stripe_text = "Unknown"
        elif self.stripe_ok:
            self.stripe_text = f"Reachable in {stripe.latency_ms or 0:.0f} ms"
        else:
            self.stripe_text = f"Not reachable ({stripe.error or 'error'})"
        self.inbox_ok = bool(inbox and not inbox.failed)
        self.inbox_text = (
            f"{inbox.pending} waiting, {inbox.failed} failed" if inbox is not None else "Unknown"
        )
        events = health.ingest.events_last_hour if health.ingest else 0
        self.ingest_text = f"{events:,} {plural('usage event', events)} in the last hour"
