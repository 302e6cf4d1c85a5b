"""Chronic-care API: device readings in (`/api/v1/devices/readings`, device key), and the family doctor's
`/api/v1/chronic/...` (alerts, registered patients, follow-ups, workbench, indicators)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query

from jizuo.apps.chronic import api_more, indicators, readings, service
from jizuo.apps.chronic.schemas import (
    AlertOut,
    AlertPage,
    FollowupIn,
    FollowupOut,
    IndicatorsOut,
    OverdueOut,
    PatientOut,
    PatientPage,
    ReadingBatchIn,
    ReadingBatchOut,
    ReadingIn,
    ReferAlertIn,
    RegisterIn,
)
from jizuo.core.clock import utcnow
from jizuo.core.security import get_field_cipher
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1", tags=["慢病管理与健康驿站"])


@router.post("/devices/readings", response_model=ReadingBatchOut, status_code=201,
             summary="健康驿站设备上传测量数据（单条或批量，设备密钥认证）")
async def post_readings(body: ReadingBatchIn | ReadingIn, unit: UnitDep,
                        x_device_key: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    device, station = await readings.authenticate_device(unit.db, x_device_key)
    items = body.readings if isinstance(body, ReadingBatchIn) else [body]
    result = await readings.ingest_readings(unit.db, unit.trail, get_field_cipher(), device, station, items)
    await unit.commit()
    return result.summary()


@router.get("/chronic/alerts", response_model=AlertPage, summary="我的慢病预警（本团队签约居民）")
async def list_alerts(scope: ScopeDep, unit: UnitDep,
                      status: Literal["open", "acknowledged", "referred"] | None = None,
                      resident_id: uuid.UUID | None = None, offset: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await service.list_alerts(unit.db, unit.trail, scope, status, resident_id, offset, limit)


@router.post("/chronic/alerts/{alert_id}/acknowledge", response_model=AlertOut, summary="确认预警")
async def acknowledge(alert_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.acknowledge_alert(unit.db, unit.trail, scope, alert_id)
    await unit.commit()
    return result


@router.post("/chronic/alerts/{alert_id}/refer", status_code=201, summary="一键转诊（生成转诊草稿）")
async def refer(alert_id: uuid.UUID, body: ReferAlertIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.refer_from_alert(unit.db, unit.trail, scope, get_field_cipher(), alert_id,
                                            body.model_dump())
    await unit.commit()
    return result


@router.post("/chronic/patients", response_model=PatientOut, status_code=201, summary="登记高血压/糖尿病患者")
async def register(body: RegisterIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.register(unit.db, unit.trail, scope, body.resident_id, body.disease, body.registered_on)
    await unit.commit()
    return result


@router.get("/chronic/patients", response_model=PatientPage, summary="我的慢病患者（含风险标记）")
async def list_patients(scope: ScopeDep, unit: UnitDep,
                        disease: Literal["hypertension", "diabetes_t2", "copd"] | None = None,
                        resident_id: uuid.UUID | None = None, q: str | None = None,
                        offset: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await service.list_patients(unit.db, unit.trail, scope, disease, resident_id, q, offset, limit)


@router.get("/chronic/patients/{patient_id}/followups", response_model=list[FollowupOut], summary="随访计划与记录")
async def followups(patient_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await service.list_followups(unit.db, unit.trail, scope, patient_id)


@router.post("/chronic/patients/{patient_id}/followups", response_model=FollowupOut, status_code=201,
             summary="记录一次随访")
async def record_followup(patient_id: uuid.UUID, body: FollowupIn, scope: ScopeDep, unit: UnitDep
                          ) -> dict[str, Any]:
    result = await service.record_followup(unit.db, unit.trail, scope, patient_id, body.model_dump())
    await unit.commit()
    return result


@router.get("/chronic/overdue", response_model=list[OverdueOut], summary="逾期未随访名单")
async def overdue(scope: ScopeDep, unit: UnitDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
                  ) -> list[dict[str, Any]]:
    return await service.overdue(unit.db, unit.trail, scope, limit)


@router.get("/chronic/tasks/today", summary="今日任务：到期随访与未处理预警")
async def today_tasks(scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.today_tasks(unit.db, unit.trail, scope)


@router.get("/chronic/residents/{resident_id}", summary="居民慢病详情（读数趋势、随访、预警）")
async def resident_detail(resident_id: uuid.UUID, scope: ScopeDep, unit: UnitDep,
                          days: Annotated[int, Query(ge=1, le=3650)] = 180) -> dict[str, Any]:
    return await service.resident_detail(unit.db, unit.trail, scope, resident_id, days)


@router.get("/chronic/me", summary="居民本人：我的家庭医生团队、读数、预警与随访计划")
async def my_chronic_care(scope: ScopeDep, unit: UnitDep, days: Annotated[int, Query(ge=1, le=3650)] = 90
                          ) -> dict[str, Any]:
    return await service.my_chronic_care(unit.db, unit.trail, scope, days)


@router.get("/chronic/indicators", response_model=IndicatorsOut, summary="慢病管理指标（团队/中心/全区）")
async def get_indicators(scope: ScopeDep, unit: UnitDep,
                         level: Literal["team", "centre", "district"] = "district",
                         year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    return await indicators.compute(unit.db, scope, year or utcnow().year, level)


# Contracts, devices, COPD, repeat prescriptions, export (api_more.py) share the prefix.
router.include_router(api_more.router)
