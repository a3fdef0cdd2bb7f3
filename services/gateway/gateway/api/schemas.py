from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from servicekit.auth import Role
from servicekit.pagination import Page

from ..domain.notifications import Notification

Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    role: Role
    active: bool
    created_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: Name
    role: Role = Role.AGENT
    password: Password


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    role: Role | None = None
    password: Password | None = None
    active: bool | None = None


class SettingOut(BaseModel):
    key: str
    description: str
    secret: bool
    is_set: bool
    value: Any = Field(description="secrets are masked, never returned in clear")
    choices: list[str] | None = None
    updated_at: datetime | None = None


class SettingsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any] = Field(description="key -> new value; null clears a setting")


class AuditOut(BaseModel):
    id: UUID
    service: str
    actor_id: UUID | None
    actor_role: str | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class NotificationPage(Page[Notification]):
    unread: int = Field(description="the caller's unread notifications, whatever the page shows")


class ReadAllOut(BaseModel):
    marked_read: int = Field(description="how many were unread until now")
