"""Chronic-care API, part two: family-doctor contracts and their indicators, station devices, COPD
assessments, repeat prescriptions (代配药, the resident's `/chronic/me/...` and the team's review), and the
indicator export. Included into `api.router` (prefix /api/v1)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from jizuo.apps.chronic import (
    contract_indicators,
    contracts,
    copd,
    devices,
    export,
    indicators,
    medication,
    service,
)
from jizuo.apps.chronic.schemas import (
    ContractIn,
    CopdAssessmentIn,
    DeviceIn,
    RefillDecisionIn,
    RefillIn,
    RenewIn,
    TerminateIn,
)
from jizuo.core.clock import utcnow
from jizuo.core.security import get_field_cipher
from jizuo.platform.identity.access import Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(tags=["慢病管理与健康驿站"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Level = Literal["team", "centre", "district"]


# --- contracts ---------------------------------------------------------------------------------------------------

@router.get("/chronic/contract-packages", summary="家庭医生签约服务包目录")
async def packages() -> list[dict[str, Any]]:
    return contracts.package_catalogue()


@router.get("/chronic/contract-teams", summary="可签约的团队（本人所在团队；区级管理员：全部）")
async def contract_teams(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await contracts.my_teams(unit.db, scope)


@router.get("/chronic/contracts", summary="签约列表（本团队）")
async def list_contracts(scope: ScopeDep, unit: UnitDep,
                         status: Literal["draft", "active", "expired", "terminated"] | None = None,
                         team_id: uuid.UUID | None = None, resident_id: uuid.UUID | None = None,
                         q: Annotated[str | None, Query(max_length=50)] = None,
                         offset: Annotated[int, Query(ge=0)] = 0,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await contracts.list_contracts(unit.db, unit.trail, scope, status=status, team_id=team_id,
                                          resident_id=resident_id, q=q, offset=offset, limit=limit)


@router.post("/chronic/contracts", status_code=201, summary="签约（或保存草稿）")
async def sign(body: ContractIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await contracts.sign(unit.db, unit.trail, scope, get_field_cipher(), body.model_dump())
    await unit.commit()
    return result


@router.get("/chronic/contracts/{contract_id}", summary="签约详情")
async def read_contract(contract_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await contracts.read(unit.db, unit.trail, scope, contract_id)


@router.post("/chronic/contracts/{contract_id}/sign", summary="草稿签约生效")
async def activate(contract_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await contracts.activate(unit.db, unit.trail, scope, get_field_cipher(), contract_id)
    await unit.commit()
    return result


@router.post("/chronic/contracts/{contract_id}/renew", status_code=201, summary="续约")
async def renew(contract_id: uuid.UUID, body: RenewIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await contracts.renew(unit.db, unit.trail, scope, get_field_cipher(), contract_id, body.packages)
    await unit.commit()
    return result


@router.post("/chronic/contracts/{contract_id}/terminate", summary="解约")
async def terminate(contract_id: uuid.UUID, body: TerminateIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await contracts.terminate(unit.db, unit.trail, scope, get_field_cipher(), contract_id, body.reason)
    await unit.commit()
    return result


@router.get("/chronic/contract-indicators", summary="签约率、续约率、组合内就诊率")
async def contract_stats(scope: ScopeDep, unit: UnitDep, level: Level = "district",
                         year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    return await contract_indicators.compute(unit.db, scope, level, year or utcnow().year)


@router.get("/chronic/indicators.xlsx", summary="慢病与签约指标导出（Excel）")
async def export_indicators(scope: ScopeDep, unit: UnitDep, level: Level = "district",
                            year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    year = year or utcnow().year
    chronic = await indicators.compute(unit.db, scope, year, level)
    signing = await contract_indicators.compute(unit.db, scope, level, year)
    overdue = None
    if scope.personal_data_reach is not Reach.NONE and scope.can(Permission.CHRONIC_CARE):
        overdue = await service.overdue(unit.db, unit.trail, scope, 1000)
    body = export.workbook(year, level, chronic["rows"], signing["rows"], overdue)
    unit.trail.record("export", "ChronicIndicators", None, detail={"year": year, "level": level,
                                                                    "overdue_rows": len(overdue or [])})
    await unit.commit()
    name = quote(f"慢病与签约指标-{year}-{export.LEVELS[level]}.xlsx")
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


# --- devices -----------------------------------------------------------------------------------------------------

@router.get("/devices", summary="健康驿站设备列表")
async def list_devices(scope: ScopeDep, unit: UnitDep, station_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    return await devices.list_devices(unit.db, unit.trail, scope, station_id)


@router.get("/devices/stations", summary="可登记设备的健康驿站")
async def device_stations(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await devices.stations(unit.db, scope)


@router.post("/devices", status_code=201, summary="登记设备（密钥仅此一次显示）")
async def register_device(body: DeviceIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await devices.register(unit.db, unit.trail, scope, body.station_id, body.code, body.name)
    await unit.commit()
    return result


@router.post("/devices/{device_id}/deactivate", summary="停用设备")
async def deactivate_device(device_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await devices.set_active(unit.db, unit.trail, scope, device_id, False)
    await unit.commit()
    return result


@router.post("/devices/{device_id}/activate", summary="重新启用设备")
async def activate_device(device_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await devices.set_active(unit.db, unit.trail, scope, device_id, True)
    await unit.commit()
    return result


@router.post("/devices/{device_id}/rotate-key", summary="更换设备密钥（新密钥仅此一次显示）")
async def rotate_device_key(device_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await devices.rotate_key(unit.db, unit.trail, scope, device_id)
    await unit.commit()
    return result


# --- COPD ----------------------------------------------------------------------------------------------------------

@router.post("/chronic/patients/{patient_id}/copd-assessments", status_code=201, summary="慢阻肺评估（GOLD 分级）")
async def assess_copd(patient_id: uuid.UUID, body: CopdAssessmentIn, scope: ScopeDep, unit: UnitDep
                      ) -> dict[str, Any]:
    result = await copd.assess(unit.db, unit.trail, scope, patient_id, body.model_dump())
    await unit.commit()
    return result


@router.get("/chronic/patients/{patient_id}/copd-assessments", summary="慢阻肺评估记录")
async def copd_assessments(patient_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await copd.assessments(unit.db, unit.trail, scope, patient_id)


# --- repeat prescriptions (代配药) -----------------------------------------------------------------------------

@router.get("/chronic/me/contract", summary="居民本人：我的家庭医生签约（生效中，否则最近一份；无则 null）")
async def my_contract(scope: ScopeDep, unit: UnitDep) -> dict[str, Any] | None:
    return await contracts.my_contract(unit.db, unit.trail, scope)


@router.get("/chronic/me/medications", summary="居民本人：当前长期用药")
async def my_medications(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await medication.my_medications(unit.db, unit.trail, scope)


@router.get("/chronic/me/medication-requests", summary="居民本人：我的代配药申请")
async def my_refills(scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await medication.my_refills(unit.db, unit.trail, scope)


@router.post("/chronic/me/medication-requests", status_code=201, summary="居民本人（或家属代办）：申请代配药")
async def request_refill(body: RefillIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await medication.request_refill(unit.db, unit.trail, scope, body.model_dump())
    await unit.commit()
    return result


@router.post("/chronic/me/medication-requests/{refill_id}/cancel", summary="居民本人：撤销代配药申请")
async def cancel_refill(refill_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await medication.cancel_refill(unit.db, unit.trail, scope, refill_id)
    await unit.commit()
    return result


@router.get("/chronic/medication-requests", summary="代配药申请（本团队签约居民）")
async def team_refills(scope: ScopeDep, unit: UnitDep,
                       status: Literal["pending", "approved", "rejected", "cancelled"] | None = None
                       ) -> list[dict[str, Any]]:
    return await medication.team_refills(unit.db, unit.trail, scope, status)


@router.post("/chronic/medication-requests/{refill_id}/approve", summary="批准代配药（生成新处方）")
async def approve_refill(refill_id: uuid.UUID, body: RefillDecisionIn, scope: ScopeDep, unit: UnitDep
                         ) -> dict[str, Any]:
    result = await medication.decide(unit.db, unit.trail, scope, get_field_cipher(), refill_id, True, body.note,
                                     body.days)
    await unit.commit()
    return result


@router.post("/chronic/medication-requests/{refill_id}/reject", summary="驳回代配药")
async def reject_refill(refill_id: uuid.UUID, body: RefillDecisionIn, scope: ScopeDep, unit: UnitDep
                        ) -> dict[str, Any]:
    result = await medication.decide(unit.db, unit.trail, scope, get_field_cipher(), refill_id, False, body.note,
                                     None)
    await unit.commit()
    return result
