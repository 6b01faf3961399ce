"""HTTP route receiving Stripe webhooks: verify, store once, acknowledge, apply after the response.

The body is read and its signature checked (against the signing secrets of the billing provider settings,
the previous one too during a rotation) before the first database statement, so no transaction is open
while a slow sender trickles the body in.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel

from portal_api.deps import ServicesDep, Session
from portal_api.stripe_client import construct_event
from portal_api.webhooks import service

router = APIRouter(tags=["webhooks"])


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = False


@router.post("/webhooks/stripe")
async def receive_stripe_event(
    request: Request, background: BackgroundTasks, session: Session, services: ServicesDep
) -> WebhookAck:
    secrets = await services.stripe.webhook_secrets()
    if not secrets:
        raise service.WebhooksNotConfigured()
    event = construct_event(await request.body(), request.headers.get("stripe-signature"), secrets)
    if not await service.record_event(session, event):
        return WebhookAck(duplicate=True)
    # Runs after the response, hence after the session dependency committed the inbox row.
    background.add_task(services.webhook_inbox.apply_soon, event["id"])
    return WebhookAck()
