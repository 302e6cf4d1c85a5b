"""Registry API: institutions (list, detail, tree by level), practitioners and family-doctor teams."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.registry import service
from jizuo.platform.registry.schemas import (
    LevelGroup,
    OrganizationDetail,
    OrganizationOut,
    PractitionerOut,
    TeamOut,
)
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1", tags=["机构与人员 registry"])

Paging = Annotated[PageParams, Depends(page_params)]
Keyword = Annotated[str | None, Query(max_length=64, description="名称或编码关键字")]


@router.get("/organizations", response_model=Page[OrganizationOut], summary="机构列表")
async def list_organizations(scope: ScopeDep, unit: UnitDep, paging: Paging,
                             level: Annotated[str | None, Query(max_length=16, description="级别，如 3A")] = None,
                             type: Annotated[str | None, Query(max_length=32, description="类型")] = None,
                             q: Keyword = None, parent_id: uuid.UUID | None = None) -> Page[OrganizationOut]:
    items, total = await service.list_organizations(unit.db, scope, level=level, type_=type, q=q,
                                                    parent_id=parent_id, offset=paging.offset,
                                                    limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/organizations/tree", response_model=list[LevelGroup], summary="按级别的机构树")
async def organization_tree(scope: ScopeDep, unit: UnitDep) -> list[LevelGroup]:
    return await service.organization_tree(unit.db, scope)


@router.get("/organizations/{organization_id}", response_model=OrganizationDetail, summary="机构详情")
async def organization_detail(organization_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> OrganizationDetail:
    return await service.organization_detail(unit.db, scope, organization_id)


@router.get("/practitioners", response_model=Page[PractitionerOut], summary="医务人员列表")
async def list_practitioners(scope: ScopeDep, unit: UnitDep, paging: Paging,
                             organization_id: uuid.UUID | None = None,
                             role: Annotated[str | None, Query(max_length=32)] = None,
                             q: Keyword = None) -> Page[PractitionerOut]:
    items, total = await service.list_practitioners(unit.db, unit.trail, scope, organization_id=organization_id,
                                                    role=role, q=q, offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/teams", response_model=Page[TeamOut], summary="家庭医生团队")
async def list_teams(scope: ScopeDep, unit: UnitDep, paging: Paging,
                     organization_id: uuid.UUID | None = None) -> Page[TeamOut]:
    items, total = await service.list_teams(unit.db, unit.trail, scope, organization_id=organization_id,
                                            offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
