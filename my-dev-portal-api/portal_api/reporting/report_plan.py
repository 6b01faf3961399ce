"""What planning produces: an hour's reported state, a planned ledger entry, an hour's decision, a run's plan.

Pure data: the decisions (report_decisions.py) fill it in, the ledger writes (ledger_planning.py) store it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from portal_api.reporting.targets import PriceRoute

Action = Literal["increment", "set"]
PairKey = tuple[str, str]  # (subscription item, meter)
HourKey = tuple[str, str, datetime]  # (subscription item, meter, hour)
MILLI = 1000  # values are kept in thousandths


@dataclass(frozen=True)
class Head:
    """What Stripe holds (or is being sent) for one hour: a row of `usage_reported_hours`."""

    revision: int  # -1: known hour, nothing sent yet
    value_milli: int  # the rollup value it was computed from
    target_milli: int  # the hour's value in Stripe


@dataclass(frozen=True)
class LedgerEntry:
    """One planned revision of one hour: a report to send to Stripe, or a skip recorded with its reason."""

    subscription_item_id: str
    meter_id: str
    hour: datetime
    revision: int
    user_id: str
    stripe_customer_id: str
    stripe_subscription_id: str
    value_milli: int  # the rollup value this revision was computed from
    target_milli: int  # the hour's value in Stripe once this revision is applied
    quantity_milli: int = 0  # what this revision sends (increment: the difference; set: the value)
    action: Action | None = None  # None: a skip, nothing is sent
    report_timestamp: int = 0  # unix seconds stamped on the record/event
    carried: bool = False  # usage of an hour before the current period, sent into it
    route: PriceRoute | None = None  # how it reaches Stripe; None for a skip
    skip_reason: str | None = None

    @property
    def kind(self) -> str:
        """The ledger's `kind`: usage_record | meter_event, or `skipped`."""
        if self.route is None:
            return "skipped"
        return self.route.kind or ""

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None


@dataclass(frozen=True)
class HourDecision:
    """What to do about one hour: record an entry, move the hour's reported state, defer it, or nothing."""

    key: HourKey
    entry: LedgerEntry | None = None
    head: Head | None = None  # the hour's reported state afterwards; None: unchanged
    deferred: bool = False  # the hour is past our period mirror's end; the next run plans it
    correction: bool = False  # a new revision of an hour already reported


@dataclass
class Plan:
    """One run's plan: the ledger entries to insert and the reported hours to upsert, with counts."""

    run_id: str
    entries: list[LedgerEntry] = field(default_factory=list)
    heads: dict[HourKey, Head] = field(default_factory=dict)
    corrections: int = 0
    skipped: int = 0
    deferred: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def to_send(self) -> int:
        return sum(1 for entry in self.entries if not entry.skipped)

    def record(self, decision: HourDecision) -> None:
        if decision.deferred:
            self.deferred += 1
        if decision.entry is not None:
            self.entries.append(decision.entry)
            if decision.entry.skipped:
                self.skipped += 1
        if decision.correction:
            self.corrections += 1
        if decision.head is not None:
            self.heads[decision.key] = decision.head
