"""HTTP routes for billing meters: /v1/admin/meters (admin user or an admin token with the admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from portal_api.admin.deps import AdminCallerDep
from portal_api.deps import ReadSession, ServicesDep, Session
from portal_api.metering.meters import service
from portal_api.metering.meters.coverage import meter_coverage
from portal_api.metering.meters.schemas import MeterCoverage, MeterCreate, MeterList, MeterOut, MeterUpdate

router = APIRouter(prefix="/admin/meters", tags=["meters"])


@router.get("")
async def list_meters(_: AdminCallerDep, session: ReadSession) -> MeterList:
    return MeterList(data=[MeterOut.from_model(m) for m in await service.list_meters(session)])


@router.get("/coverage")
async def get_meter_coverage(_: AdminCallerDep, services: ServicesDep) -> MeterCoverage:
    """Metered prices of the live Stripe catalog that no active meter bills (their usage is never billed),
    and prices more than one active meter bills (billed twice)."""
    return await meter_coverage(services.database, services.plan_catalog)


@router.post(
    "",
    status_code=201,
    responses={409: {"description": "Another active meter already bills this price (price_already_metered)"}},
)
async def create_meter(body: MeterCreate, _: AdminCallerDep, services: ServicesDep) -> MeterOut:
    """Create a meter; a price is billed by one active meter at most (409 `price_already_metered`)."""
    gateway = await services.stripe.gateway()
    meter = await service.create_meter(services.database, services.settings, gateway, body)
    return MeterOut.from_model(meter)


@router.get("/{meter_id}")
async def get_meter(meter_id: str, _: AdminCallerDep, session: ReadSession) -> MeterOut:
    return MeterOut.from_model(await service.get_meter(session, meter_id))


@router.patch(
    "/{meter_id}",
    responses={409: {"description": "Another active meter already bills this price (price_already_metered)"}},
)
async def update_meter(
    meter_id: str, body: MeterUpdate, _: AdminCallerDep, services: ServicesDep
) -> MeterOut:
    gateway = await services.stripe.gateway()
    meter = await service.update_meter(services.database, services.settings, gateway, meter_id, body)
    return MeterOut.from_model(meter)


@router.delete("/{meter_id}", status_code=204)
async def delete_meter(meter_id: str, _: AdminCallerDep, session: Session) -> Response:
    await service.delete_meter(session, meter_id)
    return Response(status_code=204)
