"""Request and response bodies for sign-up, login and the current user."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from portal_api.accounts.models import User


class SignupRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(default=None, max_length=200)


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str | None
    is_admin: bool
    created_at: datetime

    @classmethod
    def from_model(cls, user: User) -> UserOut:
        return cls.model_validate(user)


class AuthResponse(BaseModel):
    user: UserOut
    token: str = Field(description="The session token; also set as an HttpOnly cookie. Send as Bearer.")
    expires_at: datetime
