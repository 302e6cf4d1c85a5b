"""MPI API: `/api/v1/mpi/...` (JSON, NDJSON) and the FHIR operation `POST /fhir/Patient/$match`.

`fhir_router` must be included before the generic FHIR router, which would otherwise claim
`/fhir/Patient/$match` as an instance-level operation on a Patient with id "$match".
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from jizuo.core.pagination import PageParams, page_params
from jizuo.core.security import get_field_cipher
from jizuo.fhir.api import FhirResponse, base_url, json_body
from jizuo.fhir.errors import FhirError
from jizuo.fhir.personal_data import reveal
from jizuo.fhir.store import get_current
from jizuo.fhir.validation import validate_resource
from jizuo.platform.mpi import repository, service
from jizuo.platform.mpi.golden import MATCH_GRADE_EXTENSION, MPI_PERSON_EXTENSION
from jizuo.platform.mpi.schemas import (
    EventOut,
    LinkIn,
    LinkOut,
    MergeIn,
    PersonOut,
    PersonSummary,
    Reason,
    RecordOut,
    ReviewDecisionIn,
    ReviewDecisionOut,
    ReviewOut,
    ReviewPage,
    SplitIn,
)
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(tags=["主索引 MPI"])
fhir_router = APIRouter(tags=["FHIR R4"])  # included with the FHIR routes, ahead of the generic ones
P = "/api/v1/mpi"


@router.get(P + "/patients/{source_patient_id}", response_model=LinkOut, summary="记录所属人员（person of record R）")
async def person_of_record(source_patient_id: str, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.person_of_record(unit.db, unit.trail, scope, source_patient_id)


@router.get(P + "/persons", response_model=list[PersonSummary], summary="查找人员（人员ID/记录ID/病案号/身份证号）")
async def search_persons(scope: ScopeDep, unit: UnitDep,
                         q: Annotated[str, Query(min_length=1, max_length=64,
                                                 description="人员 ID、源 Patient ID、病案号或身份证号")]
                         ) -> list[dict[str, Any]]:
    return await service.search_persons(unit.db, unit.trail, scope, get_field_cipher(), q)


@router.get(P + "/persons/{person_id}", response_model=PersonOut, summary="人员黄金记录及其全部源记录")
async def read_person(person_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.read_person(unit.db, unit.trail, scope, get_field_cipher(), person_id)


@router.get(P + "/persons/{person_id}/records", response_model=list[RecordOut],
            summary="人员的全部源记录（all source records of person P）")
async def records_of_person(person_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> list[dict[str, Any]]:
    return await service.records_of_person(unit.db, unit.trail, scope, get_field_cipher(), person_id)


@router.get(P + "/persons/{person_id}/fhir", response_class=FhirResponse,
            summary="黄金记录（FHIR Patient，link 指向各源 Patient）")
async def person_as_fhir(person_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> FhirResponse:
    return FhirResponse(await service.person_as_fhir(unit.db, unit.trail, scope, get_field_cipher(), person_id))


@router.get(P + "/links", summary="全部有效关联（NDJSON，批量核对用）",
            response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}})
async def export_links(request: Request, scope: ScopeDep, unit: UnitDep) -> StreamingResponse:
    await service.require_whole_index(unit.db, scope)
    unit.trail.record("mpi_links_export", "MpiLink", None)
    await unit.commit()  # the audit row first; the stream reads on its own session, after this one closes
    factory = request.app.state.sessionmaker

    async def lines() -> AsyncIterator[bytes]:
        async with factory() as db:
            async for row in repository.stream_active_links(db):
                yield orjson.dumps({"source_patient_id": row.patient_id, "person_id": str(row.person_id),
                                    "score": row.score, "method": row.method,
                                    "model_version": row.model_version}) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get(P + "/events", response_model=list[EventOut], summary="主索引事件流（合并/拆分等，供下游订阅）")
async def list_events(scope: ScopeDep, unit: UnitDep, after: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      person_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    return await service.list_events(unit.db, unit.trail, scope, after, limit, person_id)


# --- steward --------------------------------------------------------------------------------------------

@router.get(P + "/reviews", response_model=ReviewPage, summary="待审核匹配队列")
async def list_reviews(scope: ScopeDep, unit: UnitDep, paging: Annotated[PageParams, Depends(page_params)],
                       status: Annotated[str, Query(pattern="^(open|linked|distinct|obsolete)$")] = "open"
                       ) -> dict[str, Any]:
    items, total = await service.list_reviews(unit.db, unit.trail, scope, get_field_cipher(), status,
                                              paging.offset, paging.page_size)
    return {"items": items, "total": total, "page": paging.page, "page_size": paging.page_size}


@router.get(P + "/reviews/{review_id}", response_model=ReviewOut, summary="待审核匹配（并排比较）")
async def read_review(review_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.read_review(unit.db, unit.trail, scope, get_field_cipher(), review_id)


@router.post(P + "/reviews/{review_id}/decision", response_model=ReviewDecisionOut, summary="审核决定：关联或不同人")
async def decide_review(review_id: uuid.UUID, body: ReviewDecisionIn, scope: ScopeDep, unit: UnitDep
                        ) -> dict[str, Any]:
    result = await service.decide_review(unit.db, unit.trail, scope, review_id, body.decision, body.note)
    await unit.commit()
    return result


@router.post(P + "/links", response_model=EventOut, status_code=201, summary="人工关联：把记录关联到人员")
async def link_record(body: LinkIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.link_record(unit.db, unit.trail, scope, body.source_patient_id, body.person_id, body.reason)
    await unit.commit()
    return result


@router.post(P + "/patients/{source_patient_id}/unlink", response_model=EventOut, summary="解除关联（记录自成一人）")
async def unlink_record(source_patient_id: str, body: Reason, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.unlink_record(unit.db, unit.trail, scope, source_patient_id, body.reason)
    await unit.commit()
    return result


@router.post(P + "/persons/{person_id}/merge", response_model=EventOut, summary="合并人员")
async def merge_persons(person_id: uuid.UUID, body: MergeIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.merge_persons(unit.db, unit.trail, scope, person_id, body.into_person_id, body.reason)
    await unit.commit()
    return result


@router.post(P + "/persons/{person_id}/unmerge", response_model=EventOut, summary="撤销最近一次合并")
async def unmerge_person(person_id: uuid.UUID, body: Reason, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.unmerge_person(unit.db, unit.trail, scope, person_id, body.reason)
    await unit.commit()
    return result


@router.post(P + "/persons/{person_id}/split", response_model=EventOut, summary="拆分人员")
async def split_person(person_id: uuid.UUID, body: SplitIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.split_person(unit.db, unit.trail, scope, person_id, body.source_patient_ids, body.reason)
    await unit.commit()
    return result


@router.post(P + "/events/{seq}/revert", response_model=EventOut, summary="撤销一个主索引事件")
async def revert_event(seq: int, body: Reason, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.revert_event(unit.db, unit.trail, scope, seq, body.reason)
    await unit.commit()
    return result


# --- FHIR $match ----------------------------------------------------------------------------------------

def _match_input(body: Any) -> tuple[dict[str, Any], bool, int]:
    if not isinstance(body, dict):
        raise FhirError("请求体必须是 Parameters 或 Patient", code="invalid_match_body")
    if body.get("resourceType") == "Patient":
        return body, False, 10
    if body.get("resourceType") != "Parameters":
        raise FhirError("$match 需要 Parameters（含 resource 参数）", code="invalid_match_body")
    resource, only_certain, count = None, False, 10
    for parameter in body.get("parameter") or []:
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name == "resource":
            resource = parameter.get("resource")
        elif name == "onlyCertainMatches":
            only_certain = bool(parameter.get("valueBoolean"))
        elif name == "count":
            count = int(parameter.get("valueInteger") or 10)
    if not isinstance(resource, dict):
        raise FhirError("$match 缺少 resource 参数（Patient）", code="missing_match_resource",
                        expression=["Parameters.parameter.where(name='resource')"])
    return resource, only_certain, max(1, min(count, 100))


@fhir_router.post("/fhir/Patient/$match", response_class=FhirResponse, summary="Patient/$match（主索引）")
async def patient_match(request: Request, scope: ScopeDep, unit: UnitDep) -> FhirResponse:
    resource, only_certain, count = _match_input(await json_body(request))
    patient = validate_resource({k: v for k, v in resource.items() if k not in ("id", "meta")}, "Patient")
    cipher = get_field_cipher()
    results = await service.match(unit.db, unit.trail, scope, cipher, patient)
    results = [(item, grade) for item, grade in results
               if grade == "certain" or (grade in ("probable", "possible") and not only_certain)][:count]
    entries = []
    for item, grade in results:
        stored = await get_current(unit.db, "Patient", item.patient_id)
        if stored is None or stored.deleted or not stored.resource:
            continue
        shown = reveal(copy.deepcopy(stored.resource), cipher, full=service.reveals(scope))
        shown["extension"] = [*(shown.get("extension") or []),
                              {"url": MPI_PERSON_EXTENSION, "valueString": str(item.person_id)}]
        entries.append({"fullUrl": f"{base_url(request)}/Patient/{item.patient_id}", "resource": shown,
                        "search": {"mode": "match", "score": round(item.probability, 6),
                                   "extension": [{"url": MATCH_GRADE_EXTENSION, "valueCode": grade}]}})
    return FhirResponse({"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
