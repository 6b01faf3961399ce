"""The `StripeDep` dependency: the app's StripeGateway (app.state.stripe)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from portal_api.stripe_client import StripeGateway


def get_stripe(request: Request) -> StripeGateway:
    gateway: StripeGateway = request.app.state.stripe
    return gateway


StripeDep = Annotated[StripeGateway, Depends(get_stripe)]
