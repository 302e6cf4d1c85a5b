"""Every query about users and sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.db import Q
from jizuo.platform.identity.models import AuthSession, User
from jizuo.platform.registry.models import Organization


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username.strip().lower()))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_for_update(session: AsyncSession, username: str) -> User | None:
    """Lock the row: concurrent wrong passwords must all count towards the lockout."""
    return await session.scalar(
        select(User).where(User.username == username.strip().lower()).with_for_update())


async def get_session_with_user(session: AsyncSession, session_id: uuid.UUID
                                ) -> tuple[AuthSession, User, Organization | None] | None:
    row = (await session.execute(
        select(AuthSession, User, Organization)
        .join(User, User.id == AuthSession.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(AuthSession.id == session_id))).first()
    return None if row is None else (row[0], row[1], row[2])


@dataclass(frozen=True)
class SessionCaller:
    """What a request needs to know about the caller of a session, read in one round trip."""

    revoked: bool
    user_id: uuid.UUID
    username: str
    role: str
    active: bool
    organization_id: uuid.UUID | None
    organization_code: str | None
    practitioner_id: uuid.UUID | None
    resident_id: uuid.UUID | None
    team_ids: list[uuid.UUID]


_SESSION_CALLER = text("""
    SELECT s.revoked_at IS NOT NULL AS revoked, u.id AS user_id, u.username, u.role, u.active, u.organization_id,
           o.code AS organization_code, u.practitioner_id, u.resident_id,
           ARRAY(SELECT m.team_id FROM care_team_member m WHERE m.practitioner_id = u.practitioner_id) AS team_ids
    FROM auth_session s JOIN app_user u ON u.id = s.user_id LEFT JOIN organization o ON o.id = u.organization_id
    WHERE s.id = :session_id""")


async def get_session_caller(session: AsyncSession, session_id: uuid.UUID) -> SessionCaller | None:
    """Every request runs this (Core, not ORM: it was a fifth of a FHIR read's CPU as two ORM queries)."""
    row = (await session.execute(_SESSION_CALLER, {"session_id": session_id})).mappings().first()
    return None if row is None else SessionCaller(**row)


async def get_session_by_refresh_digest(session: AsyncSession, digest: str) -> AuthSession | None:
    return await session.scalar(
        select(AuthSession).where(AuthSession.refresh_digest == digest).with_for_update())


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=at))


def _user_filters(query: Q, role: str | None, q: str | None, active: bool | None,
                  organization_id: uuid.UUID | None) -> Q:
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active == active)
    if organization_id:
        query = query.where(User.organization_id == organization_id)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(User.username.ilike(pattern), User.display_name.ilike(pattern)))
    return query


async def list_users(session: AsyncSession, *, role: str | None, q: str | None, active: bool | None,
                     organization_id: uuid.UUID | None, offset: int, limit: int
                     ) -> tuple[list[tuple[User, Organization | None]], int]:
    total = await session.scalar(
        _user_filters(select(func.count()).select_from(User), role, q, active, organization_id))
    rows = await session.execute(
        _user_filters(select(User, Organization).outerjoin(Organization, Organization.id == User.organization_id),
                      role, q, active, organization_id)
        .order_by(User.created_at, User.username).offset(offset).limit(limit))
    return [(r[0], r[1]) for r in rows], int(total or 0)


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)
