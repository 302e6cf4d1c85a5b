"""Data-standard catalogue API: data sets and their versions, data elements, value domains, Excel export.

Reading is open to every staff role (standards:read); extending the catalogue needs standards:write
(district administrators).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.request import ScopeDep, UnitDep
from jizuo.platform.standards import service
from jizuo.platform.standards.schemas import (
    DataSetDetail,
    DataSetSummary,
    DomainDetail,
    DomainSummary,
    ElementOut,
    VersionOut,
)
from jizuo.platform.standards.spec import DataSetSpec, ElementSpec, ValueDomainSpec

router = APIRouter(prefix="/api/v1/standards", tags=["数据标准 standards"])

Paging = Annotated[PageParams, Depends(page_params)]
Keyword = Annotated[str | None, Query(max_length=64, description="编码、标识或名称关键字")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/datasets", response_model=list[DataSetSummary], summary="数据集目录")
async def list_data_sets(scope: ScopeDep, unit: UnitDep, q: Keyword = None,
                         category: Annotated[str | None, Query(pattern="^(clinical|public_health|management)$",
                                                               description="类别")] = None
                         ) -> list[DataSetSummary]:
    return await service.list_data_sets(unit.db, scope, q=q, category=category)


@router.post("/datasets", response_model=VersionOut, status_code=201, summary="新建数据集（草稿）")
async def create_data_set(body: DataSetSpec, scope: ScopeDep, unit: UnitDep) -> VersionOut:
    created = await service.create_data_set(unit.db, unit.trail, scope, body)
    await unit.commit()
    return created


@router.get("/datasets/{code}", response_model=DataSetDetail, summary="数据集详情（字段、规则）")
async def data_set_detail(code: str, scope: ScopeDep, unit: UnitDep,
                          version: Annotated[str | None, Query(max_length=16, description="版本，默认当前发布版本")]
                          = None) -> DataSetDetail:
    return await service.data_set_detail(unit.db, scope, code, version)


@router.get("/datasets/{code}/versions", response_model=list[VersionOut], summary="数据集版本历史")
async def list_versions(code: str, scope: ScopeDep, unit: UnitDep) -> list[VersionOut]:
    return await service.list_versions(unit.db, scope, code)


@router.post("/datasets/{code}/versions", response_model=VersionOut, status_code=201, summary="新建版本（草稿）")
async def create_version(code: str, body: DataSetSpec, scope: ScopeDep, unit: UnitDep) -> VersionOut:
    created = await service.create_version(unit.db, unit.trail, scope, code, body)
    await unit.commit()
    return created


@router.post("/datasets/{code}/versions/{version}/publish", response_model=VersionOut, summary="发布版本")
async def publish_version(code: str, version: str, scope: ScopeDep, unit: UnitDep) -> VersionOut:
    published = await service.publish_version(unit.db, unit.trail, scope, code, version)
    await unit.commit()
    return published


@router.get("/elements", response_model=Page[ElementOut], summary="数据元目录")
async def list_elements(scope: ScopeDep, unit: UnitDep, paging: Paging, q: Keyword = None,
                        value_domain: Annotated[str | None, Query(max_length=64, description="值域代码")] = None
                        ) -> Page[ElementOut]:
    items, total = await service.search_elements(unit.db, scope, q=q, value_domain=value_domain,
                                                 offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("/elements", response_model=ElementOut, status_code=201, summary="新增数据元")
async def create_element(body: ElementSpec, scope: ScopeDep, unit: UnitDep) -> ElementOut:
    created = await service.create_element(unit.db, unit.trail, scope, body)
    await unit.commit()
    return created


@router.get("/value-domains", response_model=list[DomainSummary], summary="值域目录")
async def list_domains(scope: ScopeDep, unit: UnitDep, q: Keyword = None) -> list[DomainSummary]:
    return await service.list_domains(unit.db, scope, q=q)


@router.post("/value-domains", response_model=DomainDetail, status_code=201, summary="新增值域")
async def create_domain(body: ValueDomainSpec, scope: ScopeDep, unit: UnitDep) -> DomainDetail:
    created = await service.create_domain(unit.db, unit.trail, scope, body)
    await unit.commit()
    return created


# Value-domain codes are standard numbers such as "GB/T 2261.1": the path converter keeps the slash.
@router.get("/value-domains/{code:path}", response_model=DomainDetail, summary="值域详情（代码表）")
async def domain_detail(code: str, scope: ScopeDep, unit: UnitDep) -> DomainDetail:
    return await service.domain_detail(unit.db, scope, code)


@router.get("/export.xlsx", summary="导出数据标准目录（Excel）",
            responses={200: {"content": {XLSX: {}}, "description": "Excel 工作簿"}})
async def export_catalogue(scope: ScopeDep, unit: UnitDep) -> Response:
    content = await service.export_catalogue(unit.db, scope)
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": "attachment; filename=\"jizuo-standards.xlsx\"; "
                               "filename*=UTF-8''%E6%95%B0%E6%8D%AE%E6%A0%87%E5%87%86%E7%9B%AE%E5%BD%95.xlsx"})
