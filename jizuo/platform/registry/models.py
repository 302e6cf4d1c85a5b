"""Registry tables: organizations (with level and type), departments, practitioners, family-doctor teams, and
the history of every change made to them (`registry_change`).

Editable rows carry a `version` that each change increments: a client sends the version it read, and an edit
based on an older one is refused (optimistic concurrency, docs/registry.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base, created_at_column, uuid_pk


def _updated_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(16), index=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class Department(Base):
    __tablename__ = "department"

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = _updated_at()


class Practitioner(Base):
    __tablename__ = "practitioner"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    title: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at()


class CareTeam(Base):
    """A family-doctor team (家庭医生团队): leader at a community centre plus "1+1+1" members."""

    __tablename__ = "care_team"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id"), index=True)
    leader_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioner.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at()


class CareTeamMember(Base):
    __tablename__ = "care_team_member"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_team.id", ondelete="CASCADE"), primary_key=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioner.id"), primary_key=True)
    team_role: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_care_team_member_practitioner", "practitioner_id"),)


class RegistryChange(Base):
    """One change to a registry row, written in the transaction of the change itself.

    `before` holds the old values of the changed fields only (None on create); `after` the whole row as it
    stands after the change, so one entry can be read without its predecessors. 身份证 and phone appear
    masked. `organization_id` is the institution the row belongs to, so an institution's page can list the
    changes to itself, its departments, staff and teams."""

    __tablename__ = "registry_change"

    id: Mapped[uuid.UUID] = uuid_pk()
    entity_type: Mapped[str] = mapped_column(String(16))  # organization | department | practitioner | team
    entity_id: Mapped[uuid.UUID] = mapped_column()
    organization_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(16))
    changed: Mapped[list[str]] = mapped_column(JSONB, default=list)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_username: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_registry_change_entity", "entity_type", "entity_id", "at"),
                      Index("ix_registry_change_at", "at"))
