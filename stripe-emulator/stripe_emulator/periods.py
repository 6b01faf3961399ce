"""Billing periods: interval x interval_count steps from a billing anchor, months clamped like Stripe."""

import calendar
from datetime import UTC, datetime

_SECONDS = {"day": 86_400, "week": 7 * 86_400}


def period_boundary(anchor: int, interval: str, interval_count: int, index: int) -> int:
    """The start of period ``index`` (0 = the anchor itself) counted from ``anchor``."""
    steps = interval_count * index
    if interval in _SECONDS:
        return anchor + _SECONDS[interval] * steps
    months = steps * 12 if interval == "year" else steps
    start = datetime.fromtimestamp(anchor, tz=UTC)
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())
