"""Audit log API: read-only by design — there is no route that changes or deletes a row."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from jizuo.core.errors import ValidationFailed
from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.audit import repository
from jizuo.platform.audit.repository import AuditFilter
from jizuo.platform.audit.schemas import AuditEventOut
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1", tags=["审计 audit"])
Text = Annotated[str | None, Query(max_length=64)]


@router.get("/audit", response_model=Page[AuditEventOut], summary="审计日志查询")
async def list_audit(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                     since: datetime | None = None, until: datetime | None = None, actor: Text = None,
                     action: Text = None, resource_type: Text = None, resource_id: Text = None,
                     outcome: Text = None) -> Page[AuditEventOut]:
    scope.require(Permission.AUDIT_READ)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name} 必须带时区，例如 2026-11-25T08:00:00+08:00", code="naive_datetime")
    # An institution admin audits their own institution; district admin and regulator see all.
    organization_code = scope.organization_code if scope.role is Role.INSTITUTION_ADMIN else None
    await unit.settle_audit_queue()
    rows, total = await repository.list_events(unit.db, AuditFilter(
        since=since, until=until, actor=actor, action=action, resource_type=resource_type,
        resource_id=resource_id, outcome=outcome, organization_code=organization_code),
        paging.offset, paging.page_size)
    unit.trail.record("search", "AuditEvent", None, detail={"returned": len(rows)})
    return Page(items=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows], total=total,
                page=paging.page, page_size=paging.page_size)
