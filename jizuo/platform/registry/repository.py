"""Every registry query. Registry data (institutions, staff, teams) is not personal health data, so the
scope filter here is the permission check; personal fields of practitioners are never selected."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from jizuo.core.db import Q
from jizuo.platform.registry.models import (
    CareTeam,
    CareTeamMember,
    Department,
    Organization,
    Practitioner,
    RegistryChange,
)
from jizuo.platform.residents.models import Resident


async def organization_exists(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(func.count()).where(Organization.id == organization_id)))


async def get_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, organization_id)


async def get_organization_by_code(session: AsyncSession, code: str) -> Organization | None:
    return await session.scalar(select(Organization).where(Organization.code == code))


def _org_filters(query: Q, level: str | None, type_: str | None, q: str | None,
                 parent_id: uuid.UUID | None) -> Q:
    if level:
        query = query.where(Organization.level == level)
    if type_:
        query = query.where(Organization.type == type_)
    if parent_id:
        query = query.where(Organization.parent_id == parent_id)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Organization.name.ilike(pattern), Organization.code.ilike(pattern),
                                Organization.short_name.ilike(pattern)))
    return query


async def list_organizations(session: AsyncSession, *, level: str | None, type_: str | None, q: str | None,
                             parent_id: uuid.UUID | None, offset: int, limit: int
                             ) -> tuple[list[tuple[Organization, str | None]], int]:
    parent = aliased(Organization)
    total = await session.scalar(
        _org_filters(select(func.count()).select_from(Organization), level, type_, q, parent_id))
    rows = await session.execute(
        _org_filters(select(Organization, parent.name).outerjoin(parent, parent.id == Organization.parent_id),
                     level, type_, q, parent_id)
        .order_by(Organization.code).offset(offset).limit(limit))
    return [(r[0], r[1]) for r in rows], int(total or 0)


async def all_organizations(session: AsyncSession) -> list[Organization]:
    return list(await session.scalars(select(Organization).order_by(Organization.code)))


async def departments_of(session: AsyncSession, organization_id: uuid.UUID) -> list[Department]:
    return list(await session.scalars(
        select(Department).where(Department.organization_id == organization_id).order_by(Department.code)))


async def children_of(session: AsyncSession, organization_id: uuid.UUID) -> list[Organization]:
    return list(await session.scalars(
        select(Organization).where(Organization.parent_id == organization_id).order_by(Organization.code)))


async def count_practitioners(session: AsyncSession, organization_id: uuid.UUID | None = None) -> int:
    query = select(func.count()).select_from(Practitioner)
    if organization_id:
        query = query.where(Practitioner.organization_id == organization_id)
    return int(await session.scalar(query) or 0)


def _practitioner_filters(query: Q, organization_id: uuid.UUID | None, role: str | None,
                          q: str | None) -> Q:
    if organization_id:
        query = query.where(Practitioner.organization_id == organization_id)
    if role:
        query = query.where(Practitioner.role == role)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Practitioner.name.ilike(pattern), Practitioner.code.ilike(pattern)))
    return query


PractitionerRow = tuple[Practitioner, Organization, Department | None, CareTeam | None]


async def list_practitioners(session: AsyncSession, *, organization_id: uuid.UUID | None, role: str | None,
                             q: str | None, offset: int, limit: int) -> tuple[list[PractitionerRow], int]:
    total = await session.scalar(_practitioner_filters(
        select(func.count()).select_from(Practitioner), organization_id, role, q))
    first_team = (select(CareTeamMember.team_id).where(CareTeamMember.practitioner_id == Practitioner.id)
                  .limit(1).correlate(Practitioner).scalar_subquery())
    rows = await session.execute(_practitioner_filters(
        select(Practitioner, Organization, Department, CareTeam)
        .join(Organization, Organization.id == Practitioner.organization_id)
        .outerjoin(Department, Department.id == Practitioner.department_id)
        .outerjoin(CareTeam, CareTeam.id == first_team), organization_id, role, q)
        .order_by(Practitioner.code).offset(offset).limit(limit))
    return [(r[0], r[1], r[2], r[3]) for r in rows], int(total or 0)


TeamMemberRow = tuple[CareTeamMember, Practitioner, Organization]


async def list_teams(session: AsyncSession, *, organization_id: uuid.UUID | None, offset: int, limit: int
                     ) -> tuple[list[tuple[CareTeam, Organization, int]], int]:
    query = select(func.count()).select_from(CareTeam)
    if organization_id:
        query = query.where(CareTeam.organization_id == organization_id)
    total = await session.scalar(query)
    signed = (select(func.count()).where(Resident.signed_team_id == CareTeam.id)
              .correlate(CareTeam).scalar_subquery())
    rows_query = (select(CareTeam, Organization, signed)
                  .join(Organization, Organization.id == CareTeam.organization_id))
    if organization_id:
        rows_query = rows_query.where(CareTeam.organization_id == organization_id)
    rows = await session.execute(rows_query.order_by(CareTeam.code).offset(offset).limit(limit))
    return [(r[0], r[1], int(r[2])) for r in rows], int(total or 0)


async def members_of_teams(session: AsyncSession, team_ids: list[uuid.UUID]) -> list[TeamMemberRow]:
    if not team_ids:
        return []
    rows = await session.execute(
        select(CareTeamMember, Practitioner, Organization)
        .join(Practitioner, Practitioner.id == CareTeamMember.practitioner_id)
        .join(Organization, Organization.id == Practitioner.organization_id)
        .where(CareTeamMember.team_id.in_(team_ids)).order_by(CareTeamMember.team_id, Practitioner.code))
    return [(r[0], r[1], r[2]) for r in rows]


async def practitioner_names(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Practitioner.id, Practitioner.name).where(Practitioner.id.in_(ids)))
    return {r[0]: r[1] for r in rows}


async def counts_by_level(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(Organization.level, func.count()).group_by(Organization.level).order_by(Organization.level))
    return [(r[0], int(r[1])) for r in rows]


async def count_rows(session: AsyncSession, model: type[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- editing: rows to change (locked for the transaction), lookups for the rules, the change history ------

async def lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, organization_id, with_for_update=True)


async def get_organization_by_uscc(session: AsyncSession, uscc: str) -> Organization | None:
    return await session.scalar(select(Organization).where(Organization.uscc == uscc))


async def ancestor_ids(session: AsyncSession, organization_id: uuid.UUID) -> list[uuid.UUID]:
    """The organization and every organization above it, nearest first."""
    chain = select(Organization.id, Organization.parent_id, literal(0).label("depth")).where(
        Organization.id == organization_id).cte("chain", recursive=True)
    above = aliased(Organization)
    chain = chain.union_all(select(above.id, above.parent_id, (chain.c.depth + 1).label("depth"))
                            .join(chain, above.id == chain.c.parent_id).where(chain.c.depth < 64))
    return list(await session.scalars(select(chain.c.id).order_by(chain.c.depth)))


async def count_active_children(session: AsyncSession, organization_id: uuid.UUID, type_: str | None = None) -> int:
    query = select(func.count()).where(Organization.parent_id == organization_id, Organization.active.is_(True))
    if type_:
        query = query.where(Organization.type == type_)
    return int(await session.scalar(query) or 0)


async def get_department(session: AsyncSession, department_id: uuid.UUID, *, lock: bool = False
                         ) -> Department | None:
    return await session.get(Department, department_id, with_for_update=lock)


async def department_code_taken(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(func.count()).where(Department.code == code)))


async def get_practitioner(session: AsyncSession, practitioner_id: uuid.UUID, *, lock: bool = False
                           ) -> Practitioner | None:
    return await session.get(Practitioner, practitioner_id, with_for_update=lock)


async def practitioner_code_taken(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(func.count()).where(Practitioner.code == code)))


async def practitioner_with_id_number(session: AsyncSession, id_number_bidx: bytes) -> Practitioner | None:
    return await session.scalar(select(Practitioner).where(Practitioner.id_number_bidx == id_number_bidx).limit(1))


async def practitioner_row(session: AsyncSession, practitioner_id: uuid.UUID) -> PractitionerRow | None:
    first_team = (select(CareTeamMember.team_id).where(CareTeamMember.practitioner_id == Practitioner.id)
                  .limit(1).correlate(Practitioner).scalar_subquery())
    row = (await session.execute(
        select(Practitioner, Organization, Department, CareTeam)
        .join(Organization, Organization.id == Practitioner.organization_id)
        .outerjoin(Department, Department.id == Practitioner.department_id)
        .outerjoin(CareTeam, CareTeam.id == first_team).where(Practitioner.id == practitioner_id))).first()
    return (row[0], row[1], row[2], row[3]) if row else None


async def get_team(session: AsyncSession, team_id: uuid.UUID, *, lock: bool = False) -> CareTeam | None:
    return await session.get(CareTeam, team_id, with_for_update=lock)


async def team_code_taken(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(func.count()).where(CareTeam.code == code)))


async def team_members(session: AsyncSession, team_id: uuid.UUID) -> list[tuple[CareTeamMember, Practitioner]]:
    rows = await session.execute(
        select(CareTeamMember, Practitioner).join(Practitioner, Practitioner.id == CareTeamMember.practitioner_id)
        .where(CareTeamMember.team_id == team_id).order_by(Practitioner.code))
    return [(r[0], r[1]) for r in rows]


async def team_row(session: AsyncSession, team_id: uuid.UUID) -> tuple[CareTeam, Organization, int] | None:
    signed = (select(func.count()).where(Resident.signed_team_id == CareTeam.id)
              .correlate(CareTeam).scalar_subquery())
    row = (await session.execute(select(CareTeam, Organization, signed)
                                 .join(Organization, Organization.id == CareTeam.organization_id)
                                 .where(CareTeam.id == team_id))).first()
    return (row[0], row[1], int(row[2])) if row else None


async def teams_led_by(session: AsyncSession, practitioner_id: uuid.UUID) -> list[CareTeam]:
    return list(await session.scalars(select(CareTeam).where(CareTeam.leader_id == practitioner_id)))


async def all_departments(session: AsyncSession) -> list[Department]:
    return list(await session.scalars(select(Department).order_by(Department.code)))


async def all_practitioners(session: AsyncSession) -> list[Practitioner]:
    return list(await session.scalars(select(Practitioner).order_by(Practitioner.code)))


async def all_teams_with_members(session: AsyncSession
                                 ) -> list[tuple[CareTeam, list[tuple[CareTeamMember, Practitioner]]]]:
    teams = list(await session.scalars(select(CareTeam).order_by(CareTeam.code)))
    rows = await session.execute(select(CareTeamMember, Practitioner)
                                 .join(Practitioner, Practitioner.id == CareTeamMember.practitioner_id))
    members: dict[uuid.UUID, list[tuple[CareTeamMember, Practitioner]]] = {}
    for member, person in rows:
        members.setdefault(member.team_id, []).append((member, person))
    return [(team, members.get(team.id, [])) for team in teams]


def _change_filters(query: Q, entity_type: str | None, entity_id: uuid.UUID | None,
                    organization_id: uuid.UUID | None) -> Q:
    if entity_type:
        query = query.where(RegistryChange.entity_type == entity_type)
    if entity_id:
        query = query.where(RegistryChange.entity_id == entity_id)
    if organization_id:
        query = query.where(RegistryChange.organization_id == organization_id)
    return query


async def list_changes(session: AsyncSession, *, entity_type: str | None, entity_id: uuid.UUID | None,
                       organization_id: uuid.UUID | None, offset: int, limit: int
                       ) -> tuple[list[RegistryChange], int]:
    total = await session.scalar(_change_filters(select(func.count()).select_from(RegistryChange), entity_type,
                                                 entity_id, organization_id))
    rows = await session.scalars(_change_filters(select(RegistryChange), entity_type, entity_id, organization_id)
                                 .order_by(RegistryChange.at.desc(), RegistryChange.id.desc())
                                 .offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def practitioners_in_department(session: AsyncSession, department_id: uuid.UUID) -> list[Practitioner]:
    return list(await session.scalars(select(Practitioner).where(Practitioner.department_id == department_id)))


async def teams_of_practitioner(session: AsyncSession, practitioner_id: uuid.UUID) -> list[CareTeam]:
    return list(await session.scalars(select(CareTeam).join(CareTeamMember, CareTeamMember.team_id == CareTeam.id)
                                      .where(CareTeamMember.practitioner_id == practitioner_id)))


async def get_member(session: AsyncSession, team_id: uuid.UUID, practitioner_id: uuid.UUID
                     ) -> CareTeamMember | None:
    return await session.get(CareTeamMember, (team_id, practitioner_id))
