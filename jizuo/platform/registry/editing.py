"""Editing institutions and their departments: the rules, the history row and the FHIR write-through.

Each function changes rows, records the change (registry_change + audit trail) and writes the FHIR mirror,
all in the caller's transaction; the API commits. Codes are stable: set once, never changed, never reused
(a deactivated institution keeps its code). Nothing is ever deleted: institutions are deactivated.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.registry import mirror, repository
from jizuo.platform.registry.fhir_mapping import practitioner_role_resource
from jizuo.platform.registry.history import (
    changed_fields,
    department_snapshot,
    organization_snapshot,
    record_change,
)
from jizuo.platform.registry.models import Department, Organization
from jizuo.platform.registry.rules import (
    check_version,
    expected_version,
    invalid,
    refuse_clearing,
    refuse_code_change,
    require_district_editor,
    require_institution_editor,
    require_own_organization_fields,
)
from jizuo.platform.registry.schemas import (
    DepartmentCreate,
    DepartmentUpdate,
    OrganizationCreate,
    OrganizationUpdate,
)

STATION, CENTRE = "community_station", "community_centre"


def taken(field: str, message: str, code: str) -> Conflict:
    return Conflict(message, code=code, errors=[FieldError(field, message)])


async def organization_for_edit(db: AsyncSession, organization_id: uuid.UUID) -> Organization:
    org = await repository.lock_organization(db, organization_id)
    if org is None:
        raise NotFound("机构不存在", code="organization_not_found")
    return org


async def _parent(db: AsyncSession, org: Organization) -> Organization | None:
    return await repository.get_organization(db, org.parent_id) if org.parent_id else None


async def _checked_parent(db: AsyncSession, parent_id: uuid.UUID | None, organization_id: uuid.UUID | None,
                          org_type: str) -> Organization | None:
    """The parent must exist, be active, not sit below the organization itself; a station needs a centre."""
    if parent_id is None:
        if org_type == STATION:
            raise invalid("parent_id", "社区卫生服务站必须隶属于一个社区卫生服务中心", "station_needs_centre")
        return None
    parent = await repository.get_organization(db, parent_id)
    if parent is None:
        raise invalid("parent_id", "上级机构不存在", "parent_not_found")
    if not parent.active:
        raise invalid("parent_id", f"上级机构“{parent.name}”已停用", "parent_inactive")
    if organization_id is not None and organization_id in await repository.ancestor_ids(db, parent.id):
        raise invalid("parent_id", "上级机构不能是本机构或其下属机构（会形成循环）", "parent_cycle")
    if org_type == STATION and parent.type != CENTRE:
        raise invalid("parent_id", "社区卫生服务站的上级必须是社区卫生服务中心", "station_needs_centre")
    return parent


async def _check_uscc_free(db: AsyncSession, uscc: str | None, organization_id: uuid.UUID | None) -> None:
    if uscc:
        holder = await repository.get_organization_by_uscc(db, uscc)
        if holder is not None and holder.id != organization_id:
            raise taken("uscc", f"统一社会信用代码 {uscc} 已登记为“{holder.name}”", "uscc_taken")


async def create_organization(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                              data: OrganizationCreate) -> Organization:
    require_district_editor(scope, "新建机构")
    if await repository.get_organization_by_code(db, data.code):
        raise taken("code", f"机构编码 {data.code} 已被使用（编码不可重复使用）", "code_taken")
    await _check_uscc_free(db, data.uscc, None)
    parent = await _checked_parent(db, data.parent_id, None, data.type)
    now = utcnow()
    org = Organization(id=uuid.uuid4(), **data.model_dump(), active=True, version=1, created_at=now, updated_at=now)
    db.add(org)
    await db.flush()
    record_change(db, trail, scope, entity_type="organization", entity_id=org.id, organization_id=org.id,
                  action="create", before=None, after=organization_snapshot(org, parent))
    await mirror.mirror_organization(db, org, cipher, trail)
    return org


async def update_organization(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                              organization_id: uuid.UUID, data: OrganizationUpdate, if_match: str | None
                              ) -> Organization:
    org = await organization_for_edit(db, organization_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "code"})
    require_own_organization_fields(scope, org.id, set(changes))
    refuse_code_change(org.code, data.code, "机构")
    check_version(org.version, expected_version(if_match, data.version), "该机构")
    refuse_clearing(changes, ("name", "level", "type"))
    if "uscc" in changes:
        await _check_uscc_free(db, changes["uscc"], org.id)
    if changes.get("type", CENTRE) != CENTRE and org.type == CENTRE and await repository.count_active_children(
            db, org.id, STATION):
        raise invalid("type", "该中心下还有在用的社区卫生服务站，不能改为其他类型", "centre_has_stations")
    old_parent = await _parent(db, org)
    parent = old_parent
    if "parent_id" in changes or "type" in changes:
        parent = await _checked_parent(db, changes.get("parent_id", org.parent_id), org.id,
                                       changes.get("type", org.type))
    before = organization_snapshot(org, old_parent)
    for name, value in changes.items():
        setattr(org, name, value)
    after = organization_snapshot(org, parent)
    changed = changed_fields(before, after)
    if not changed:
        return org  # nothing to record: the version stays, so the client's copy is still current
    org.version += 1
    org.updated_at = utcnow()
    record_change(db, trail, scope, entity_type="organization", entity_id=org.id, organization_id=org.id,
                  action="update", before=before, after=after, changed=changed)
    await mirror.mirror_organization(db, org, cipher, trail)
    return org


async def set_organization_active(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                                  organization_id: uuid.UUID, active: bool, if_match: str | None,
                                  version: int | None) -> Organization:
    """Deactivate (never delete) or reactivate; children must be deactivated first, parents reactivated first."""
    require_district_editor(scope, "停用或启用机构")
    org = await organization_for_edit(db, organization_id)
    check_version(org.version, expected_version(if_match, version), "该机构")
    if org.active == active:
        return org
    parent = await _parent(db, org)
    if not active and await repository.count_active_children(db, org.id):
        raise Conflict("该机构还有在用的下属机构，请先停用下属机构", code="has_active_children")
    if active and parent is not None and not parent.active:
        raise Conflict(f"上级机构“{parent.name}”已停用，请先启用上级机构", code="parent_inactive")
    before = organization_snapshot(org, parent)
    org.active = active
    org.version += 1
    org.updated_at = utcnow()
    record_change(db, trail, scope, entity_type="organization", entity_id=org.id, organization_id=org.id,
                  action="reactivate" if active else "deactivate", before=before,
                  after=organization_snapshot(org, parent))
    await mirror.mirror_organization(db, org, cipher, trail)
    return org


async def create_department(db: AsyncSession, trail: AuditTrail, scope: AccessScope, organization_id: uuid.UUID,
                            data: DepartmentCreate) -> Department:
    org = await repository.get_organization(db, organization_id)
    if org is None:
        raise NotFound("机构不存在", code="organization_not_found")
    require_institution_editor(scope, org.id)
    if not org.active:
        raise Conflict("机构已停用，不能新增科室", code="organization_inactive")
    if await repository.department_code_taken(db, data.code):
        raise taken("code", f"科室编码 {data.code} 已被使用", "code_taken")
    department = Department(id=uuid.uuid4(), organization_id=org.id, code=data.code, name=data.name, version=1,
                            updated_at=utcnow())
    db.add(department)
    await db.flush()
    record_change(db, trail, scope, entity_type="department", entity_id=department.id, organization_id=org.id,
                  action="create", before=None, after=department_snapshot(department))
    return department  # not a FHIR resource of its own: it appears as its staff's PractitionerRole.specialty


async def update_department(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                            department_id: uuid.UUID, data: DepartmentUpdate, if_match: str | None) -> Department:
    department = await repository.get_department(db, department_id, lock=True)
    if department is None:
        raise NotFound("科室不存在", code="department_not_found")
    require_institution_editor(scope, department.organization_id)
    refuse_code_change(department.code, data.code, "科室")
    check_version(department.version, expected_version(if_match, data.version), "该科室")
    changes = data.model_dump(exclude_unset=True, exclude={"version", "code"})
    refuse_clearing(changes, ("name",))
    before = department_snapshot(department)
    for name, value in changes.items():
        setattr(department, name, value)
    after = department_snapshot(department)
    changed = changed_fields(before, after)
    if not changed:
        return department
    department.version += 1
    department.updated_at = utcnow()
    record_change(db, trail, scope, entity_type="department", entity_id=department.id,
                  organization_id=department.organization_id, action="update", before=before, after=after,
                  changed=changed)
    # The department's name is its staff's specialty in FHIR.
    staff = await repository.practitioners_in_department(db, department.id)
    await mirror.write_resources(db, [practitioner_role_resource(p, department) for p in staff], cipher,
                                 audit=trail)
    return department
