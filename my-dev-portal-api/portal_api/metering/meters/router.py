"""HTTP routes for billing meters: /v1/admin/meters (admin user or admin token)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from portal_api.deps import AdminCallerDep, Session, SettingsDep
from portal_api.metering.meters import service
from portal_api.metering.meters.schemas import MeterCreate, MeterList, MeterOut, MeterUpdate
from portal_api.metering.settings import metering_settings

router = APIRouter(prefix="/admin/meters", tags=["meters"])


@router.get("")
async def list_meters(_: AdminCallerDep, session: Session) -> MeterList:
    return MeterList(data=[MeterOut.from_model(m) for m in await service.list_meters(session)])


@router.post("", status_code=201)
async def create_meter(
    body: MeterCreate, request: Request, _: AdminCallerDep, session: Session, settings: SettingsDep
) -> MeterOut:
    meter = await service.create_meter(
        session,
        settings,
        metering_settings(request.app.state),
        getattr(request.app.state, "stripe", None),
        body,
    )
    return MeterOut.from_model(meter)


@router.get("/{meter_id}")
async def get_meter(meter_id: str, _: AdminCallerDep, session: Session) -> MeterOut:
    return MeterOut.from_model(await service.get_meter(session, meter_id))


@router.patch("/{meter_id}")
async def update_meter(
    meter_id: str,
    body: MeterUpdate,
    request: Request,
    _: AdminCallerDep,
    session: Session,
    settings: SettingsDep,
) -> MeterOut:
    meter = await service.update_meter(
        session,
        settings,
        metering_settings(request.app.state),
        getattr(request.app.state, "stripe", None),
        meter_id,
        body,
    )
    return MeterOut.from_model(meter)


@router.delete("/{meter_id}", status_code=204)
async def delete_meter(meter_id: str, _: AdminCallerDep, session: Session) -> Response:
    await service.delete_meter(session, meter_id)
    return Response(status_code=204)
