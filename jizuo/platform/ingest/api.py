"""Ingestion API: data-set files from institutions (CSV/XLSX) with receipts, batch history, retry."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from jizuo.core.errors import BadRequest, Conflict
from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.identity.roles import Permission
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest import service
from jizuo.platform.ingest.compiled import compiled_dataset
from jizuo.platform.ingest.fhir_ingest import ingest_bundle
from jizuo.platform.ingest.pipeline import process_batch
from jizuo.platform.ingest.schemas import BatchOut, Receipt
from jizuo.platform.ingest.tabular import read_table
from jizuo.platform.quality.engine import header_map
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/ingest", tags=["数据采集 ingest"])
MAX_UPLOAD = 64 * 1024 * 1024


@router.post("/datasets/{dataset_code}", response_model=Receipt, summary="上传数据集文件（CSV/XLSX），返回回执")
async def upload_dataset(dataset_code: str, request: Request, scope: ScopeDep, unit: UnitDep,
                         file: Annotated[UploadFile, File(description="CSV（UTF-8 或 GB18030）或 XLSX 文件")],
                         institution: Annotated[str | None, Query(max_length=32,
                                                                  description="机构编码（区级管理员代报时）")] = None,
                         ) -> Receipt:
    institution_id = await service.submitting_institution(unit.db, scope, institution)
    payload = await file.read(MAX_UPLOAD + 1)
    if len(payload) > MAX_UPLOAD:
        raise BadRequest("文件超过 64 MB，请拆分后上传", code="file_too_large")
    compiled = await compiled_dataset(unit.db, dataset_code)
    table = read_table(payload, file.filename, file.content_type)
    fields = header_map(compiled.validator.data_set, compiled.catalogue, table.headers)
    present = set(fields.values())
    notes = {
        "encoding": table.encoding,
        "ignored_columns": [h for h in table.headers if h not in fields],
        "missing_required": [f.name for f in compiled.validator.data_set.fields
                             if f.required and f.name not in present],
        "rules": compiled.validator.rule_count,
    }
    batch = await repo.create_batch(unit.db, source="xlsx" if table.encoding == "xlsx" else "csv",
                                    dataset_code=compiled.validator.data_set.code, institution_id=institution_id,
                                    filename=(file.filename or "")[:200] or None, submitted_by=scope.username,
                                    status="received", payload=payload, notes=notes)
    unit.trail.record("ingest_upload", "IngestBatch", batch.id, detail={"dataset": dataset_code,
                                                                        "rows": len(table.rows)})
    batch_id = batch.id
    await unit.commit()  # the file is held before any row is processed: a stop now loses nothing
    await process_batch(request.app.state.sessionmaker, batch_id, table=table)
    unit.db.expire_all()  # the batch's counts were written by the pipeline's own transactions
    return await service.receipt(unit.db, scope, batch_id)


@router.get("/batches", response_model=Page[BatchOut], summary="上传批次列表")
async def list_batches(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                       dataset_code: Annotated[str | None, Query(max_length=64)] = None) -> Page[BatchOut]:
    scope.require(Permission.QUALITY_READ)
    batches, total = await repo.list_batches(unit.db, scope, dataset_code=dataset_code, offset=paging.offset,
                                             limit=paging.page_size)
    names = await repo.organization_names(unit.db, {b.institution_id for b in batches})
    return Page(items=[service.batch_out(b, names) for b in batches], total=total, page=paging.page,
                page_size=paging.page_size)


@router.get("/batches/{batch_id}", response_model=Receipt, summary="批次回执")
async def batch_receipt(batch_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> Receipt:
    return await service.receipt(unit.db, scope, batch_id)


@router.post("/batches/{batch_id}/retry", response_model=Receipt, summary="重试未完成或失败的批次（从断点继续）")
async def retry_batch(batch_id: uuid.UUID, request: Request, scope: ScopeDep, unit: UnitDep) -> Receipt:
    scope.require(Permission.INGEST_WRITE)
    batch = await service.visible_batch(unit.db, scope, batch_id)
    if batch.status == "done" or batch.payload is None:
        raise Conflict("该批次已处理完成，无需重试", code="batch_done")
    batch.status, batch.error = "processing", None
    unit.trail.record("ingest_retry", "IngestBatch", batch.id)
    await unit.commit()
    await process_batch(request.app.state.sessionmaker, batch_id)
    unit.db.expire_all()
    return await service.receipt(unit.db, scope, batch_id)


@router.post("/fhir", response_model=Receipt, summary="提交 FHIR Bundle（逐条按数据标准质控，未通过的进入隔离区）")
async def upload_fhir(request: Request, scope: ScopeDep, unit: UnitDep,
                      institution: Annotated[str | None, Query(max_length=32,
                                                               description="机构编码（区级管理员代报时）")] = None,
                      ) -> Receipt:
    institution_id = await service.submitting_institution(unit.db, scope, institution)
    body = await request.body()
    if len(body) > MAX_UPLOAD:
        raise BadRequest("Bundle 超过 64 MB，请拆分后提交", code="file_too_large")
    try:
        bundle = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"请求体不是合法的 JSON：{exc}", code="bad_json") from None
    batch_id = await ingest_bundle(unit.db, unit.trail, scope.username, institution_id, bundle)
    await unit.commit()
    return await service.receipt(unit.db, scope, batch_id)
