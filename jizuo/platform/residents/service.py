"""Reading residents: reach-limited, masked by default, every read audited."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import age_on, today_in_shanghai
from jizuo.core.errors import NotFound, PermissionDenied
from jizuo.core.idcard import is_valid_id_number, mask_id_number, mask_phone
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry.schemas import Ref
from jizuo.platform.residents import repository
from jizuo.platform.residents.repository import ResidentRow
from jizuo.platform.residents.schemas import ResidentOut


def _check_may_read(scope: AccessScope) -> None:
    if scope.personal_data_reach is Reach.NONE:
        raise PermissionDenied("当前角色只能查看统计数据，不能查看居民个人信息", code="personal_data_forbidden")
    scope.require(Permission.RESIDENT_READ)


def _resident_out(row: ResidentRow, cipher: FieldCipher) -> ResidentOut:
    resident, organization, team = row
    phone = cipher.decrypt(resident.phone_enc) if resident.phone_enc else None
    return ResidentOut(
        id=resident.id, name=resident.name, gender=resident.gender, birth_date=resident.birth_date,
        age=age_on(resident.birth_date, today_in_shanghai()),
        id_number_masked=mask_id_number(cipher.decrypt(resident.id_number_enc)),
        phone_masked=mask_phone(phone) if phone else None, address=resident.address,
        home_organization=Ref(id=organization.id, name=organization.name) if organization else None,
        team=Ref(id=team.id, name=team.name) if team else None, chronic=list(resident.chronic or []))


async def search_residents(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher, *,
                           q: str | None, offset: int, limit: int) -> tuple[list[ResidentOut], int]:
    _check_may_read(scope)
    # A full, valid 身份证 is looked up by its blind index; anything else searches names only, so a
    # partial ID number never narrows the result (and so never leaks).
    bidx = cipher.blind_index(q) if q and is_valid_id_number(q.strip().upper()) else None
    rows, total = await repository.list_residents(db, scope, q=None if bidx else q, id_number_bidx=bidx,
                                                  offset=offset, limit=limit)
    trail.record("search", "Resident", None, detail={
        "returned": len(rows), "by_id_number": bidx is not None, "reach": scope.personal_data_reach.value})
    return [_resident_out(row, cipher) for row in rows], total


async def read_resident(db: AsyncSession, trail: AuditTrail, scope: AccessScope, cipher: FieldCipher,
                        resident_id: uuid.UUID) -> ResidentOut:
    _check_may_read(scope)
    row = await repository.get_resident(db, scope, resident_id)
    if row is None:
        trail.record("read", "Resident", resident_id, "denied", {"reason": "not_found_or_outside_scope"})
        raise NotFound("居民不存在或不在您的服务范围内", code="resident_not_found")
    trail.record("read", "Resident", resident_id)
    return _resident_out(row, cipher)
