"""Reading the registry: who may see what, and how rows become the shapes the console shows.

Edits live in editing.py (institutions, departments) and staff_editing.py (practitioners, teams)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import NotFound
from jizuo.core.idcard import mask_id_number, mask_phone
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry import repository
from jizuo.platform.registry.codes import (
    LEVEL_DISPLAY,
    LEVEL_RANK,
    PRACTITIONER_ROLE_DISPLAY,
    TEAM_ROLE_DISPLAY,
    level_display,
    type_display,
)
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.registry.repository import PractitionerRow
from jizuo.platform.registry.schemas import (
    ChangeOut,
    DepartmentOut,
    LevelGroup,
    OrganizationDetail,
    OrganizationOut,
    PractitionerDetail,
    PractitionerOut,
    Ref,
    TeamMemberOut,
    TeamOut,
    TreeNode,
)


def organization_out(org: Organization, parent_name: str | None = None) -> OrganizationOut:
    return OrganizationOut(
        id=org.id, code=org.code, uscc=org.uscc, name=org.name, short_name=org.short_name, level=org.level,
        level_display=level_display(org.level), type=org.type, type_display=type_display(org.type),
        parent_id=org.parent_id, parent_name=parent_name, address=org.address, phone=org.phone,
        latitude=org.latitude, longitude=org.longitude, active=org.active, version=org.version,
        updated_at=org.updated_at)


async def organization_summary(db: AsyncSession, organization_id: uuid.UUID) -> OrganizationOut:
    """An organization as the list shows it (after an edit: what the editor may already see)."""
    org = await repository.get_organization(db, organization_id)
    if org is None:
        raise NotFound("机构不存在", code="organization_not_found")
    parent = await repository.get_organization(db, org.parent_id) if org.parent_id else None
    return organization_out(org, parent.name if parent else None)


async def list_organizations(db: AsyncSession, scope: AccessScope, *, level: str | None, type_: str | None,
                             q: str | None, parent_id: uuid.UUID | None, offset: int, limit: int
                             ) -> tuple[list[OrganizationOut], int]:
    scope.require(Permission.ORG_READ)
    rows, total = await repository.list_organizations(db, level=level, type_=type_, q=q, parent_id=parent_id,
                                                      offset=offset, limit=limit)
    return [organization_out(org, parent_name) for org, parent_name in rows], total


async def organization_detail(db: AsyncSession, scope: AccessScope, organization_id: uuid.UUID
                              ) -> OrganizationDetail:
    scope.require(Permission.ORG_READ)
    org = await repository.get_organization(db, organization_id)
    if org is None:
        raise NotFound("机构不存在", code="organization_not_found")
    parent = await repository.get_organization(db, org.parent_id) if org.parent_id else None
    departments = await repository.departments_of(db, org.id)
    children = await repository.children_of(db, org.id)
    return OrganizationDetail(
        **organization_out(org, parent.name if parent else None).model_dump(),
        departments=[DepartmentOut(id=d.id, code=d.code, name=d.name, version=d.version) for d in departments],
        children=[organization_out(c, org.name) for c in children],
        practitioner_count=await repository.count_practitioners(db, org.id))


async def organization_tree(db: AsyncSession, scope: AccessScope) -> list[LevelGroup]:
    """Institutions grouped by level, highest first; stations hang under their centre."""
    scope.require(Permission.ORG_READ)
    organizations = await repository.all_organizations(db)
    children: dict[uuid.UUID, list[Organization]] = defaultdict(list)
    for org in organizations:
        if org.parent_id and org.type == "community_station":
            children[org.parent_id].append(org)

    def node(org: Organization) -> TreeNode:
        return TreeNode(id=org.id, code=org.code, name=org.name, type_display=type_display(org.type),
                        children=[node(c) for c in children.get(org.id, [])])

    by_level: dict[str, list[TreeNode]] = defaultdict(list)
    for org in organizations:
        if org.type != "community_station":
            by_level[org.level].append(node(org))
    ordered = sorted(by_level, key=lambda level: (-LEVEL_RANK.get(level, 0), level))
    return [LevelGroup(level=level, level_display=LEVEL_DISPLAY.get(level, level),
                       organizations=by_level[level]) for level in ordered]


async def list_practitioners(db: AsyncSession, trail: AuditTrail, scope: AccessScope, *,
                             organization_id: uuid.UUID | None, role: str | None, q: str | None,
                             offset: int, limit: int) -> tuple[list[PractitionerOut], int]:
    scope.require(Permission.PRACTITIONER_READ)
    rows, total = await repository.list_practitioners(db, organization_id=organization_id, role=role, q=q,
                                                      offset=offset, limit=limit)
    trail.record("search", "Practitioner", None, detail={"returned": len(rows)})
    return [practitioner_out(row) for row in rows], total


def practitioner_out(row: PractitionerRow) -> PractitionerOut:
    p, org, dept, team = row
    return PractitionerOut(
        id=p.id, code=p.code, name=p.name, gender=p.gender, title=p.title, role=p.role,
        role_display=PRACTITIONER_ROLE_DISPLAY.get(p.role, p.role), organization=Ref(id=org.id, name=org.name),
        department=Ref(id=dept.id, name=dept.name) if dept else None,
        team=Ref(id=team.id, name=team.name) if team else None, active=p.active, version=p.version)


async def practitioner_detail(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                              practitioner_id: uuid.UUID) -> PractitionerDetail:
    """One practitioner, 身份证 and phone masked (for the edit form: it shows whether they are on file)."""
    scope.require(Permission.PRACTITIONER_READ)
    row = await repository.practitioner_row(db, practitioner_id)
    if row is None:
        raise NotFound("医务人员不存在", code="practitioner_not_found")
    person = row[0]
    id_number = cipher.decrypt(person.id_number_enc) if person.id_number_enc else None
    phone = cipher.decrypt(person.phone_enc) if person.phone_enc else None
    trail.record("read", "Practitioner", person.id)
    return PractitionerDetail(**practitioner_out(row).model_dump(), birth_date=person.birth_date,
                              id_number_masked=mask_id_number(id_number) if id_number else None,
                              phone_masked=mask_phone(phone) if phone else None)


async def list_teams(db: AsyncSession, trail: AuditTrail, scope: AccessScope, *,
                     organization_id: uuid.UUID | None, offset: int, limit: int) -> tuple[list[TeamOut], int]:
    scope.require(Permission.PRACTITIONER_READ)
    rows, total = await repository.list_teams(db, organization_id=organization_id, offset=offset, limit=limit)
    trail.record("search", "CareTeam", None, detail={"returned": len(rows)})
    return await _teams_out(db, rows), total


async def team_detail(db: AsyncSession, trail: AuditTrail, scope: AccessScope, team_id: uuid.UUID) -> TeamOut:
    scope.require(Permission.PRACTITIONER_READ)
    row = await repository.team_row(db, team_id)
    if row is None:
        raise NotFound("家庭医生团队不存在", code="team_not_found")
    trail.record("read", "CareTeam", team_id)
    return (await _teams_out(db, [row]))[0]


async def _teams_out(db: AsyncSession, rows: list[tuple[CareTeam, Organization, int]]) -> list[TeamOut]:
    members = await repository.members_of_teams(db, [team.id for team, _, _ in rows])
    by_team: dict[uuid.UUID, list[TeamMemberOut]] = defaultdict(list)
    names: dict[uuid.UUID, str] = {}
    for member, practitioner, org in members:
        names[practitioner.id] = practitioner.name
        by_team[member.team_id].append(TeamMemberOut(
            practitioner_id=practitioner.id, name=practitioner.name, team_role=member.team_role,
            team_role_display=TEAM_ROLE_DISPLAY.get(member.team_role, member.team_role),
            organization_name=org.name))
    return [TeamOut(
        id=team.id, code=team.code, name=team.name, organization=Ref(id=org.id, name=org.name),
        leader=Ref(id=team.leader_id, name=names.get(team.leader_id, "")) if team.leader_id else None,
        members=by_team[team.id], signed_count=signed, active=team.active, version=team.version)
        for team, org, signed in rows]


async def list_changes(db: AsyncSession, trail: AuditTrail, scope: AccessScope, *, entity_type: str | None,
                       entity_id: uuid.UUID | None, organization_id: uuid.UUID | None, offset: int, limit: int
                       ) -> tuple[list[ChangeOut], int]:
    """The registry's change history, newest first. Registry data is public within the platform (names,
    codes, masked identifiers), so every staff role with registry read access may see it."""
    scope.require(Permission.ORG_READ)
    rows, total = await repository.list_changes(db, entity_type=entity_type, entity_id=entity_id,
                                                organization_id=organization_id, offset=offset, limit=limit)
    trail.record("search", "RegistryChange", entity_id, detail={"returned": len(rows)})
    return [ChangeOut.model_validate(row, from_attributes=True) for row in rows], total
