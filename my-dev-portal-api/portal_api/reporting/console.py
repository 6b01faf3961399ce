"""Admin console data: customers with their usage this period and latest reports, and the report runs."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.accounts.system_users import SYSTEM_USER_IDS, is_system_user
from portal_api.billing import service as billing
from portal_api.billing.models import Subscription
from portal_api.errors import NotFound
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter
from portal_api.reporting import estimate
from portal_api.reporting.models import ReportRun, ReportStatus, UsageReport
from portal_api.reporting.schemas import (
    CustomerDetail,
    CustomerList,
    CustomerOut,
    CustomerSubscriptionOut,
    MeterUsageOut,
    ReportOut,
    ReportRunList,
    ReportRunOut,
)


def subscription_out(row: Subscription) -> CustomerSubscriptionOut:
    return CustomerSubscriptionOut(
        id=row.stripe_subscription_id,
        status=row.status,
        price_id=row.price_id,
        plan_nickname=row.plan_nickname,
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
    )


async def _usage(session: AsyncSession, user_id: str, subscription: Subscription) -> list[MeterUsageOut]:
    start, end = subscription.current_period_start, subscription.current_period_end
    if start is None or end is None:
        return []
    out: list[MeterUsageOut] = []
    for item in subscription.items:
        meters = await session.scalars(
            select(Meter).where(Meter.stripe_price_id == item.price_id).order_by(Meter.id)
        )
        for meter in meters:
            charge_by = ChargeBy(meter.charge_by)
            unreported = await session.scalar(
                select(func.count())
                .select_from(UsageReport)
                .where(
                    UsageReport.subscription_item_id == item.stripe_item_id,
                    UsageReport.meter_id == meter.id,
                    UsageReport.status.in_([*ReportStatus.UNFINISHED, ReportStatus.EXPIRED]),
                )
            )
            out.append(
                MeterUsageOut(
                    meter_id=meter.id,
                    name=meter.name,
                    charge_by=meter.charge_by,
                    subscription_item_id=item.stripe_item_id,
                    usage_quantity=await estimate.period_usage(session, meter, user_id, start, end),
                    reported_quantity=await estimate.reported_quantity(
                        session, item.stripe_item_id, meter.id, charge_by, start, end
                    ),
                    unreported_reports=int(unreported or 0),
                )
            )
    return out


async def _reports(session: AsyncSession, user_id: str, limit: int) -> list[ReportOut]:
    rows = await session.scalars(
        select(UsageReport).where(UsageReport.user_id == user_id).order_by(UsageReport.id.desc()).limit(limit)
    )
    return [ReportOut.from_model(r) for r in rows]


async def _customer(
    session: AsyncSession, user: User, subscription: Subscription, reports: int
) -> CustomerOut:
    customer = await billing.get_customer(session, user.id)
    return CustomerOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        stripe_customer_id=customer.stripe_customer_id if customer else subscription.stripe_customer_id,
        subscription=subscription_out(subscription),
        usage=await _usage(session, user.id, subscription),
        last_reports=await _reports(session, user.id, reports),
    )


async def list_customers(session: AsyncSession, *, limit: int, offset: int) -> CustomerList:
    """Customers are people with a subscription: system users (the Meter Test's customer) are left out."""
    has_subscription = select(Subscription.user_id).distinct()
    people = User.id.not_in(sorted(SYSTEM_USER_IDS))
    total = await session.scalar(
        select(func.count()).select_from(User).where(User.id.in_(has_subscription), people)
    )
    users = list(
        await session.scalars(
            select(User)
            .where(User.id.in_(has_subscription), people)
            .order_by(User.created_at, User.id)
            .limit(limit)
            .offset(offset)
        )
    )
    data = []
    for user in users:
        subscription = await billing.current_subscription(session, user.id)
        if subscription is not None:
            data.append(await _customer(session, user, subscription, reports=5))
    return CustomerList(data=data, total=int(total or 0), limit=limit, offset=offset)


async def customer_detail(session: AsyncSession, user_id: str) -> CustomerDetail:
    user = None if is_system_user(user_id) else await session.get(User, user_id)
    subscription = await billing.current_subscription(session, user_id) if user is not None else None
    if user is None or subscription is None:
        raise NotFound(f"There is no customer {user_id}", code="customer_not_found")
    base = await _customer(session, user, subscription, reports=50)
    subscriptions = await session.scalars(
        select(Subscription).where(Subscription.user_id == user_id).order_by(Subscription.created_at.desc())
    )
    return CustomerDetail(**base.model_dump(), subscriptions=[subscription_out(s) for s in subscriptions])


async def list_runs(session: AsyncSession, *, limit: int, status: str | None) -> ReportRunList:
    query = select(ReportRun).order_by(ReportRun.started_at.desc(), ReportRun.id.desc()).limit(limit)
    if status:
        query = query.where(ReportRun.status == status)
    runs = [ReportRunOut.from_model(r) for r in await session.scalars(query)]
    latest = await session.scalar(
        select(ReportRun.lag_seconds)
        .where(ReportRun.finished_at.is_not(None), ReportRun.kind != "meter_test")
        .order_by(ReportRun.finished_at.desc())
        .limit(1)
    )
    return ReportRunList(data=runs, lag_seconds=latest)
