"""The change history of the registry: what a row looked like, and one `registry_change` row per change.

Snapshots are plain JSON (ids as strings, dates ISO). 身份证 and phone of practitioners are recorded masked:
the history says that they changed, never what they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.idcard import mask_id_number, mask_phone
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.registry.models import (
    CareTeam,
    CareTeamMember,
    Department,
    Organization,
    Practitioner,
    RegistryChange,
)

Snapshot = dict[str, Any]
# The audit trail names registry rows by their FHIR resource type, as the registry's read endpoints do.
AUDIT_TYPE = {"organization": "Organization", "department": "Department", "practitioner": "Practitioner",
              "team": "CareTeam"}


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def organization_snapshot(org: Organization, parent: Organization | None) -> Snapshot:
    return {
        "code": org.code, "uscc": org.uscc, "name": org.name, "short_name": org.short_name, "level": org.level,
        "type": org.type, "parent_id": _id(org.parent_id), "parent_name": parent.name if parent else None,
        "address": org.address, "phone": org.phone, "latitude": org.latitude, "longitude": org.longitude,
        "active": bool(org.active),
    }


def department_snapshot(department: Department) -> Snapshot:
    return {"code": department.code, "name": department.name, "organization_id": _id(department.organization_id)}


def practitioner_snapshot(person: Practitioner, cipher: FieldCipher, organization: Organization,
                          department: Department | None) -> Snapshot:
    id_number = cipher.decrypt(person.id_number_enc) if person.id_number_enc else None
    phone = cipher.decrypt(person.phone_enc) if person.phone_enc else None
    return {
        "code": person.code, "name": person.name, "gender": person.gender,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "id_number": mask_id_number(id_number) if id_number else None,
        "phone": mask_phone(phone) if phone else None,
        "organization_id": _id(person.organization_id), "organization_name": organization.name,
        "department_id": _id(person.department_id), "department_name": department.name if department else None,
        "title": person.title, "role": person.role, "active": bool(person.active),
    }


def team_snapshot(team: CareTeam, organization: Organization,
                  members: Sequence[tuple[CareTeamMember, Practitioner]]) -> Snapshot:
    leader = next((p for _, p in members if p.id == team.leader_id), None)
    return {
        "code": team.code, "name": team.name, "organization_id": _id(team.organization_id),
        "organization_name": organization.name, "leader_id": _id(team.leader_id),
        "leader_name": leader.name if leader else None, "active": bool(team.active),
        "members": [{"practitioner_id": str(p.id), "code": p.code, "name": p.name, "team_role": m.team_role}
                    for m, p in sorted(members, key=lambda mp: mp[1].code)],
    }


def changed_fields(before: Snapshot | None, after: Snapshot) -> list[str]:
    if before is None:
        return sorted(after)
    return sorted(key for key in after if before.get(key) != after[key])


def record_change(db: AsyncSession, trail: AuditTrail, scope: AccessScope, *, entity_type: str,
                  entity_id: uuid.UUID, organization_id: uuid.UUID | None, action: str, before: Snapshot | None,
                  after: Snapshot, changed: list[str] | None = None, note: dict[str, Any] | None = None
                  ) -> RegistryChange:
    """Add the history row (flushed with the change) and its audit record; the caller commits both."""
    changed = changed if changed is not None else changed_fields(before, after)
    change = RegistryChange(
        id=uuid.uuid4(), entity_type=entity_type, entity_id=entity_id, organization_id=organization_id,
        action=action, changed=changed,
        before=None if before is None else {key: before.get(key) for key in changed},
        after=after, actor_id=scope.user_id, actor_username=scope.username, request_id=trail.request_id,
        at=utcnow())
    db.add(change)
    trail.record(action, AUDIT_TYPE[entity_type], entity_id,
                 detail={"changed": changed, "registry_change": str(change.id), **(note or {})})
    return change
