"""HTTP routes for the billing provider settings screen: GET/PUT /v1/admin/billing-provider."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.billing_provider import service
from portal_api.billing_provider.schemas import BillingProviderOut, BillingProviderUpdate
from portal_api.deps import AdminCallerDep, Session, SettingsDep

router = APIRouter(prefix="/admin/billing-provider", tags=["billing provider"])


@router.get("")
async def get_billing_provider(
    _: AdminCallerDep, session: Session, settings: SettingsDep
) -> BillingProviderOut:
    return await service.describe(session, settings)


@router.put("")
async def put_billing_provider(
    body: BillingProviderUpdate, caller: AdminCallerDep, session: Session, settings: SettingsDep
) -> BillingProviderOut:
    who = caller.user.email if caller.user else f"token:{caller.token.id}" if caller.token else "unknown"
    return await service.update(session, settings, body, updated_by=who)
