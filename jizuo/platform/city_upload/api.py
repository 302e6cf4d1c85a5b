"""City upload API: send new accepted data to the city 前置库, list batches, re-send one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from jizuo.core.config import get_settings
from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.city_upload import service
from jizuo.platform.city_upload.models import UploadBatch
from jizuo.platform.city_upload.schemas import UploadBatchOut
from jizuo.platform.identity.roles import Permission
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/city-upload", tags=["市平台上传 city upload"])


@router.post("/run", response_model=list[UploadBatchOut], summary="上传尚未上传的已入库数据（可指定数据集）")
async def run_upload(request: Request, scope: ScopeDep, unit: UnitDep,
                     dataset_code: Annotated[str | None, Query(max_length=64)] = None) -> list[UploadBatchOut]:
    scope.require(Permission.CITY_UPLOAD)
    codes = [dataset_code] if dataset_code else await service.uploaded_dataset_codes(unit.db)
    unit.trail.record("city_upload", "UploadBatch", None, detail={"datasets": codes})
    await unit.commit()
    city_url = service.city_database_url(get_settings())
    batches = await service.upload_pending(request.app.state.sessionmaker, codes, city_url, scope.username)
    return [UploadBatchOut.model_validate(b) for b in batches]


@router.get("/batches", response_model=Page[UploadBatchOut], summary="上传批次")
async def list_batches(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                       dataset_code: Annotated[str | None, Query(max_length=64)] = None) -> Page[UploadBatchOut]:
    scope.require(Permission.CITY_UPLOAD)
    query = select(UploadBatch)
    if dataset_code:
        query = query.where(UploadBatch.dataset_code == dataset_code)
    total = await unit.db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await unit.db.scalars(query.order_by(UploadBatch.created_at.desc()).offset(paging.offset)
                                 .limit(paging.page_size))
    return Page(items=[UploadBatchOut.model_validate(b) for b in rows], total=int(total or 0), page=paging.page,
                page_size=paging.page_size)


@router.post("/batches/{batch_id}/resend", response_model=UploadBatchOut, summary="重新上传一个批次（幂等）")
async def resend(batch_id: uuid.UUID, request: Request, scope: ScopeDep, unit: UnitDep) -> UploadBatchOut:
    scope.require(Permission.CITY_UPLOAD)
    unit.trail.record("city_resend", "UploadBatch", batch_id)
    await unit.commit()
    batch = await service.send_batch(request.app.state.sessionmaker, batch_id,
                                     service.city_database_url(get_settings()))
    return UploadBatchOut.model_validate(batch)
