"""Admin report runs: each run of the usage reporter with its status, counts, lag and errors."""

from __future__ import annotations

import dataclasses
import json

import reflex as rx

from my_dev_portal.api_client import ApiError, ReportRun
from my_dev_portal.state.admin import lag_text
from my_dev_portal.state.admin_base import AdminState

RUN_COLORS = {
    "succeeded": "green",
    "skipped": "gray",
    "running": "blue",
    "partial": "orange",
    "interrupted": "orange",
    "failed": "red",
}


@dataclasses.dataclass
class RunView:
    id: str = ""
    kind: str = ""
    status: str = ""
    color: str = "gray"
    started: str = ""
    duration: str = ""
    counts: str = ""
    lag: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


def _error_text(error: object) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message") or error.get("error") or ""
        where = " ".join(str(error[k]) for k in ("subscription_item_id", "meter_id", "hour") if error.get(k))
        return f"{where}: {message}" if where and message else str(message or json.dumps(error))
    return str(error)


def run_view(run: ReportRun) -> RunView:
    duration = ""
    if run.started_at and run.finished_at:
        seconds = (run.finished_at - run.started_at).total_seconds()
        duration = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    counts = f"{run.sent} sent of {run.planned} planned"
    extras = [f"{n} {label}" for n, label in ((run.failed, "failed"), (run.rejected, "rejected")) if n]
    if extras:
        counts += " · " + ", ".join(extras)
    return RunView(
        id=run.id,
        kind=run.kind.replace("_", " "),
        status=run.status,
        color=RUN_COLORS.get(run.status, "gray"),
        started=f"{run.started_at:%Y-%m-%d %H:%M} UTC" if run.started_at else "",
        duration=duration,
        counts=counts,
        lag=lag_text(run.lag_seconds) or "—",
        errors=[_error_text(error) for error in run.errors],
    )


def outcome_text(run: ReportRun) -> str:
    """What "Report now" says when its run ends."""
    text = f"Run {run.id} {run.status}: {run_view(run).counts}"
    if run.corrections:
        text += f", {run.corrections} corrections"
    return text + "."


class AdminReportRunsState(AdminState, rx.State):
    runs: list[RunView] = []
    # How far behind the reporter is, from its latest finished run.
    lag: str = ""
    # "Report now": running, and what its run did (or why it could not run), in the callout's colour.
    reporting: bool = False
    report_outcome: str = ""
    report_color: str = "gray"

    @rx.event
    async def report_now(self):
        """Run the usage reporter now (every closed hour not in Stripe yet) and show how it went."""
        api = await self._admin_api()
        if api is None or self.reporting:
            return
        self.reporting = True
        self.report_outcome = ""
        yield
        try:
            run = await api.report_now()
        except ApiError as exc:
            self.reporting = False
            if (refused := await self._refusal(exc)) is not None:
                yield refused
                return
            self.report_color = "orange" if exc.status == 409 else "red"
            self.report_outcome = f"Report now did not run: {exc.message}"
            return
        self.reporting = False
        self.report_color = RUN_COLORS.get(run.status, "gray")
        self.report_outcome = outcome_text(run)
        yield AdminReportRunsState.load

    @rx.event
    async def load(self):
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        try:
            runs = await api.report_runs()
        except ApiError as exc:
            self.loaded = True
            return await self._failed(exc, "Report runs could not be loaded")
        self.runs = [run_view(run) for run in runs.data]
        self.lag = lag_text(runs.lag_seconds)
        self.loaded = True
        return None
