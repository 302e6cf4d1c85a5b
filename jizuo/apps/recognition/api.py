"""Recognition API: the HIS check (`/api/v1/recognition/check`, and `ServiceRequest/$recognition-check` for
FHIR-speaking HIS), the popup's stored check and decisions, the catalogue, statistics and their Excel export,
and the embed script for HIS pages.

The FHIR operation router must be included before the generic FHIR router (it would claim the path)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from jizuo.apps.recognition import service, stats
from jizuo.apps.recognition.catalogue import retest_reasons
from jizuo.apps.recognition.fhir_operation import check_from_fhir, parameters_of
from jizuo.apps.recognition.listener import make_listener
from jizuo.apps.recognition.schemas import (
    CheckIn,
    CheckOut,
    CheckView,
    DecisionIn,
    InstitutionOut,
    ItemOut,
    ItemUpdate,
    PromptOut,
    ReasonOut,
    StatsOut,
)
from jizuo.core.security import get_field_cipher
from jizuo.fhir.api import FhirResponse, json_body
from jizuo.platform import fhir_access
from jizuo.platform.request import ScopeDep, UnitDep

# Every FHIR write made through the platform's FHIR context keeps the projection current.
if make_listener not in fhir_access.EXTRA_LISTENER_FACTORIES:
    fhir_access.EXTRA_LISTENER_FACTORIES.append(make_listener)

router = APIRouter(tags=["检查检验结果互认"])
fhir_router = APIRouter(tags=["检查检验结果互认", "FHIR R4"])  # included ahead of the generic FHIR routes
P = "/api/v1/recognition"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SNIPPET = (Path(__file__).parent / "popup.js").read_text(encoding="utf-8")


@router.post(P + "/check", response_model=CheckOut, summary="开单互认检查（HIS 调用）")
async def check(body: CheckIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.check(unit.db, unit.trail, scope, get_field_cipher(), body.model_dump())
    await unit.commit()
    return result


@fhir_router.post("/fhir/ServiceRequest/$recognition-check", response_class=FhirResponse,
             summary="互认检查（FHIR 操作，输入 ServiceRequest 或 Parameters）")
async def fhir_check(request: Request, scope: ScopeDep, unit: UnitDep) -> FhirResponse:
    payload = check_from_fhir(await json_body(request), scope)
    result = await service.check(unit.db, unit.trail, scope, get_field_cipher(), payload)
    await unit.commit()
    return FhirResponse(parameters_of(result))


@router.get(P + "/checks/{check_id}", response_model=CheckView, summary="互认提示详情（弹窗）")
async def read_check(check_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.read_check(unit.db, unit.trail, scope, check_id)


@router.post(P + "/prompts/{prompt_id}/decision", response_model=PromptOut, summary="医生决定：互认或复查（附理由）")
async def decide(prompt_id: uuid.UUID, body: DecisionIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.decide(unit.db, unit.trail, scope, prompt_id, body.model_dump())
    await unit.commit()
    return result


@router.get(P + "/reasons", response_model=list[ReasonOut], summary="复查理由（国卫医发〔2022〕6号）")
async def reasons(scope: ScopeDep) -> list[dict[str, str]]:
    return list(retest_reasons().values())


@router.get(P + "/items", response_model=list[ItemOut], summary="互认项目目录")
async def list_items(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await stats.list_items(unit.db, scope)


@router.patch(P + "/items/{code}", response_model=ItemOut, summary="修改互认项目（时限、等级、价格、代码映射）")
async def update_item(code: str, body: ItemUpdate, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await stats.update_item(unit.db, unit.trail, scope, code, body.model_dump(exclude_unset=True))
    await unit.commit()
    return result


@router.get(P + "/institutions", response_model=list[InstitutionOut], summary="互认机构名单")
async def list_institutions(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await stats.list_institutions(unit.db, scope)


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    end = end or service.utcnow().astimezone(service.LOCAL_TZ).date()
    return start or end - timedelta(days=29), end


@router.get(P + "/statistics", response_model=StatsOut, summary="互认统计（按机构/科室/医生/项目/日期/复查理由）")
async def statistics(scope: ScopeDep, unit: UnitDep,
                     group: Annotated[str, Query(description="organization|department|doctor|item|day|reason")]
                     = "organization",
                     start: date | None = None, end: date | None = None) -> dict[str, Any]:
    first, last = _period(start, end)
    return await stats.statistics(unit.db, unit.trail, scope, group, first, last)


@router.get(P + "/statistics.xlsx", summary="互认统计导出（Excel）")
async def statistics_export(scope: ScopeDep, unit: UnitDep, start: date | None = None, end: date | None = None
                            ) -> Response:
    first, last = _period(start, end)
    body = await stats.export_workbook(unit.db, unit.trail, scope, first, last)
    name = quote(f"检查检验结果互认统计-{first}-{last}.xlsx")
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@router.get(P + "/popup.js", summary="HIS 嵌入脚本（打开互认弹窗，接收医生决定）", response_class=Response)
async def popup_script() -> Response:
    return Response(_SNIPPET, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})
