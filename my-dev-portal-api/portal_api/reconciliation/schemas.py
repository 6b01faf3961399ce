"""Response bodies of the reconciliation admin routes."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from portal_api.reconciliation.models import ReconciliationRun


class ReconciliationError(BaseModel):
    object: str
    code: str
    message: str


class ReconciliationRunOut(BaseModel):
    id: str
    started_at: datetime
    finished_at: datetime | None
    checked: int
    repaired: int
    errors: list[ReconciliationError]

    @classmethod
    def from_model(cls, run: ReconciliationRun) -> ReconciliationRunOut:
        return cls(
            id=run.id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            checked=run.checked,
            repaired=run.repaired,
            errors=[ReconciliationError(**error) for error in json.loads(run.errors or "[]")],
        )


class ReconciliationRunList(BaseModel):
    data: list[ReconciliationRunOut]
