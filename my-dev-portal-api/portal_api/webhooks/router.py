"""HTTP route receiving Stripe webhooks: verify, store once, acknowledge, apply after the response."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel

from portal_api.billing.deps import StripeDep
from portal_api.deps import Session, SettingsDep
from portal_api.webhooks import service
from portal_api.webhooks.service import WebhookInbox

router = APIRouter(tags=["webhooks"])


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = False


@router.post("/webhooks/stripe")
async def receive_stripe_event(
    request: Request, background: BackgroundTasks, session: Session, settings: SettingsDep, stripe: StripeDep
) -> WebhookAck:
    if not settings.stripe_webhook_secret.get_secret_value():
        raise service.WebhooksNotConfigured()
    event = stripe.construct_event(await request.body(), request.headers.get("stripe-signature"))
    if not await service.record_event(session, event):
        return WebhookAck(duplicate=True)
    # Runs after the response, hence after the session dependency committed the inbox row.
    inbox: WebhookInbox = request.app.state.webhook_inbox
    background.add_task(inbox.apply_soon, event["id"])
    return WebhookAck()
