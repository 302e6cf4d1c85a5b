"""Referral API (`/api/v1/referrals`): create, inbox/outbox, detail with timeline, one POST per transition,
the patient lookup of the create form and the family doctor's follow-up tasks."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jizuo.apps.referral import attachments, loop, patients, service, slots, stats, visits
from jizuo.apps.referral.schemas import (
    ActionIn,
    FollowupOut,
    FollowupPage,
    PatientOut,
    ReferralIn,
    ReferralOut,
    ReferralPage,
    SlotEdit,
    SlotOut,
    SlotsIn,
)
from jizuo.core.clock import today_in_shanghai
from jizuo.core.security import get_field_cipher
from jizuo.platform import fhir_listeners
from jizuo.platform.identity.roles import Permission
from jizuo.platform.request import ScopeDep, UnitDep

# Loop closing: every Encounter written through a FHIR context, or bulk-imported, reaches `loop.py`.
if loop.make_listener not in fhir_listeners.EXTRA_LISTENER_FACTORIES:
    fhir_listeners.EXTRA_LISTENER_FACTORIES.append(loop.make_listener)
loop.register_bulk_import_hook()  # (the CLI registers it earlier, after the MPI's)

router = APIRouter(prefix="/api/v1/referrals", tags=["双向转诊"])
Action = Literal["submit", "accept", "reject", "schedule", "arrive", "complete", "cancel", "no_show"]


@router.post("", response_model=ReferralOut, status_code=201, summary="新建转诊（默认直接提交）")
async def create(body: ReferralIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.create_referral(unit.db, unit.trail, scope, get_field_cipher(), body.model_dump())
    await unit.commit()
    return result


@router.get("", response_model=ReferralPage, summary="转诊收件箱/发件箱")
async def list_referrals(scope: ScopeDep, unit: UnitDep,
                         box: Annotated[Literal["inbox", "outbox", "all"], Query()] = "inbox",
                         mine: bool = False, organization_id: uuid.UUID | None = None,
                         status: Annotated[list[str] | None, Query()] = None,
                         direction: str | None = None, type: str | None = None, q: str | None = None,
                         offset: Annotated[int, Query(ge=0)] = 0,
                         limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    return await service.list_referrals(unit.db, unit.trail, scope, {
        "box": box, "mine": mine, "organization_id": organization_id, "status": status or [],
        "direction": direction, "type": type, "q": q, "offset": offset, "limit": limit})


@router.get("/patient-lookup", response_model=PatientOut, summary="按身份证号查找患者（经主索引）")
async def patient_lookup(id_number: str, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    scope.require(Permission.REFERRAL_WRITE)
    found = await patients.by_id_number(unit.db, get_field_cipher(), id_number)
    unit.trail.record("read", "Patient", found.patient_id, detail={"by": "id_number", "via": "referral"})
    resident = found.resident
    return {"patient_id": found.patient_id, "name": found.name, "gender": found.gender,
            "birth_date": found.birth_date, "resident_id": resident.id if resident else None,
            "signed_team_id": resident.signed_team_id if resident else None,
            "home_organization_id": resident.home_organization_id if resident else None}


@router.get("/followups", response_model=FollowupPage, summary="下转随访任务（家庭医生团队）")
async def followups(scope: ScopeDep, unit: UnitDep, status: str | None = None,
                    offset: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await service.list_followups(unit.db, unit.trail, scope, status, offset, limit)


@router.post("/followups/{followup_id}/done", response_model=FollowupOut, summary="随访任务完成")
async def followup_done(followup_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.finish_followup(unit.db, unit.trail, scope, followup_id)
    await unit.commit()
    return result


@router.post("/slots", response_model=list[SlotOut], status_code=201, summary="发布号源（转诊门诊/专家门诊）")
async def publish_slots(body: SlotsIn, scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    result = await slots.publish(unit.db, unit.trail, scope, body.model_dump())
    await unit.commit()
    return result


@router.get("/slots", response_model=list[SlotOut], summary="号源列表（他院只见空闲号源）")
async def list_slots(scope: ScopeDep, unit: UnitDep, organization_id: uuid.UUID | None = None, free: bool = False,
                     start: datetime | None = None, end: datetime | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    return await slots.list_slots(unit.db, scope, organization_id, free, start, end, limit)


@router.patch("/slots/{slot_id}", response_model=SlotOut, summary="修改号源（未被预约时）")
async def edit_slot(slot_id: uuid.UUID, body: SlotEdit, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await slots.edit(unit.db, unit.trail, scope, slot_id, body.model_dump())
    await unit.commit()
    return result


@router.post("/slots/{slot_id}/withdraw", response_model=SlotOut, summary="撤回号源（停诊，未被预约时）")
async def withdraw_slot(slot_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await slots.withdraw(unit.db, unit.trail, scope, slot_id)
    await unit.commit()
    return result


@router.get("/statistics", summary="转诊统计（按机构：上转/下转、接收率、接收与完成用时）")
async def statistics(scope: ScopeDep, unit: UnitDep, start: date | None = None, end: date | None = None
                     ) -> dict[str, Any]:
    last = end or today_in_shanghai()
    return await stats.statistics(unit.db, unit.trail, scope, start or last - timedelta(days=29), last)


@router.get("/statistics.xlsx", summary="转诊统计导出（Excel）")
async def statistics_export(scope: ScopeDep, unit: UnitDep, start: date | None = None, end: date | None = None
                            ) -> Response:
    last = end or today_in_shanghai()
    first = start or last - timedelta(days=29)
    body = await stats.export_workbook(unit.db, unit.trail, scope, first, last)
    name = quote(f"双向转诊统计-{first}-{last}.xlsx")
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


@router.get("/visits", summary="签约居民的院外就诊记录（家庭医生）")
async def list_visits(scope: ScopeDep, unit: UnitDep,
                      visit_class: Annotated[Literal["outpatient", "inpatient", "emergency", "other"] | None,
                                             Query()] = None,
                      offset: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    return await visits.list_visits(unit.db, unit.trail, scope, visit_class=visit_class, offset=offset,
                                    limit=limit)


@router.get("/{referral_id}", response_model=ReferralOut, summary="转诊详情（含时间线）")
async def read(referral_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.read_referral(unit.db, unit.trail, scope, referral_id)


class LinkIn(BaseModel):
    reference: str = Field(max_length=140, description="DiagnosticReport/<id> 或 DocumentReference/<id>")
    title: str | None = Field(None, max_length=200)


@router.get("/{referral_id}/attachments", summary="转诊附件列表")
async def list_attachments(referral_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await attachments.list_attachments(unit.db, unit.trail, scope, referral_id)


@router.post("/{referral_id}/attachments", status_code=201, summary="上传附件（PDF/图片，≤10 MB）")
async def upload_attachment(referral_id: uuid.UUID, scope: ScopeDep, unit: UnitDep,
                            file: Annotated[UploadFile, File()],
                            title: Annotated[str | None, Form(max_length=200)] = None) -> dict[str, Any]:
    data = await file.read(attachments.MAX_BYTES + 1)
    result = await attachments.upload(unit.db, unit.trail, scope, referral_id, file.filename or "", title, data)
    await unit.commit()
    return result


@router.post("/{referral_id}/attachments/link", status_code=201, summary="关联患者已有的报告或文档")
async def link_attachment(referral_id: uuid.UUID, body: LinkIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await attachments.link(unit.db, unit.trail, scope, referral_id, body.reference, body.title)
    await unit.commit()
    return result


@router.get("/{referral_id}/attachments/{attachment_id}/content", summary="下载附件")
async def attachment_content(referral_id: uuid.UUID, attachment_id: uuid.UUID, scope: ScopeDep,
                             unit: UnitDep) -> Response:
    data, content_type, title = await attachments.content(unit.db, unit.trail, scope, referral_id, attachment_id)
    return Response(data, media_type=content_type,
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(title)}"})


@router.post("/{referral_id}/{action}", response_model=ReferralOut, summary="转诊状态流转")
async def transition(referral_id: uuid.UUID, action: Action, scope: ScopeDep, unit: UnitDep,
                     body: ActionIn | None = None) -> dict[str, Any]:
    body = body or ActionIn()
    data = body.model_dump()
    if body.down_referral is not None:
        data["down_referral"] = body.down_referral.model_dump()
    result = await service.act(unit.db, unit.trail, scope, get_field_cipher(), referral_id, action, data)
    await unit.commit()
    return result
