"""Quality API: the quarantine (list, fix, discard), scorecards and the monthly report."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from jizuo.core.clock import SHANGHAI, utcnow
from jizuo.core.errors import ValidationFailed
from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.platform.identity.roles import Permission
from jizuo.platform.ingest import service as ingest
from jizuo.platform.ingest.schemas import QuarantinedRecord, RecordDiscard, RecordFix
from jizuo.platform.quality import repository
from jizuo.platform.quality.report import monthly_workbook
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/quality", tags=["数据质控 quality"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/quarantine", response_model=Page[QuarantinedRecord], summary="隔离区记录（含未通过的规则）")
async def quarantine(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                     batch_id: uuid.UUID | None = None,
                     dataset_code: Annotated[str | None, Query(max_length=64)] = None) -> Page[QuarantinedRecord]:
    items, total = await ingest.list_quarantine(unit.db, scope, unit.trail, batch_id=batch_id,
                                                dataset_code=dataset_code, offset=paging.offset,
                                                limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.patch("/quarantine/{record_id}", response_model=QuarantinedRecord,
              summary="修正隔离记录并重新校验（通过则入库放行）")
async def fix(record_id: int, body: RecordFix, scope: ScopeDep, unit: UnitDep) -> QuarantinedRecord:
    out = await ingest.fix_record(unit.db, scope, unit.trail, record_id, body.fields)
    await unit.commit()
    return out


@router.post("/quarantine/{record_id}/discard", response_model=QuarantinedRecord, summary="作废隔离记录（保留备查）")
async def discard(record_id: int, body: RecordDiscard, scope: ScopeDep, unit: UnitDep) -> QuarantinedRecord:
    out = await ingest.discard_record(unit.db, scope, unit.trail, record_id, body.reason)
    await unit.commit()
    return out


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    today = utcnow().astimezone(SHANGHAI).date()
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise ValidationFailed("开始日期不能晚于结束日期", code="bad_period")
    if (end - start).days > 366:
        raise ValidationFailed("统计区间最长一年", code="period_too_long")
    return start, end


@router.get("/scorecards", summary="数据质量评分（按机构 / 数据集 / 日）")
async def scorecards(scope: ScopeDep, unit: UnitDep,
                     group_by: Annotated[repository.GroupBy, Query(description="分组")] = "institution",
                     start: Annotated[date | None, Query(alias="from")] = None,
                     end: Annotated[date | None, Query(alias="to")] = None,
                     institution_id: uuid.UUID | None = None,
                     dataset_code: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    scope.require(Permission.QUALITY_READ)
    first, last = _period(start, end)
    rows = await repository.scorecard(unit.db, scope, group_by=group_by, start=first, end=last,
                                      institution_id=institution_id, dataset_code=dataset_code)
    return {"from": first, "to": last, "group_by": group_by, "items": rows}


@router.get("/report.xlsx", summary="数据质量月报（Excel）")
async def monthly_report(scope: ScopeDep, unit: UnitDep,
                         month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="月份，如 2026-11")]
                         ) -> Response:
    scope.require(Permission.QUALITY_READ)
    year, mon = (int(x) for x in month.split("-"))
    if not 1 <= mon <= 12:
        raise ValidationFailed("月份无效", code="bad_month")
    first = date(year, mon, 1)
    last = (date(year + mon // 12, mon % 12 + 1, 1)) - timedelta(days=1)
    by_institution = await repository.scorecard(unit.db, scope, group_by="institution", start=first, end=last)
    detail = await repository.scorecard(unit.db, scope, group_by="institution_dataset", start=first, end=last)
    by_day = await repository.scorecard(unit.db, scope, group_by="day", start=first, end=last)
    body = monthly_workbook(month, by_institution, detail, by_day)
    unit.trail.record("export", "QualityReport", month)
    name = quote(f"数据质量月报-{month}.xlsx")
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})
