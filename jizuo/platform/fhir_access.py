"""Connects the FHIR layer to the platform: who may read and write clinical data, for which patients.

A family doctor's FHIR view is limited to the residents signed with their team; a resident sees only
themself; the regulator sees no clinical records at all (statistics only). Clinicians of an institution
read across the district for treatment — every read is audited with its purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.security import get_field_cipher
from jizuo.fhir.access import FhirAccess
from jizuo.fhir.api import build_router
from jizuo.fhir.bulk.api import build_bulk_router
from jizuo.fhir.service import FhirContext
from jizuo.platform import fhir_listeners
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Role
from jizuo.platform.request import Token, Unit, read_unit, scope_of, write_unit
from jizuo.platform.residents.models import Resident

# Apps register their FHIR write listeners here (re-exported from fhir_listeners, one list for every writer).
EXTRA_LISTENER_FACTORIES = fhir_listeners.EXTRA_LISTENER_FACTORIES

CLINICAL_WRITERS = {Role.DISTRICT_ADMIN, Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE, Role.PHARMACIST}
SEES_FULL_IDENTIFIERS = {Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE, Role.RESIDENT}


async def fhir_access_for(db: AsyncSession, scope: AccessScope) -> FhirAccess:
    match scope.role:
        case Role.REGULATOR | Role.INSTITUTION_ADMIN:
            return FhirAccess(may_read=False, may_write=False, actor=scope.username)
        case Role.RESIDENT:
            own = frozenset({str(scope.resident_id)}) if scope.resident_id else frozenset()
            return FhirAccess(may_read=True, may_write=False, patient_ids=own, actor=scope.username)
        case Role.FAMILY_DOCTOR:
            signed = await db.scalars(select(Resident.id).where(Resident.signed_team_id.in_(list(scope.team_ids))))
            return FhirAccess(may_read=True, may_write=True, patient_ids=frozenset(str(i) for i in signed),
                              actor=scope.username)
        case _:
            return FhirAccess(may_read=True, may_write=scope.role in CLINICAL_WRITERS, actor=scope.username)


@dataclass
class PlatformFhirRequest:
    ctx: FhirContext
    unit: Unit
    scope: AccessScope

    async def commit(self) -> None:
        await self.unit.commit()


# One dependency each (plus the bearer token) rather than unit → scope → request: solving the nested ones showed as
# about a sixth of a FHIR read's server CPU in profiles (their own work included); merged, a read costs less.
async def fhir_request(request: Request, token: Token) -> AsyncIterator[PlatformFhirRequest]:
    async with write_unit(request) as unit:
        yield await _fhir_request(unit, await scope_of(request, unit, token))


async def fhir_read_request(request: Request, token: Token) -> AsyncIterator[PlatformFhirRequest]:
    async with read_unit(request) as unit:
        yield await _fhir_request(unit, await scope_of(request, unit, token))


async def _fhir_request(unit: Unit, scope: AccessScope) -> PlatformFhirRequest:
    access = await fhir_access_for(unit.db, scope)
    ctx = FhirContext(db=unit.db, access=access, audit=unit.trail, cipher=get_field_cipher(),
                      reveal_personal_data=scope.role in SEES_FULL_IDENTIFIERS,
                      listeners=fhir_listeners.write_listeners())  # MPI (issue #5) + apps' projections
    return PlatformFhirRequest(ctx, unit, scope)


FhirRequestDep = Annotated[PlatformFhirRequest, Depends(fhir_request)]
router = build_router(fhir_request, fhir_read_request)
# $import/$export paths would be taken by the generic /fhir/{type}/{id} routes: mount this one first.
bulk_router = build_bulk_router(fhir_request)
