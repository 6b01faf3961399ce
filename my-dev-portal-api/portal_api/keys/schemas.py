"""Request and response bodies for API keys and key verification (never a stored hash)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_api.keys.models import ApiKey
from portal_api.keys.service import KeyStatus, key_status
from portal_api.keys.verify import Verification

# Real keys are ~52 characters; anything this long is not a key, and a body this big is refused with 422.
MAX_KEY_LENGTH = 512


class KeyCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(
        default=None, description="Optional; timezone-aware ISO 8601, in the future."
    )


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    status: KeyStatus
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_model(cls, key: ApiKey, *, now: datetime) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            status=key_status(key, now),
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class KeyCreated(KeyOut):
    secret: str = Field(description="The full key. Shown in this response only; store it now.")

    @classmethod
    def with_secret(cls, key: ApiKey, secret: str, *, now: datetime) -> KeyCreated:
        return cls(**KeyOut.from_model(key, now=now).model_dump(), secret=secret)


class KeyList(BaseModel):
    data: list[KeyOut]


class VerifyRequest(BaseModel):
    key: str = Field(max_length=MAX_KEY_LENGTH, description="The API key a client presented.")


class PlanOut(BaseModel):
    price_id: str | None
    nickname: str | None
    product_name: str | None


class VerifyResponse(BaseModel):
    valid: bool
    key_id: str | None
    customer_id: str | None = Field(description="The owner's Stripe customer id, if any.")
    subscription_status: str | None
    plan: PlanOut | None
    reason: str | None = Field(
        description="Null when valid; else unknown_key, revoked, expired, no_subscription, "
        "subscription_inactive or past_due_grace_expired."
    )

    @classmethod
    def from_result(cls, result: Verification) -> VerifyResponse:
        plan = result.plan
        return cls.model_construct(
            valid=result.valid,
            key_id=result.key_id,
            customer_id=result.customer_id,
            subscription_status=result.subscription_status,
            plan=PlanOut.model_construct(
                price_id=plan.price_id, nickname=plan.nickname, product_name=plan.product_name
            )
            if plan
            else None,
            reason=result.reason,
        )
