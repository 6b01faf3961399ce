"""UsageStore on SQLAlchemy for SQLite and PostgreSQL: deduped event inserts and hourly rollup upserts.

Rows are written in sorted key order (events by dedupe key, values and rollups by their key) so concurrent
ingest transactions on PostgreSQL always lock in the same order and cannot deadlock each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, delete, func, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.metering.models import UsageEvent, UsageRollup, UsageRollupValue
from portal_api.metering.rollups import RollupBatch
from portal_api.metering.store.base import HourlyRollup

events_table = cast(Table, UsageEvent.__table__)
rollups_table = cast(Table, UsageRollup.__table__)
values_table = cast(Table, UsageRollupValue.__table__)

LOOKUP_CHUNK = 5_000
EVENT_COLUMNS = (
    ("dedupe_key", "varchar"),
    ("source", "varchar"),
    ("occurred_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("user_id", "varchar"),
    ("attributed_by", "varchar"),
    ("api_key_id", "varchar"),
    ("external_user_id", "varchar"),
    ("company_id", "varchar"),
    ("session_key", "varchar"),
    ("method", "varchar"),
    ("route", "text"),
    ("status", "int"),
    ("weight", "int"),
    ("payload", "text"),
)
# Built from the constant column list above only (no input), hence the noqa.
UNNEST_INSERT = text(
    f"INSERT INTO usage_events ({', '.join(name for name, _ in EVENT_COLUMNS)}) "  # noqa: S608
    f"SELECT * FROM unnest({', '.join(f'CAST(:{name} AS {kind}[])' for name, kind in EVENT_COLUMNS)}) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
)

UNNEST_ROLLUPS = text(
    "INSERT INTO usage_rollups (meter_id, user_id, hour, events, value_milli) "
    "SELECT * FROM unnest(CAST(:meter_id AS varchar[]), CAST(:user_id AS varchar[]), "
    "CAST(:hour AS timestamptz[]), CAST(:events AS bigint[]), CAST(:value_milli AS bigint[])) "
    "ON CONFLICT (meter_id, user_id, hour) DO UPDATE SET events = usage_rollups.events + excluded.events, "
    "value_milli = usage_rollups.value_milli + excluded.value_milli"
)

SQLITE_INSERT = (
    f"INSERT INTO usage_events ({', '.join(name for name, _ in EVENT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)

SQLITE_UPSERT_ROLLUPS = (
    "INSERT INTO usage_rollups (meter_id, user_id, hour, events, value_milli) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (meter_id, user_id, hour) DO UPDATE SET events = events + excluded.events, "
    "value_milli = value_milli + excluded.value_milli"
)


# EVENT_COLUMNS after dedupe_key, source, occurred_at, received_at (which SQLITE_INSERT takes first).
SQLITE_PLAIN_COLUMNS = tuple(name for name, _ in EVENT_COLUMNS[4:])


def _sqlite_time(value: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DateTime stores it: naive UTC text with microseconds."""
    moment = value.astimezone(UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SqlUsageStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        self.dialect = dialect
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    # -- writes ---------------------------------------------------------------------------------------

    async def insert_events(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        if not rows:
            return set()
        ordered = sorted(rows, key=lambda r: r["dedupe_key"])
        if self.dialect == "postgresql":
            return await self._insert_events_unnest(ordered)
        return await self._insert_events_sqlite(ordered)

    async def _insert_events_sqlite(self, rows: list[dict[str, Any]]) -> set[str]:
        """SQLite: skip the keys already stored, then one plain executemany.

        Race-free because an SQLite write transaction (BEGIN IMMEDIATE, see db.py) holds the database's
        write lock from its first statement: no other writer can insert between the SELECT and the INSERT.
        The unique index still guards the invariant (a violation fails the batch instead of double counting).
        """
        c = events_table.c
        keys = [row["dedupe_key"] for row in rows]
        existing: set[str] = set()
        for start in range(0, len(keys), LOOKUP_CHUNK):
            found = await self.session.execute(
                select(c.dedupe_key).where(c.dedupe_key.in_(keys[start : start + LOOKUP_CHUNK]))
            )
            existing.update(found.scalars().all())
        fresh = [row for row in rows if row["dedupe_key"] not in existing]
        if fresh:
            # Straight to the driver's executemany: values already in SQLite's storage form (naive UTC text,
            # as SQLAlchemy's DateTime writes it), skipping per-row bind processing.
            connection = await self.session.connection()
            await connection.exec_driver_sql(
                SQLITE_INSERT,
                [
                    (
                        row["dedupe_key"],
                        row["source"],
                        _sqlite_time(row["occurred_at"]),
                        _sqlite_time(row["received_at"]),
                        *(row[name] for name in SQLITE_PLAIN_COLUMNS),
                    )
                    for row in fresh
                ],
            )
        return {row["dedupe_key"] for row in fresh}

    async def _insert_events_unnest(self, rows: list[dict[str, Any]]) -> set[str]:
        """PostgreSQL: one INSERT ... SELECT FROM unnest(column arrays): no per-row statement overhead."""
        params = {name: [row[name] for row in rows] for name, _ in EVENT_COLUMNS}
        result = await self.session.execute(UNNEST_INSERT, params)
        return set(result.scalars().all())

    async def add_rollups(self, batch: RollupBatch) -> None:
        counts = {key: list(slot) for key, slot in batch.counts.items()}
        if batch.unique_values:
            for key, new_values in (await self._insert_unique_values(batch.unique_values)).items():
                counts.setdefault(key, [0, 0])[1] += new_values * 1000
        if not counts:
            return
        ordered = sorted(counts.items())
        if self.dialect == "postgresql":
            await self.session.execute(
                UNNEST_ROLLUPS,
                {
                    "meter_id": [key[0] for key, _ in ordered],
                    "user_id": [key[1] for key, _ in ordered],
                    "hour": [key[2] for key, _ in ordered],
                    "events": [slot[0] for _, slot in ordered],
                    "value_milli": [slot[1] for _, slot in ordered],
                },
            )
            return
        connection = await self.session.connection()
        await connection.exec_driver_sql(
            SQLITE_UPSERT_ROLLUPS,
            [(m, u, _sqlite_time(h), slot[0], slot[1]) for (m, u, h), slot in ordered],
        )

    async def _insert_unique_values(
        self, values: set[tuple[str, str, datetime, str]]
    ) -> dict[tuple[str, str, datetime], int]:
        """Insert distinct values; count the new ones per rollup key."""
        new_per_key: dict[tuple[str, str, datetime], int] = defaultdict(int)
        rows = [{"meter_id": m, "user_id": u, "hour": h, "value": v} for m, u, h, v in sorted(values)]
        stmt = (
            self._insert(values_table)
            .on_conflict_do_nothing(index_elements=["meter_id", "user_id", "hour", "value"])
            .returning(values_table.c.meter_id, values_table.c.user_id, values_table.c.hour)
        )
        for meter_id, user_id, hour in (await self.session.execute(stmt, rows)).all():
            new_per_key[(meter_id, user_id, _aware(hour))] += 1
        return new_per_key

    async def delete_rollups(self, meter_id: str, since: datetime) -> None:
        await self.session.execute(
            delete(rollups_table).where(rollups_table.c.meter_id == meter_id, rollups_table.c.hour >= since)
        )
        await self.session.execute(
            delete(values_table).where(values_table.c.meter_id == meter_id, values_table.c.hour >= since)
        )

    # -- reads ----------------------------------------------------------------------------------------

    async def hourly(self, meter_id: str, user_id: str, start: datetime, end: datetime) -> list[HourlyRollup]:
        c = rollups_table.c
        result = await self.session.execute(
            select(c.hour, c.events, c.value_milli)
            .where(c.meter_id == meter_id, c.user_id == user_id, c.hour >= start, c.hour < end)
            .order_by(c.hour)
        )
        return [HourlyRollup(_aware(h), int(e), int(v)) for h, e, v in result.all()]

    async def last_before(self, meter_id: str, user_id: str, before: datetime) -> HourlyRollup | None:
        c = rollups_table.c
        row = (
            await self.session.execute(
                select(c.hour, c.events, c.value_milli)
                .where(c.meter_id == meter_id, c.user_id == user_id, c.hour < before)
                .order_by(c.hour.desc())
                .limit(1)
            )
        ).first()
        return HourlyRollup(_aware(row[0]), int(row[1]), int(row[2])) if row else None

    def _values_in(self, meter_id: str, user_id: str, start: datetime, end: datetime) -> Any:
        c = values_table.c
        return (c.meter_id == meter_id, c.user_id == user_id, c.hour >= start, c.hour < end)

    async def distinct_count(self, meter_id: str, user_id: str, start: datetime, end: datetime) -> int:
        c = values_table.c
        found = await self.session.scalar(
            select(func.count(func.distinct(c.value))).where(*self._values_in(meter_id, user_id, start, end))
        )
        return int(found or 0)

    async def first_seen_per_hour(
        self, meter_id: str, user_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        c = values_table.c
        firsts = (
            select(func.min(c.hour).label("first_hour"))
            .where(*self._values_in(meter_id, user_id, start, end))
            .group_by(c.value)
            .subquery()
        )
        query: Select[Any] = (
            select(firsts.c.first_hour, func.count())
            .group_by(firsts.c.first_hour)
            .order_by(firsts.c.first_hour)
        )
        return [(_aware(h), int(n)) for h, n in (await self.session.execute(query)).all()]

    async def distinct_per_day(
        self, meter_id: str, user_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        c = values_table.c
        if self.dialect == "postgresql":
            day = func.date_trunc("day", literal_column("hour AT TIME ZONE 'UTC'"))
        else:
            day = func.substr(c.hour, 1, 10)
        query = (
            select(day.label("day"), func.count(func.distinct(c.value)))
            .where(*self._values_in(meter_id, user_id, start, end))
            .group_by(literal_column("day"))
            .order_by(literal_column("day"))
        )
        out = []
        for raw_day, count in (await self.session.execute(query)).all():
            moment = datetime.fromisoformat(raw_day) if isinstance(raw_day, str) else raw_day
            out.append((_aware(moment), int(count)))
        return out

    async def scan_events(self, since: datetime, batch_size: int) -> AsyncIterator[Sequence[Any]]:
        c = events_table.c
        first = await self.session.scalar(select(func.min(c.id)).where(c.occurred_at >= since))
        if first is None:
            return
        last_id = int(first) - 1
        columns = (
            c.id,
            c.user_id,
            c.occurred_at,
            c.route,
            c.method,
            c.status,
            c.external_user_id,
            c.company_id,
            c.session_key,
            c.api_key_id,
            c.weight,
            c.payload,
        )
        while True:
            rows = (
                await self.session.execute(
                    select(*columns)
                    .where(c.id > last_id, c.occurred_at >= since, c.user_id.is_not(None))
                    .order_by(c.id)
                    .limit(batch_size)
                )
            ).all()
            if not rows:
                return
            yield rows
            last_id = rows[-1].id
