"""Resident queries, always narrowed to the caller's reach (district, institution, team or self)."""

from __future__ import annotations

import uuid

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.db import Q
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.residents.models import Resident


def within_reach(query: Q, scope: AccessScope) -> Q:
    """The one place where "who may see which resident" is decided for resident queries."""
    match scope.personal_data_reach:
        case Reach.DISTRICT:
            return query
        case Reach.ORGANIZATION:
            served = select(Organization.id).where(or_(Organization.id == scope.organization_id,
                                                       Organization.parent_id == scope.organization_id))
            return query.where(Resident.home_organization_id.in_(served))
        case Reach.TEAM:
            return query.where(Resident.signed_team_id.in_(list(scope.team_ids)))
        case Reach.SELF:
            return query.where(Resident.id == scope.resident_id)
        case _:
            return query.where(false())


def _search(query: Q, q: str | None, id_number_bidx: bytes | None) -> Q:
    if id_number_bidx is not None:
        return query.where(Resident.id_number_bidx == id_number_bidx)
    if q:
        return query.where(Resident.name.like(f"%{q.strip()}%"))
    return query


ResidentRow = tuple[Resident, Organization | None, CareTeam | None]


async def list_residents(session: AsyncSession, scope: AccessScope, *, q: str | None,
                         id_number_bidx: bytes | None, offset: int, limit: int) -> tuple[list[ResidentRow], int]:
    count_query = within_reach(_search(select(func.count()).select_from(Resident), q, id_number_bidx), scope)
    total = await session.scalar(count_query)
    rows = await session.execute(within_reach(_search(
        select(Resident, Organization, CareTeam)
        .outerjoin(Organization, Organization.id == Resident.home_organization_id)
        .outerjoin(CareTeam, CareTeam.id == Resident.signed_team_id), q, id_number_bidx), scope)
        .order_by(Resident.name, Resident.id).offset(offset).limit(limit))
    return [(r[0], r[1], r[2]) for r in rows], int(total or 0)


async def get_resident(session: AsyncSession, scope: AccessScope, resident_id: uuid.UUID) -> ResidentRow | None:
    row = (await session.execute(within_reach(
        select(Resident, Organization, CareTeam)
        .outerjoin(Organization, Organization.id == Resident.home_organization_id)
        .outerjoin(CareTeam, CareTeam.id == Resident.signed_team_id)
        .where(Resident.id == resident_id), scope))).first()
    return None if row is None else (row[0], row[1], row[2])


async def count_residents(session: AsyncSession) -> tuple[int, int]:
    row = (await session.execute(
        select(func.count(), func.count(Resident.signed_team_id)).select_from(Resident))).one()
    return int(row[0]), int(row[1])
