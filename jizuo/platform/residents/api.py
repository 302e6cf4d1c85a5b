"""Resident register API (reach-limited, masked, audited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from jizuo.core.pagination import PageParams, page_params
from jizuo.core.security import get_field_cipher
from jizuo.platform.request import ScopeDep, UnitDep
from jizuo.platform.residents import service
from jizuo.platform.residents.schemas import ResidentOut, ResidentPage

router = APIRouter(prefix="/api/v1", tags=["居民档案 residents"])


@router.get("/residents", response_model=ResidentPage, summary="居民列表（按权限范围）")
async def list_residents(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                         q: Annotated[str | None, Query(max_length=64, description="姓名，或完整身份证号")] = None
                         ) -> ResidentPage:
    items, total = await service.search_residents(unit.db, unit.trail, scope, get_field_cipher(), q=q,
                                                  offset=paging.offset, limit=paging.page_size)
    return ResidentPage(items=items, total=total, page=paging.page, page_size=paging.page_size,
                        scope=scope.personal_data_reach.value)


@router.get("/residents/{resident_id}", response_model=ResidentOut, summary="居民详情")
async def read_resident(resident_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> ResidentOut:
    return await service.read_resident(unit.db, unit.trail, scope, get_field_cipher(), resident_id)
