"""Request and response shapes of the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from jizuo.platform.identity.roles import Role


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class OrganizationRef(BaseModel):
    id: uuid.UUID
    code: str | None = None
    name: str


class Me(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    role_display: str
    organization: OrganizationRef | None
    permissions: list[str]


class RoleOut(BaseModel):
    code: str
    name: str
    name_en: str
    description: str


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    role_display: str
    organization: OrganizationRef | None
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]{2,63}$"


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–64 位小写字母、数字、_ . -，字母开头")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=128)
    role: Role
    organization_id: uuid.UUID | None = None

    @field_validator("username", mode="before")
    @classmethod
    def lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("password")
    @classmethod
    def strong_enough(cls, value: str) -> str:
        kinds = sum([any(c.islower() for c in value), any(c.isupper() for c in value),
                     any(c.isdigit() for c in value), any(not c.isalnum() for c in value)])
        if kinds < 3:
            raise ValueError("密码需至少包含大写字母、小写字母、数字、符号中的三类")
        return value


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    role: Role | None = None
    active: bool | None = None
