"""Registry rules: who may see what, and how rows become the shapes the console shows."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import NotFound
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
from jizuo.platform.registry.models import Organization
from jizuo.platform.registry.schemas import (
    DepartmentOut,
    LevelGroup,
    OrganizationDetail,
    OrganizationOut,
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
        parent_id=org.parent_id, parent_name=parent_name, address=org.address, phone=org.phone, active=org.active)


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
        departments=[DepartmentOut(id=d.id, code=d.code, name=d.name) for d in departments],
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
    return [PractitionerOut(
        id=p.id, code=p.code, name=p.name, gender=p.gender, title=p.title, role=p.role,
        role_display=PRACTITIONER_ROLE_DISPLAY.get(p.role, p.role), organization=Ref(id=org.id, name=org.name),
        department=Ref(id=dept.id, name=dept.name) if dept else None,
        team=Ref(id=team.id, name=team.name) if team else None) for p, org, dept, team in rows], total


async def list_teams(db: AsyncSession, trail: AuditTrail, scope: AccessScope, *,
                     organization_id: uuid.UUID | None, offset: int, limit: int) -> tuple[list[TeamOut], int]:
    scope.require(Permission.PRACTITIONER_READ)
    rows, total = await repository.list_teams(db, organization_id=organization_id, offset=offset, limit=limit)
    members = await repository.members_of_teams(db, [team.id for team, _, _ in rows])
    by_team: dict[uuid.UUID, list[TeamMemberOut]] = defaultdict(list)
    names: dict[uuid.UUID, str] = {}
    for member, practitioner, org in members:
        names[practitioner.id] = practitioner.name
        by_team[member.team_id].append(TeamMemberOut(
            practitioner_id=practitioner.id, name=practitioner.name, team_role=member.team_role,
            team_role_display=TEAM_ROLE_DISPLAY.get(member.team_role, member.team_role),
            organization_name=org.name))
    trail.record("search", "CareTeam", None, detail={"returned": len(rows)})
    return [TeamOut(
        id=team.id, code=team.code, name=team.name, organization=Ref(id=org.id, name=org.name),
        leader=Ref(id=team.leader_id, name=names.get(team.leader_id, "")) if team.leader_id else None,
        members=by_team[team.id], signed_count=signed) for team, org, signed in rows], total
