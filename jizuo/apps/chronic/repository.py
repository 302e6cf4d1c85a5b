"""Every query of chronic care. Personal rows are filtered by the caller's team reach (`team_condition`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, false, func, or_, select, true, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic.models import (
    ChronicAlert,
    ChronicFollowup,
    ChronicPatient,
    CopdAssessment,
    DeviceReading,
    StationDevice,
)
from jizuo.core.errors import PermissionDenied
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.models import User
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry.models import CareTeam, CareTeamMember, Organization, Practitioner
from jizuo.platform.residents.models import Resident


def with_managed_disease() -> ColumnElement[bool]:
    """Residents whose record lists hypertension, type 2 diabetes or COPD (`&&`: the arrays overlap)."""
    return Resident.chronic.op("&&")(array(["hypertension", "diabetes_t2", "copd"], type_=String(32)))


def team_condition(scope: AccessScope, team_column: Any) -> ColumnElement[bool]:
    """Whose chronic-care rows the caller sees: the district admin all; a family doctor their teams' residents;
    staff of a centre the residents of the centre's teams. Roles without chronic care: refused."""
    scope.require(Permission.CHRONIC_CARE)
    reach = scope.personal_data_reach
    if reach == Reach.DISTRICT:
        return true()
    if reach == Reach.TEAM:
        return team_column.in_(list(scope.team_ids)) if scope.team_ids else false()
    if reach == Reach.ORGANIZATION and scope.organization_id is not None:
        return team_column.in_(select(CareTeam.id).where(CareTeam.organization_id == scope.organization_id))
    raise PermissionDenied("当前角色无权查看慢病管理的个人信息", code="chronic_forbidden")


async def device_by_key_digest(db: AsyncSession, digest: str) -> StationDevice | None:
    return await db.scalar(select(StationDevice).where(StationDevice.key_digest == digest))


async def organization(db: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    return await db.get(Organization, organization_id)


async def residents_by_bidx(db: AsyncSession, indexes: Iterable[bytes]) -> dict[bytes, Resident]:
    wanted = list(set(indexes))
    if not wanted:
        return {}
    rows = (await db.scalars(select(Resident).where(Resident.id_number_bidx.in_(wanted)))).all()
    return {r.id_number_bidx: r for r in rows}


async def existing_readings(db: AsyncSession, device_id: uuid.UUID, times: Iterable[datetime]
                            ) -> list[DeviceReading]:
    wanted = list(set(times))
    if not wanted:
        return []
    return list((await db.scalars(select(DeviceReading).where(
        DeviceReading.device_id == device_id, DeviceReading.measured_at.in_(wanted)))).all())


async def team_recipients(db: AsyncSession, team_ids: Iterable[uuid.UUID]
                          ) -> dict[uuid.UUID, tuple[list[uuid.UUID], list[uuid.UUID]]]:
    """Per team: (user accounts of its members, members without an account)."""
    wanted = list(set(team_ids))
    if not wanted:
        return {}
    rows = (await db.execute(
        select(CareTeamMember.team_id, CareTeamMember.practitioner_id, User.id)
        .outerjoin(User, and_(User.practitioner_id == CareTeamMember.practitioner_id, User.active.is_(True)))
        .where(CareTeamMember.team_id.in_(wanted)))).all()
    out: dict[uuid.UUID, tuple[list[uuid.UUID], list[uuid.UUID]]] = {t: ([], []) for t in wanted}
    for team_id, practitioner_id, user_id in rows:
        users, practitioners = out[team_id]
        if user_id is not None:
            users.append(user_id)
        else:
            practitioners.append(practitioner_id)
    return out


async def list_alerts(db: AsyncSession, scope: AccessScope, status: str | None, resident_id: uuid.UUID | None,
                      offset: int, limit: int) -> tuple[list[tuple[ChronicAlert, str]], int]:
    where = [team_condition(scope, ChronicAlert.team_id)]
    if status:
        where.append(ChronicAlert.status == status)
    if resident_id:
        where.append(ChronicAlert.resident_id == resident_id)
    total = await db.scalar(select(func.count()).select_from(ChronicAlert).where(*where)) or 0
    rows = (await db.execute(select(ChronicAlert, Resident.name).join(Resident, Resident.id == ChronicAlert.resident_id)
                             .where(*where).order_by(ChronicAlert.created_at.desc(), ChronicAlert.id)
                             .offset(offset).limit(limit))).all()
    return [(a, n) for a, n in rows], total


async def alert(db: AsyncSession, scope: AccessScope, alert_id: uuid.UUID) -> ChronicAlert | None:
    return await db.scalar(select(ChronicAlert).where(ChronicAlert.id == alert_id,
                                                      team_condition(scope, ChronicAlert.team_id))
                           .with_for_update())


async def resident_in_reach(db: AsyncSession, scope: AccessScope, resident_id: uuid.UUID) -> Resident | None:
    return await db.scalar(select(Resident).where(Resident.id == resident_id,
                                                  team_condition(scope, Resident.signed_team_id)))


async def readings_of(db: AsyncSession, resident_id: uuid.UUID, since: datetime | None, kinds: list[str]
                      ) -> list[DeviceReading]:
    query = select(DeviceReading).where(DeviceReading.resident_id == resident_id)
    if since is not None:
        query = query.where(DeviceReading.measured_at >= since)
    if kinds:
        query = query.where(DeviceReading.kind.in_(kinds))
    return list((await db.scalars(query.order_by(DeviceReading.measured_at))).all())


async def registered(db: AsyncSession, pairs: Iterable[tuple[uuid.UUID, str]]) -> set[tuple[uuid.UUID, str]]:
    wanted = list(set(pairs))
    if not wanted:
        return set()
    rows = (await db.execute(select(ChronicPatient.resident_id, ChronicPatient.disease).where(
        tuple_(ChronicPatient.resident_id, ChronicPatient.disease).in_(wanted)))).all()
    return {(r, d) for r, d in rows}


async def patient(db: AsyncSession, scope: AccessScope, patient_id: uuid.UUID) -> ChronicPatient | None:
    return await db.scalar(select(ChronicPatient).where(ChronicPatient.id == patient_id,
                                                        team_condition(scope, ChronicPatient.team_id)))


async def list_patients(db: AsyncSession, scope: AccessScope, disease: str | None, resident_id: uuid.UUID | None,
                        q: str | None, offset: int, limit: int) -> tuple[list[tuple[ChronicPatient, str]], int]:
    where = [team_condition(scope, ChronicPatient.team_id), ChronicPatient.active.is_(True)]
    if disease:
        where.append(ChronicPatient.disease == disease)
    if resident_id:
        where.append(ChronicPatient.resident_id == resident_id)
    if q:
        where.append(Resident.name.contains(q))
    base = select(ChronicPatient, Resident.name).join(Resident, Resident.id == ChronicPatient.resident_id).where(*where)
    total = await db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = (await db.execute(base.order_by(Resident.name, ChronicPatient.disease).offset(offset).limit(limit))).all()
    return [(p, n) for p, n in rows], total


async def next_planned(db: AsyncSession, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    if not patient_ids:
        return {}
    rows = (await db.execute(select(ChronicFollowup.patient_id, func.min(ChronicFollowup.due_on))
                             .where(ChronicFollowup.patient_id.in_(patient_ids), ChronicFollowup.status == "planned")
                             .group_by(ChronicFollowup.patient_id))).all()
    return {p: d for p, d in rows}


async def open_alert_counts(db: AsyncSession, resident_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not resident_ids:
        return {}
    rows = (await db.execute(select(ChronicAlert.resident_id, func.count()).where(
        ChronicAlert.resident_id.in_(resident_ids), ChronicAlert.status == "open")
        .group_by(ChronicAlert.resident_id))).all()
    return {r: n for r, n in rows}


async def followups_of(db: AsyncSession, patient_id: uuid.UUID) -> list[ChronicFollowup]:
    return list((await db.scalars(select(ChronicFollowup).where(ChronicFollowup.patient_id == patient_id)
                                  .order_by(ChronicFollowup.due_on))).all())


async def earliest_planned(db: AsyncSession, patient_id: uuid.UUID) -> ChronicFollowup | None:
    return await db.scalar(select(ChronicFollowup).where(ChronicFollowup.patient_id == patient_id,
                                                         ChronicFollowup.status == "planned")
                           .order_by(ChronicFollowup.due_on).limit(1).with_for_update())


async def due_followups(db: AsyncSession, scope: AccessScope, until: date, limit: int
                        ) -> list[tuple[ChronicFollowup, ChronicPatient, str]]:
    rows = (await db.execute(
        select(ChronicFollowup, ChronicPatient, Resident.name)
        .join(ChronicPatient, ChronicPatient.id == ChronicFollowup.patient_id)
        .join(Resident, Resident.id == ChronicPatient.resident_id)
        .where(ChronicFollowup.status == "planned", ChronicFollowup.due_on <= until, ChronicPatient.active.is_(True),
               team_condition(scope, ChronicPatient.team_id))
        .order_by(ChronicFollowup.due_on, Resident.name).limit(limit))).all()
    return [(f, p, n) for f, p, n in rows]


async def cohort(db: AsyncSession, scope: AccessScope, start: date, end: date, team_ids: list[uuid.UUID] | None
                 ) -> tuple[list[Any], list[Any], list[Any]]:
    """Raw material of the indicators: known patients (resident record), registrations, follow-ups in the year.
    Statistics are open to every role with STATS_READ (no personal data leaves this function)."""
    team_filter = (lambda col: col.in_(team_ids)) if team_ids is not None else (lambda col: true())
    known = (await db.execute(
        select(Resident.signed_team_id, Resident.chronic).where(
            with_managed_disease(),
            team_filter(Resident.signed_team_id)))).all()
    patients = (await db.execute(
        select(ChronicPatient.id, ChronicPatient.team_id, ChronicPatient.disease).where(
            ChronicPatient.active.is_(True), ChronicPatient.registered_on < end,
            team_filter(ChronicPatient.team_id)))).all()
    followups = (await db.execute(
        select(ChronicFollowup.patient_id, ChronicFollowup.status, ChronicFollowup.due_on, ChronicFollowup.done_on,
               ChronicFollowup.classification, ChronicFollowup.systolic, ChronicFollowup.diastolic,
               ChronicFollowup.fasting_glucose)
        .join(ChronicPatient, ChronicPatient.id == ChronicFollowup.patient_id)
        .where(ChronicPatient.active.is_(True), team_filter(ChronicPatient.team_id),
               or_(and_(ChronicFollowup.done_on >= start, ChronicFollowup.done_on < end),
                   and_(ChronicFollowup.due_on >= start, ChronicFollowup.due_on < end))))).all()
    return list(known), list(patients), list(followups)


async def teams(db: AsyncSession, team_ids: Iterable[uuid.UUID] | None = None) -> list[CareTeam]:
    query = select(CareTeam)
    if team_ids is not None:
        query = query.where(CareTeam.id.in_(list(team_ids)))
    return list((await db.scalars(query)).all())


async def organization_names(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {i: n for i, n in (await db.execute(select(Organization.id, Organization.name)
                                              .where(Organization.id.in_(wanted)))).all()}


async def team_of(db: AsyncSession, team_id: uuid.UUID) -> tuple[CareTeam | None, list[tuple[str, str]]]:
    """A team and its members as (name, team role) — what a resident sees of their family-doctor team."""
    team = await db.get(CareTeam, team_id)
    members = (await db.execute(select(Practitioner.name, CareTeamMember.team_role)
                                .join(CareTeamMember, CareTeamMember.practitioner_id == Practitioner.id)
                                .where(CareTeamMember.team_id == team_id).order_by(Practitioner.name))).all()
    return team, [(n, r) for n, r in members]


async def own_records(db: AsyncSession, resident_id: uuid.UUID
                      ) -> tuple[list[ChronicPatient], list[ChronicAlert]]:
    patients = (await db.scalars(select(ChronicPatient).where(ChronicPatient.resident_id == resident_id,
                                                              ChronicPatient.active.is_(True)))).all()
    alerts = (await db.scalars(select(ChronicAlert).where(ChronicAlert.resident_id == resident_id)
                               .order_by(ChronicAlert.created_at.desc()).limit(20))).all()
    return list(patients), list(alerts)


async def copd_assessments_of(db: AsyncSession, patient_id: uuid.UUID) -> list[CopdAssessment]:
    return list((await db.scalars(select(CopdAssessment).where(CopdAssessment.patient_id == patient_id)
                                  .order_by(CopdAssessment.assessed_on.desc()))).all())


async def medication_requests_of(db: AsyncSession, resident_id: uuid.UUID) -> list[dict[str, Any]]:
    """The resident's MedicationRequests in the FHIR store (current versions, not deleted), newest first."""
    from jizuo.fhir.models import FhirResource, idx_reference

    rows = (await db.scalars(
        select(FhirResource.resource)
        .join(idx_reference, idx_reference.c.rid == FhirResource.rid)
        .where(idx_reference.c.res_type == "MedicationRequest", idx_reference.c.param == "subject",
               idx_reference.c.target_type == "Patient", idx_reference.c.target_id == str(resident_id),
               FhirResource.deleted.is_(False))
        .order_by(FhirResource.last_updated.desc()).limit(200))).all()
    return [r for r in rows if r]


async def refills(db: AsyncSession, scope: AccessScope | None, *, resident_id: uuid.UUID | None,
                  status: str | None, limit: int = 200) -> list[tuple[Any, str]]:
    from jizuo.apps.chronic.models import MedicationRefill

    where = [] if scope is None else [team_condition(scope, MedicationRefill.team_id)]
    if resident_id is not None:
        where.append(MedicationRefill.resident_id == resident_id)
    if status:
        where.append(MedicationRefill.status == status)
    rows = (await db.execute(select(MedicationRefill, Resident.name)
                             .join(Resident, Resident.id == MedicationRefill.resident_id).where(*where)
                             .order_by(MedicationRefill.created_at.desc()).limit(limit))).all()
    return [(m, n) for m, n in rows]


async def refill(db: AsyncSession, scope: AccessScope | None, refill_id: uuid.UUID,
                 resident_id: uuid.UUID | None = None) -> Any:
    from jizuo.apps.chronic.models import MedicationRefill

    query = select(MedicationRefill).where(MedicationRefill.id == refill_id)
    if scope is not None:
        query = query.where(team_condition(scope, MedicationRefill.team_id))
    if resident_id is not None:
        query = query.where(MedicationRefill.resident_id == resident_id)
    return await db.scalar(query.with_for_update())


# --- station devices (who may manage them: the district admin; an institution admin their own stations) --------

def station_condition(scope: AccessScope) -> ColumnElement[bool]:
    if scope.can(Permission.ORG_WRITE):
        return true()
    if scope.can(Permission.REGISTRY_WRITE_OWN) and scope.organization_id is not None:
        return or_(Organization.id == scope.organization_id, Organization.parent_id == scope.organization_id)
    raise PermissionDenied("只有区级管理员或机构管理员可以管理健康驿站设备", code="device_admin_forbidden")


async def devices_in_reach(db: AsyncSession, scope: AccessScope, station_id: uuid.UUID | None
                           ) -> list[tuple[StationDevice, Organization]]:
    query = (select(StationDevice, Organization).join(Organization, Organization.id == StationDevice.station_id)
             .where(station_condition(scope)))
    if station_id is not None:
        query = query.where(StationDevice.station_id == station_id)
    return [(d, o) for d, o in (await db.execute(query.order_by(Organization.code, StationDevice.code))).all()]


async def stations_in_reach(db: AsyncSession, scope: AccessScope) -> list[Organization]:
    return list((await db.scalars(select(Organization).where(
        Organization.type == "community_station", Organization.active.is_(True), station_condition(scope))
        .order_by(Organization.code))).all())


async def station_in_reach(db: AsyncSession, scope: AccessScope, station_id: uuid.UUID) -> Organization | None:
    return await db.scalar(select(Organization).where(Organization.id == station_id, station_condition(scope)))


async def device_code_taken(db: AsyncSession, code: str) -> bool:
    return await db.scalar(select(StationDevice.id).where(StationDevice.code == code)) is not None


async def device_in_reach(db: AsyncSession, scope: AccessScope, device_id: uuid.UUID
                          ) -> tuple[StationDevice, Organization] | None:
    row = (await db.execute(select(StationDevice, Organization)
                            .join(Organization, Organization.id == StationDevice.station_id)
                            .where(StationDevice.id == device_id, station_condition(scope))
                            .with_for_update(of=StationDevice))).first()
    return None if row is None else (row[0], row[1])
