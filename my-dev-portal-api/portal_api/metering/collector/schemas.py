"""The Moesif collector models (events, users, companies) as pydantic models, lenient like Moesif.

Times without an offset (`2024-05-01T04:45:42.914`, what Moesif's Python SDKs send) are UTC. Ids sent as
numbers are turned into strings. Fields we do not use (bodies, transfer_encoding, blocked_by...) are accepted
and ignored, never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def _as_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = Annotated[str, BeforeValidator(_as_text), Field(min_length=1, max_length=255)]
UtcTime = Annotated[datetime, AfterValidator(_utc)]


class MoesifRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: UtcTime
    uri: str = Field(min_length=1, max_length=8192)
    verb: str = Field(min_length=1, max_length=16)
    api_version: str | None = Field(default=None, max_length=255)
    ip_address: str | None = Field(default=None, max_length=255)
    headers: dict[str, Any] | None = None


class MoesifResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: UtcTime | None = None
    status: int = Field(ge=0, le=999)
    headers: dict[str, Any] | None = None


class MoesifEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request: MoesifRequest
    response: MoesifResponse | None = None
    user_id: Id | None = None
    company_id: Id | None = None
    session_token: Annotated[str, BeforeValidator(_as_text)] | None = None
    metadata: dict[str, Any] | None = None
    direction: str | None = Field(default=None, max_length=32)
    weight: int | None = Field(default=None, ge=0, le=1_000_000)
    transaction_id: Id | None = None
    tags: str | None = None


class MoesifUser(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: Id
    company_id: Id | None = None
    modified_time: UtcTime | None = None
    ip_address: str | None = None
    session_token: str | None = None
    user_agent_string: str | None = None
    metadata: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None


class MoesifCompany(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Id
    company_domain: str | None = None
    modified_time: UtcTime | None = None
    ip_address: str | None = None
    session_token: str | None = None
    metadata: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
