"""Every query of family-doctor contracts and their indicators. Personal rows go through `team_condition`
(the caller's teams); the indicators return counts only and are set-wise SQL (no per-resident loops)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, String, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from jizuo.apps.chronic.models import FamilyContract
from jizuo.apps.chronic.repository import team_condition
from jizuo.fhir.models import FhirResource, idx_date, idx_reference
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.registry.models import CareTeam, CareTeamMember, Organization, Practitioner
from jizuo.platform.residents.models import Resident

HOSPITAL_TYPES = ("general_hospital", "tcm_hospital", "mch_hospital")


def _has(disease: str) -> ColumnElement[bool]:
    return Resident.chronic.op("@>")(array([disease], type_=String(32)))


async def team(db: AsyncSession, scope: AccessScope, team_id: uuid.UUID) -> CareTeam | None:
    return await db.scalar(select(CareTeam).where(CareTeam.id == team_id, CareTeam.active.is_(True),
                                                  team_condition(scope, CareTeam.id)))


async def resident_by(db: AsyncSession, resident_id: uuid.UUID | None, bidx: bytes | None) -> Resident | None:
    if resident_id is not None:
        return await db.scalar(select(Resident).where(Resident.id == resident_id).with_for_update())
    return await db.scalar(select(Resident).where(Resident.id_number_bidx == bidx).with_for_update())


async def organization(db: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await db.get(Organization, organization_id)


async def served_by(db: AsyncSession, centre_id: uuid.UUID) -> set[uuid.UUID]:
    """The centre and its stations: the area a centre's teams sign residents in."""
    rows = (await db.scalars(select(Organization.id).where(
        or_(Organization.id == centre_id, Organization.parent_id == centre_id)))).all()
    return set(rows)


async def team_specialist_organizations(db: AsyncSession, team_id: uuid.UUID) -> list[Organization]:
    """Hospitals of the team's members (the "1+1" hospital specialists of a 1+1+1 team)."""
    return list((await db.scalars(
        select(Organization).join(Practitioner, Practitioner.organization_id == Organization.id)
        .join(CareTeamMember, CareTeamMember.practitioner_id == Practitioner.id)
        .where(CareTeamMember.team_id == team_id, Organization.type.in_(HOSPITAL_TYPES),
               Organization.active.is_(True)).order_by(Organization.code))).all())


async def first_hospital(db: AsyncSession, level_prefix: str) -> Organization | None:
    return await db.scalar(select(Organization).where(
        Organization.type.in_(("general_hospital", "tcm_hospital")), Organization.level.startswith(level_prefix),
        Organization.active.is_(True)).order_by(Organization.type, Organization.code).limit(1))


async def active_contract_of(db: AsyncSession, resident_id: uuid.UUID) -> FamilyContract | None:
    return await db.scalar(select(FamilyContract).where(FamilyContract.resident_id == resident_id,
                                                        FamilyContract.status == "active").with_for_update())


async def contract(db: AsyncSession, scope: AccessScope, contract_id: uuid.UUID) -> FamilyContract | None:
    return await db.scalar(select(FamilyContract).where(FamilyContract.id == contract_id,
                                                        team_condition(scope, FamilyContract.team_id))
                           .with_for_update())


async def renewal_of(db: AsyncSession, contract_id: uuid.UUID) -> FamilyContract | None:
    return await db.scalar(select(FamilyContract).where(FamilyContract.renewed_from_id == contract_id,
                                                        FamilyContract.status != "terminated"))


async def list_contracts(db: AsyncSession, scope: AccessScope, *, status: str | None, team_id: uuid.UUID | None,
                         resident_id: uuid.UUID | None, q: str | None, today: date, offset: int, limit: int
                         ) -> tuple[list[tuple[FamilyContract, str, str]], int]:
    where = [team_condition(scope, FamilyContract.team_id)]
    if status == "active":
        where += [FamilyContract.status == "active", FamilyContract.ends_on >= today]
    elif status == "expired":
        where.append(or_(FamilyContract.status == "expired",
                         and_(FamilyContract.status == "active", FamilyContract.ends_on < today)))
    elif status:
        where.append(FamilyContract.status == status)
    if team_id:
        where.append(FamilyContract.team_id == team_id)
    if resident_id:
        where.append(FamilyContract.resident_id == resident_id)
    if q:
        where.append(Resident.name.contains(q.strip()))
    base = (select(FamilyContract, Resident.name, CareTeam.name)
            .join(Resident, Resident.id == FamilyContract.resident_id)
            .join(CareTeam, CareTeam.id == FamilyContract.team_id).where(*where))
    total = await db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = (await db.execute(base.order_by(FamilyContract.created_at.desc(), FamilyContract.id)
                             .offset(offset).limit(limit))).all()
    return [(c, r, t) for c, r, t in rows], total


async def organization_names(db: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {i: n for i, n in (await db.execute(select(Organization.id, Organization.name)
                                              .where(Organization.id.in_(list(ids))))).all()}


async def expire_contracts(db: AsyncSession, today: date) -> int:
    """Active contracts whose period is over become expired, and their residents unsigned (unless another
    contract is active — there cannot be, by the unique index, but the check keeps the rule in one place)."""
    expired = (await db.execute(update(FamilyContract)
                                .where(FamilyContract.status == "active", FamilyContract.ends_on < today)
                                .values(status="expired").returning(FamilyContract.resident_id))).scalars().all()
    if expired:
        await db.execute(update(Resident).where(
            Resident.id.in_(list(expired)),
            ~exists().where(FamilyContract.resident_id == Resident.id, FamilyContract.status == "active"))
            .values(signed_team_id=None))
    return len(expired)


# --- indicators (counts only) ---------------------------------------------------------------------------------

def _group_columns(level: str) -> tuple[Any, Any]:
    """(group key, group name) of a signed resident at the level: their team, the team's centre, or the district."""
    if level == "team":
        return CareTeam.id, CareTeam.name
    if level == "centre":
        return Organization.id, Organization.name
    return literal("district"), literal("全区")


async def signing_counts(db: AsyncSession, level: str, on: date, elderly_born_before: date
                         ) -> list[dict[str, Any]]:
    """Per group: residents with a contract in force on `on` — all, aged ≥ 65, with hypertension, diabetes."""
    key, name = _group_columns(level)
    in_force = and_(or_(FamilyContract.status.in_(("active", "expired")),
                        and_(FamilyContract.status == "terminated", FamilyContract.terminated_on > on)),
                    FamilyContract.starts_on <= on, FamilyContract.ends_on >= on)
    rows = (await db.execute(
        select(key.label("key"), name.label("name"), func.count(func.distinct(Resident.id)).label("signed"),
               func.count(func.distinct(case((Resident.birth_date <= elderly_born_before, Resident.id)))),
               func.count(func.distinct(case((_has("hypertension"), Resident.id)))),
               func.count(func.distinct(case((_has("diabetes_t2"), Resident.id)))))
        .select_from(FamilyContract).join(Resident, Resident.id == FamilyContract.resident_id)
        .join(CareTeam, CareTeam.id == FamilyContract.team_id)
        .join(Organization, Organization.id == CareTeam.organization_id)
        .where(in_force).group_by(key, name))).all()
    return [{"key": str(r[0]), "name": r[1], "signed": r[2], "signed_elderly": r[3], "signed_hypertension": r[4],
             "signed_diabetes": r[5]} for r in rows]


async def population_counts(db: AsyncSession, level: str, elderly_born_before: date) -> dict[str, dict[str, int]]:
    """Resident population per centre (home institution: the centre or one of its stations) or the district —
    the denominator of the signing rate. Teams share their centre's population."""
    station = aliased(Organization)
    centre = func.coalesce(case((station.type == "community_station", station.parent_id)), station.id)
    group = centre if level in ("team", "centre") else literal("district")
    rows = (await db.execute(
        select(group, func.count(),
               func.count(case((Resident.birth_date <= elderly_born_before, 1))),
               func.count(case((_has("hypertension"), 1))),
               func.count(case((_has("diabetes_t2"), 1))))
        .select_from(Resident).outerjoin(station, station.id == Resident.home_organization_id)
        .group_by(group))).all()
    return {str(r[0]): {"population": r[1], "elderly": r[2], "hypertension": r[3], "diabetes": r[4]}
            for r in rows}


async def team_centres(db: AsyncSession) -> dict[str, str]:
    return {str(t): str(o) for t, o in (await db.execute(select(CareTeam.id, CareTeam.organization_id))).all()}


async def renewal_counts(db: AsyncSession, level: str, start: date, end: date) -> list[dict[str, Any]]:
    """Per group: contracts whose period ended in [start, end) without being terminated, and how many of them
    were renewed (a later contract points at them)."""
    key, name = _group_columns(level)
    renewed = aliased(FamilyContract)
    rows = (await db.execute(
        select(key, name, func.count(), func.count(renewed.id))
        .select_from(FamilyContract)
        .join(CareTeam, CareTeam.id == FamilyContract.team_id)
        .join(Organization, Organization.id == CareTeam.organization_id)
        .outerjoin(renewed, and_(renewed.renewed_from_id == FamilyContract.id, renewed.status != "terminated"))
        .where(FamilyContract.status.in_(("active", "expired")), FamilyContract.ends_on >= start,
               FamilyContract.ends_on < end)
        .group_by(key, name))).all()
    return [{"key": str(r[0]), "name": r[1], "due_for_renewal": r[2], "renewed": r[3]} for r in rows]


async def combination_visits(db: AsyncSession, level: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """组合内就诊率 from the FHIR store: each Encounter of a resident that starts in [start, end) while a
    contract of theirs is in force, and whether its serviceProvider is inside that contract's combination
    (the centre or one of its stations, the district hospital, the city hospital). One SQL statement over the
    store's reference and date indexes."""
    key, name = _group_columns(level)
    subject, provider, when = aliased(idx_reference), aliased(idx_reference), aliased(idx_date)
    provider_org = aliased(Organization)
    visit_day = cast(func.timezone("Asia/Shanghai", when.c.low), Date)
    inside = or_(provider.c.target_id == cast(FamilyContract.centre_id, provider.c.target_id.type),
                 provider.c.target_id == cast(FamilyContract.district_hospital_id, provider.c.target_id.type),
                 provider.c.target_id == cast(FamilyContract.city_hospital_id, provider.c.target_id.type),
                 provider_org.parent_id == FamilyContract.centre_id)
    rows = (await db.execute(
        select(key, name, func.count(func.distinct(subject.c.rid)),
               func.count(func.distinct(case((inside, subject.c.rid)))))
        .select_from(FamilyContract)
        .join(CareTeam, CareTeam.id == FamilyContract.team_id)
        .join(Organization, Organization.id == CareTeam.organization_id)
        .join(subject, and_(subject.c.target_id == cast(FamilyContract.resident_id, subject.c.target_id.type),
                            subject.c.target_type == "Patient", subject.c.res_type == "Encounter",
                            subject.c.param == "subject"))
        .join(FhirResource, and_(FhirResource.rid == subject.c.rid, FhirResource.deleted.is_(False)))
        .join(when, and_(when.c.rid == subject.c.rid, when.c.param == "date"))
        .outerjoin(provider, and_(provider.c.rid == subject.c.rid, provider.c.param == "service-provider"))
        .outerjoin(provider_org, cast(provider_org.id, provider.c.target_id.type) == provider.c.target_id)
        .where(FamilyContract.status.in_(("active", "expired")), when.c.low >= start, when.c.low < end,
               FamilyContract.starts_on <= visit_day, FamilyContract.ends_on >= visit_day)
        .group_by(key, name))).all()
    return [{"key": str(r[0]), "name": r[1], "encounters": r[2], "inside": r[3]} for r in rows]


async def teams_in_reach(db: AsyncSession, scope: AccessScope) -> list[tuple[CareTeam, str]]:
    rows = (await db.execute(select(CareTeam, Organization.name)
                             .join(Organization, Organization.id == CareTeam.organization_id)
                             .where(CareTeam.active.is_(True), team_condition(scope, CareTeam.id))
                             .order_by(Organization.code, CareTeam.code))).all()
    return [(t, n) for t, n in rows]


async def latest_contract_of(db: AsyncSession, resident_id: uuid.UUID) -> tuple[FamilyContract, str] | None:
    """The resident's active contract, else their most recent one (what the resident sees of their signing)."""
    row = (await db.execute(
        select(FamilyContract, CareTeam.name).join(CareTeam, CareTeam.id == FamilyContract.team_id)
        .where(FamilyContract.resident_id == resident_id, FamilyContract.status != "draft")
        .order_by((FamilyContract.status == "active").desc(), FamilyContract.starts_on.desc(),
                  FamilyContract.created_at.desc()).limit(1))).first()
    return None if row is None else (row[0], row[1])
