"""Deleting a meter from the admin meters page: ask first, then delete it and whatever shows it."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.api_client import ApiError
from my_dev_portal.state.admin_meter_form import MeterFormState
from my_dev_portal.state.admin_meter_test import MeterTestState
from my_dev_portal.state.admin_meters import AdminMetersState


class MeterDeleteState(AdminMetersState):
    """The meter waiting in the confirmation dialog; delete_id "" when no dialog is open."""

    delete_id: str = ""
    delete_name: str = ""

    @rx.var
    def confirming_delete(self) -> bool:
        return self.delete_id != ""

    @rx.event
    def ask_delete(self, meter_id: str, name: str) -> None:
        self.delete_id, self.delete_name = meter_id, name

    @rx.event
    def set_delete_dialog_open(self, is_open: bool) -> None:
        if not is_open:
            self.delete_id = self.delete_name = ""

    @rx.event
    async def delete_confirmed(self):
        meter_id, self.delete_id, self.delete_name = self.delete_id, "", ""
        api = await self._admin_api()
        if not meter_id or api is None:
            return None
        self.error = ""
        try:
            await api.delete_meter(meter_id)
        except ApiError as exc:
            return await self._failed(exc, "The meter could not be deleted")
        form = await self.get_state(MeterFormState)
        if form.editing_id == meter_id:
            form.form_open, form.editing_id = False, ""
        test = await self.get_state(MeterTestState)
        test._forget(meter_id)
        await self._reload()
        return None
