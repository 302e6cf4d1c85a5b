"""Write-through of the registry into the FHIR store, inside the caller's transaction.

Every edit writes the FHIR resources of the rows it touched before its request commits, so the registry
tables and their FHIR view never disagree (a failed edit rolls both back). Writes go through the FHIR
service with the system access the bulk loader uses (validation, versions, search index, encryption of
身份证/phone); a resource whose content is unchanged gets no new version. The demo seed mirrors the whole
registry the same way (`mirror_whole_registry`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir import store
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.bulk.prepare import content_digest
from jizuo.fhir.personal_data import reveal
from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored
from jizuo.platform.registry import repository
from jizuo.platform.registry.fhir_mapping import (
    Json,
    PersonalData,
    care_team_resource,
    organization_resources,
    practitioner_resources,
    registry_resources,
)
from jizuo.platform.registry.models import CareTeam, Organization, Practitioner


class _MirrorAudit:
    """Audits each FHIR write of the mirror in the request's trail, marked as coming from the registry."""

    def __init__(self, trail: AuditSink | None) -> None:
        self.trail = trail

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None:
        if self.trail is not None:
            self.trail.record(action, resource_type, resource_id, outcome, {**(detail or {}), "via": "registry"})


def _unchanged(stored: Stored, resource: Json, cipher: FieldCipher) -> bool:
    if stored.deleted or stored.resource is None:
        return False
    shown = reveal(copy.deepcopy(stored.resource), cipher, full=True)  # compare plain 身份证, not ciphertexts
    return content_digest(shown) == content_digest(resource)


async def write_resources(db: AsyncSession, resources: Sequence[Json], cipher: FieldCipher, *,
                          audit: AuditSink | None = None, buffered: bool = False) -> int:
    """Create or update each resource under its own id, skipping those stored with the same content.
    `buffered` collects the rows and writes them with one statement per table (many resources at once)."""
    if not resources:
        return 0
    ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=_MirrorAudit(audit), cipher=cipher,
                      write_buffer=store.WriteBuffer() if buffered else None)
    keys = [(str(r["resourceType"]), str(r["id"])) for r in resources]
    current = await store.get_current_many(db, keys)  # locked: two edits of one row write in turn
    written = 0
    for resource, key in zip(resources, keys, strict=True):
        existing = current.get(key)
        if existing is not None and _unchanged(existing, resource, cipher):
            continue
        ctx.prefetched[key] = existing
        await fhir_service.update(ctx, key[0], key[1], resource)
        written += 1
    await ctx.flush()
    return written


def personal_data(person: Practitioner, cipher: FieldCipher) -> PersonalData:
    return PersonalData(id_number=cipher.decrypt(person.id_number_enc) if person.id_number_enc else None,
                        phone=cipher.decrypt(person.phone_enc) if person.phone_enc else None)


async def mirror_organization(db: AsyncSession, org: Organization, cipher: FieldCipher,
                              audit: AuditSink | None) -> int:
    return await write_resources(db, organization_resources(org), cipher, audit=audit)


async def mirror_practitioner(db: AsyncSession, person: Practitioner, cipher: FieldCipher,
                              audit: AuditSink | None) -> int:
    department = await repository.get_department(db, person.department_id) if person.department_id else None
    resources = practitioner_resources(person, personal_data(person, cipher), department)
    return await write_resources(db, resources, cipher, audit=audit)


async def mirror_team(db: AsyncSession, team: CareTeam, cipher: FieldCipher, audit: AuditSink | None) -> int:
    await db.flush()  # membership rows added or removed in this transaction must be visible to the query
    members = await repository.team_members(db, team.id)
    return await write_resources(db, [care_team_resource(team, members)], cipher, audit=audit)


async def whole_registry(db: AsyncSession, cipher: FieldCipher) -> list[Json]:
    organizations = await repository.all_organizations(db)
    departments = await repository.all_departments(db)
    practitioners = [(p, personal_data(p, cipher)) for p in await repository.all_practitioners(db)]
    teams = await repository.all_teams_with_members(db)
    return list(registry_resources(organizations, departments, practitioners, teams))


async def mirror_whole_registry(db: AsyncSession, cipher: FieldCipher, audit: AuditSink | None = None) -> int:
    """Every organization, practitioner and team into FHIR (the demo seed; repairs a store that missed
    edits). Returns how many resources were written; unchanged ones are skipped."""
    return await write_resources(db, await whole_registry(db, cipher), cipher, audit=audit, buffered=True)
