"""Editing practitioners and family-doctor teams: rules, history row and FHIR write-through in one transaction.

身份证 and phone are stored as the demo seed stores them: SM4-encrypted, with an HMAC blind index of the
身份证 for finding duplicates; they leave the registry only masked (history, API) or inside the FHIR store,
which encrypts them again. A practitioner is never deleted, only deactivated.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.callers import callers_changed
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound
from jizuo.core.idcard import birth_date_of, sex_of
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.registry import mirror, repository
from jizuo.platform.registry.editing import taken
from jizuo.platform.registry.history import changed_fields, practitioner_snapshot, record_change, team_snapshot
from jizuo.platform.registry.models import CareTeam, CareTeamMember, Department, Organization, Practitioner
from jizuo.platform.registry.rules import (
    check_version,
    expected_version,
    invalid,
    refuse_clearing,
    refuse_code_change,
    require_institution_editor,
)
from jizuo.platform.registry.schemas import (
    PractitionerCreate,
    PractitionerUpdate,
    TeamCreate,
    TeamMemberAdd,
    TeamUpdate,
)


def _active_action(changed: list[str], active: bool) -> str:
    if changed == ["active"]:
        return "reactivate" if active else "deactivate"
    return "update"


# --- practitioners --------------------------------------------------------------------------------------

async def _organization_of_staff(db: AsyncSession, organization_id: uuid.UUID) -> Organization:
    org = await repository.get_organization(db, organization_id)
    if org is None:
        raise invalid("organization_id", "所属机构不存在", "organization_not_found")
    if not org.active:
        raise invalid("organization_id", f"机构“{org.name}”已停用", "organization_inactive")
    return org


async def _department_in(db: AsyncSession, department_id: uuid.UUID | None, org: Organization) -> Department | None:
    if department_id is None:
        return None
    department = await repository.get_department(db, department_id)
    if department is None or department.organization_id != org.id:
        raise invalid("department_id", f"科室不属于“{org.name}”", "department_outside_organization")
    return department


async def _identity_fields(db: AsyncSession, cipher: FieldCipher, values: dict[str, Any],
                           person: Practitioner | None) -> dict[str, Any]:
    """Columns to set for what `values` changes of 身份证/phone/birth date (only what really changes), after
    checking the 身份证 is not someone else's and agrees with birth date and sex."""
    columns: dict[str, Any] = {}
    if "id_number" in values:
        number = values["id_number"]
        bidx = cipher.blind_index(number) if number else None
        if person is None or bidx != person.id_number_bidx:
            holder = await repository.practitioner_with_id_number(db, bidx) if bidx else None
            if holder is not None:
                raise Conflict(f"该身份证号码已登记（工号 {holder.code}）", code="id_number_taken",
                               errors=[FieldError("id_number", f"已登记为工号 {holder.code}")])
            columns.update(id_number_enc=cipher.encrypt(number) if number else None, id_number_bidx=bidx)
    else:
        number = cipher.decrypt(person.id_number_enc) if person is not None and person.id_number_enc else None
    # Checked when one of the three is being set (rows on file are not re-judged by an unrelated edit).
    if number and {"id_number", "birth_date", "gender"} & values.keys():
        birth = birth_date_of(number)
        if values.get("birth_date") is None:
            columns["birth_date"] = birth  # not given (or cleared): the 身份证 says it
        elif values["birth_date"] != birth:
            raise invalid("birth_date", "出生日期与身份证号码不一致", "birth_date_mismatch")
        gender = values.get("gender") or (person.gender if person is not None else None)
        if gender in ("male", "female") and gender != sex_of(number):
            raise invalid("gender", "性别与身份证号码不一致", "gender_mismatch")
    if "phone" in values:
        current = cipher.decrypt(person.phone_enc) if person is not None and person.phone_enc else None
        if values["phone"] != current:
            columns["phone_enc"] = cipher.encrypt(values["phone"]) if values["phone"] else None
    return columns


async def _staff_snapshot(db: AsyncSession, cipher: FieldCipher, person: Practitioner) -> dict[str, Any]:
    org = await repository.get_organization(db, person.organization_id)
    assert org is not None
    department = await repository.get_department(db, person.department_id) if person.department_id else None
    return practitioner_snapshot(person, cipher, org, department)


async def create_practitioner(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                              data: PractitionerCreate) -> Practitioner:
    org = await _organization_of_staff(db, data.organization_id)
    require_institution_editor(scope, org.id)
    await _department_in(db, data.department_id, org)
    if await repository.practitioner_code_taken(db, data.code):
        raise taken("code", f"人员工号 {data.code} 已被使用", "code_taken")
    identity = await _identity_fields(db, cipher, data.model_dump(), None)
    now = utcnow()
    columns: dict[str, Any] = {
        "id": uuid.uuid4(), "code": data.code, "name": data.name, "gender": data.gender,
        "birth_date": data.birth_date, "id_number_enc": None, "id_number_bidx": None, "phone_enc": None,
        "organization_id": org.id, "department_id": data.department_id, "title": data.title, "role": data.role,
        "active": True, "version": 1, "created_at": now, "updated_at": now}
    person = Practitioner(**{**columns, **identity})
    db.add(person)
    await db.flush()
    record_change(db, trail, scope, entity_type="practitioner", entity_id=person.id, organization_id=org.id,
                  action="create", before=None, after=await _staff_snapshot(db, cipher, person))
    await mirror.mirror_practitioner(db, person, cipher, trail)
    return person


async def update_practitioner(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                              practitioner_id: uuid.UUID, data: PractitionerUpdate, if_match: str | None
                              ) -> Practitioner:
    person = await repository.get_practitioner(db, practitioner_id, lock=True)
    if person is None:
        raise NotFound("医务人员不存在", code="practitioner_not_found")
    require_institution_editor(scope, person.organization_id)
    refuse_code_change(person.code, data.code, "人员")
    check_version(person.version, expected_version(if_match, data.version), "该人员")
    changes = data.model_dump(exclude_unset=True, exclude={"version", "code"})
    refuse_clearing(changes, ("name", "gender", "organization_id", "role", "active"))
    org_id = changes.get("organization_id", person.organization_id)
    moved = org_id != person.organization_id
    org = await _organization_of_staff(db, org_id) if moved else await repository.get_organization(db, org_id)
    assert org is not None
    if moved:
        require_institution_editor(scope, org.id)  # an institution admin cannot move staff elsewhere
        if "department_id" not in changes:
            changes["department_id"] = None  # the old department belongs to the old institution
    await _department_in(db, changes.get("department_id", person.department_id), org)
    identity = await _identity_fields(db, cipher, changes, person)
    before = await _staff_snapshot(db, cipher, person)
    plain = {k: v for k, v in changes.items() if k not in ("id_number", "phone")}
    for name, value in {**plain, **identity}.items():
        setattr(person, name, value)
    after = await _staff_snapshot(db, cipher, person)
    changed = set(changed_fields(before, after))
    # Masks of two different numbers can look alike: what was re-encrypted is what changed.
    changed |= {"id_number"} if "id_number_bidx" in identity else set()
    changed |= {"phone"} if "phone_enc" in identity else set()
    if not changed:
        return person
    person.version += 1
    person.updated_at = utcnow()
    ordered = sorted(changed)
    record_change(db, trail, scope, entity_type="practitioner", entity_id=person.id, organization_id=org.id,
                  action=_active_action(ordered, bool(person.active)), before=before, after=after, changed=ordered)
    await mirror.mirror_practitioner(db, person, cipher, trail)
    if moved:  # team participants name the organization they act for
        for team in await repository.teams_of_practitioner(db, person.id):
            await mirror.mirror_team(db, team, cipher, trail)
    return person


# --- family-doctor teams --------------------------------------------------------------------------------

async def _active_practitioner(db: AsyncSession, practitioner_id: uuid.UUID, field: str) -> Practitioner:
    person = await repository.get_practitioner(db, practitioner_id)
    if person is None:
        raise invalid(field, "医务人员不存在", "practitioner_not_found")
    if not person.active:
        raise invalid(field, f"{person.name}（{person.code}）已停用", "practitioner_inactive")
    return person


async def _team_snapshot(db: AsyncSession, team: CareTeam) -> dict[str, Any]:
    await db.flush()
    org = await repository.get_organization(db, team.organization_id)
    assert org is not None
    return team_snapshot(team, org, await repository.team_members(db, team.id))


async def _team_for_edit(db: AsyncSession, scope: AccessScope, team_id: uuid.UUID, if_match: str | None,
                         version: int | None) -> CareTeam:
    team = await repository.get_team(db, team_id, lock=True)
    if team is None:
        raise NotFound("家庭医生团队不存在", code="team_not_found")
    require_institution_editor(scope, team.organization_id)
    check_version(team.version, expected_version(if_match, version), "该团队")
    return team


async def _record_team(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                       team: CareTeam, action: str, before: dict[str, Any] | None, after: dict[str, Any],
                       changed: list[str] | None = None, note: dict[str, Any] | None = None) -> None:
    await callers_changed(db)  # team membership shapes what its members may see
    record_change(db, trail, scope, entity_type="team", entity_id=team.id, organization_id=team.organization_id,
                  action=action, before=before, after=after, changed=changed, note=note)
    await mirror.mirror_team(db, team, cipher, trail)


async def create_team(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                      data: TeamCreate) -> CareTeam:
    org = await _organization_of_staff(db, data.organization_id)
    require_institution_editor(scope, org.id)
    if await repository.team_code_taken(db, data.code):
        raise taken("code", f"团队编码 {data.code} 已被使用", "code_taken")
    leader = await _active_practitioner(db, data.leader_id, "leader_id") if data.leader_id else None
    now = utcnow()
    team = CareTeam(id=uuid.uuid4(), code=data.code, name=data.name, organization_id=org.id,
                    leader_id=leader.id if leader else None, active=True, version=1, created_at=now, updated_at=now)
    db.add(team)
    await db.flush()
    if leader is not None:
        db.add(CareTeamMember(team_id=team.id, practitioner_id=leader.id, team_role="family_doctor"))
    await _record_team(db, trail, scope, cipher, team, "create", None, await _team_snapshot(db, team))
    return team


async def update_team(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                      team_id: uuid.UUID, data: TeamUpdate, if_match: str | None) -> CareTeam:
    team = await _team_for_edit(db, scope, team_id, if_match, data.version)
    refuse_code_change(team.code, data.code, "团队")
    changes = data.model_dump(exclude_unset=True, exclude={"version", "code"})
    refuse_clearing(changes, ("name", "active"))
    if changes.get("leader_id") is not None and await repository.get_member(db, team.id, changes["leader_id"]) is None:
        raise invalid("leader_id", "团队长必须是本团队成员，请先添加该成员", "leader_not_member")
    before = await _team_snapshot(db, team)
    for name, value in changes.items():
        setattr(team, name, value)
    after = await _team_snapshot(db, team)
    changed = changed_fields(before, after)
    if not changed:
        return team
    team.version += 1
    team.updated_at = utcnow()
    await _record_team(db, trail, scope, cipher, team, _active_action(changed, bool(team.active)), before, after,
                       changed)
    return team


async def add_member(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                     team_id: uuid.UUID, data: TeamMemberAdd, if_match: str | None) -> CareTeam:
    team = await _team_for_edit(db, scope, team_id, if_match, data.version)
    person = await _active_practitioner(db, data.practitioner_id, "practitioner_id")
    if await repository.get_member(db, team.id, person.id) is not None:
        raise Conflict(f"{person.name}（{person.code}）已是本团队成员", code="already_member")
    before = await _team_snapshot(db, team)
    db.add(CareTeamMember(team_id=team.id, practitioner_id=person.id, team_role=data.team_role))
    team.version += 1
    team.updated_at = utcnow()
    await _record_team(db, trail, scope, cipher, team, "add_member", before, await _team_snapshot(db, team),
                       note={"practitioner_id": str(person.id), "team_role": data.team_role})
    return team


async def remove_member(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                        team_id: uuid.UUID, practitioner_id: uuid.UUID, if_match: str | None,
                        version: int | None) -> CareTeam:
    team = await _team_for_edit(db, scope, team_id, if_match, version)
    member = await repository.get_member(db, team.id, practitioner_id)
    if member is None:
        raise NotFound("该人员不是本团队成员", code="not_a_member")
    before = await _team_snapshot(db, team)
    await db.delete(member)
    if team.leader_id == practitioner_id:
        team.leader_id = None  # a team without its leader says so, rather than naming someone who left
    team.version += 1
    team.updated_at = utcnow()
    await _record_team(db, trail, scope, cipher, team, "remove_member", before, await _team_snapshot(db, team),
                       note={"practitioner_id": str(practitioner_id)})
    return team
