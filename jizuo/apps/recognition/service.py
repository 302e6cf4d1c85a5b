"""Rules of result mutual recognition: who may check, which prior results count, decisions. Never commits.

A prior result counts for an ordered item when it maps to the same catalogue item, belongs to the same person
(any of the person's source records in the MPI, whichever institution registered them), lies within the item's
window (calendar days in Asia/Shanghai: a 14-day window recognises a result from 14 days ago, not from 15), and
comes from a participating institution of the same or higher level than the ordering one and at least the
item's minimum level — with current quality-control certification when the item needs it.

Access: results of other institutions are shown only in a treatment context — the caller is a clinician of the
ordering institution, and the patient is registered there (has an MPI source record of that institution).
Every check and every view of a stored check is audited with the reports shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.encoders import jsonable_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition import repository
from jizuo.apps.recognition.catalogue import CodeMap, retest_reasons
from jizuo.apps.recognition.extract import value_of
from jizuo.apps.recognition.models import RecognitionResult
from jizuo.apps.recognition.repository import Institution
from jizuo.core.clock import utcnow
from jizuo.core.errors import BadRequest, Conflict, NotFound, PermissionDenied
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.fhir.validation import ID_CARD_SYSTEMS
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MATCHES_PER_ITEM = 5
POPUP_PATH = "/ui/recognition/popup"


def window_start(now: datetime, days: int) -> datetime:
    """The earliest moment a result may have and still count: midnight (Shanghai) `days` days ago."""
    today = now.astimezone(LOCAL_TZ).date()
    return datetime.combine(today - timedelta(days=days), time(0), LOCAL_TZ).astimezone(UTC)


def _ordering_institution(orgs: dict[str, Institution], ordering: str) -> Institution:
    key = ordering.removeprefix("Organization/")
    found = orgs.get(key) or next((o for o in orgs.values() if o.code == key), None)
    if found is None:
        raise BadRequest(f"开单机构 {ordering} 不在机构注册库中", code="unknown_organization")
    return found


def _require_treating(scope: AccessScope, ordering: Institution) -> None:
    scope.require(Permission.RECOGNITION_CHECK)
    if scope.role != Role.DISTRICT_ADMIN and str(scope.organization_id) != ordering.id:
        raise PermissionDenied("只能为本机构的就诊患者查询互认结果", code="not_ordering_institution")


@dataclass
class Patient:
    person_id: uuid.UUID | None
    patient_ids: list[str]
    registered_here: str | None  # the patient's record at the ordering institution


async def _find_patient(db: AsyncSession, cipher: FieldCipher, request: dict[str, Any], ordering: Institution
                        ) -> Patient:
    persons: list[uuid.UUID] = []
    direct: str | None = None
    if request.get("person_id"):
        persons = [request["person_id"]]
    elif request.get("identifier"):
        identifier = request["identifier"]
        value = identifier["value"].strip()
        if identifier.get("system") in ID_CARD_SYSTEMS or (not identifier.get("system") and len(value) == 18):
            persons = await repository.persons_by_id_card(db, cipher.blind_index(value))
        else:  # the ordering institution's own patient number (MRN / 门诊号)
            persons = await repository.persons_by_mrn(db, value, ordering.id, ordering.code)
    elif request.get("patient_id"):
        direct = request["patient_id"].removeprefix("Patient/")
        person = await repository.person_of_patient(db, direct)
        persons = [person] if person else []
    else:
        raise BadRequest("patient 需提供 identifier、person_id 或 patient_id 之一", code="patient_missing")
    if len(persons) > 1:
        raise Conflict("该标识对应主索引中的多个人员，请使用人员 ID 或本机构病案号", code="ambiguous_patient")
    if not persons:
        if direct:  # not linked (yet): the record alone
            return Patient(None, [direct], None)
        raise NotFound("主索引中未找到该患者", code="patient_not_found")
    records = await repository.records_of_person(db, persons[0])
    if not records:
        raise NotFound("主索引中未找到该患者", code="patient_not_found")
    here = next((r.patient_id for r in records
                 if r.institution_id == ordering.id or r.institution_code == ordering.code), None)
    return Patient(persons[0], [r.patient_id for r in records], here)


def _counts(result: RecognitionResult, ordering: Institution, orgs: dict[str, Institution], rule_rank: int,
            needs_qc: bool) -> bool:
    org = orgs.get(str(result.organization_id)) if result.organization_id else None
    if org is None or not org.participating:
        return False
    return org.rank >= max(ordering.rank, rule_rank) and (org.qc_certified or not needs_qc)


async def _observations(db: AsyncSession, reports: list[RecognitionResult]) -> dict[str, list[dict[str, Any]]]:
    """The analyte values of matched reports (reports only hold references to them)."""
    report_ids = sorted({r.resource_id for r in reports if r.resource_type == "DiagnosticReport"}
                        | {r.report_id for r in reports if r.report_id})
    stored = await repository.resources(db, "DiagnosticReport", report_ids)
    wanted: dict[str, list[str]] = {}
    for report_id, resource in stored.items():
        wanted[report_id] = [str(ref.get("reference", "")).removeprefix("Observation/")
                             for ref in resource.get("result") or [] if isinstance(ref, dict)]
    observations = await repository.resources(db, "Observation", sorted({o for ids in wanted.values() for o in ids}))
    shown: dict[str, list[dict[str, Any]]] = {}
    for report_id, ids in wanted.items():
        for oid in ids:
            observation = observations.get(oid)
            if observation is None:
                continue
            coding: dict[str, Any] = next(iter((observation.get("code") or {}).get("coding") or []), {})
            value, unit, reference_range = value_of(observation)
            shown.setdefault(report_id, []).append({
                "reference": f"Observation/{oid}", "code": coding.get("code"),
                "display": (observation.get("code") or {}).get("text") or coding.get("display"),
                "value": value, "unit": unit, "reference_range": reference_range})
    return shown


def _match(result: RecognitionResult, orgs: dict[str, Institution], observations: dict[str, list[dict[str, Any]]]
           ) -> dict[str, Any]:
    org = orgs.get(str(result.organization_id))
    report = result.resource_id if result.resource_type == "DiagnosticReport" else result.report_id
    shown = observations.get(report or "", [])
    if result.resource_type == "Observation":
        shown = [o for o in shown if o["reference"] == f"Observation/{result.resource_id}"] or [{
            "reference": f"Observation/{result.resource_id}", "code": None, "display": None, "value": result.value,
            "unit": result.unit, "reference_range": result.reference_range}]
    return {
        "report": f"DiagnosticReport/{report}" if report else f"{result.resource_type}/{result.resource_id}",
        "observations": shown, "effective": result.effective_at,
        "organization": f"Organization/{result.organization_id}", "organization_name": org.name if org else None,
        "level": org.level if org else None, "value": result.value, "unit": result.unit,
        "reference_range": result.reference_range, "conclusion": result.conclusion,
    }


async def check(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher, request: dict[str, Any]
                ) -> dict[str, Any]:
    orgs = await repository.institutions(db)
    ordering = _ordering_institution(orgs, request["ordering_organization"])
    _require_treating(scope, ordering)
    patient = await _find_patient(db, cipher, request["patient"], ordering)
    if patient.registered_here is None and scope.role != Role.DISTRICT_ADMIN:
        audit.record("recognition_check", "Patient", patient.patient_ids[0], "denied",
                     {"reason": "not_registered_here", "organization": ordering.code})
        raise PermissionDenied("患者未在本机构登记就诊，不能查看其在其他机构的结果", code="not_treating")
    codes = await repository.load_code_map(db)
    ordered = [(entry["system"], entry["code"], codes.item_of(entry["system"], entry["code"], ordering.code))
               for entry in request["items"]]
    now = utcnow()
    wanted = {item for _, _, item in ordered if item}
    since = min((window_start(now, codes.items[i].window_days) for i in wanted), default=now)
    found = await repository.prior_results(db, patient.patient_ids, sorted(wanted), since)
    by_item: dict[str, list[RecognitionResult]] = {}
    for result in found:
        rule = codes.items[result.item_code]
        if result.effective_at >= window_start(now, rule.window_days) and _counts(
                result, ordering, orgs, rule.min_rank, rule.needs_qc):
            matches = by_item.setdefault(result.item_code, [])
            if len(matches) < MATCHES_PER_ITEM:
                matches.append(result)
    observations = await _observations(db, [r for rows in by_item.values() for r in rows])
    check_id = uuid.uuid4()
    items: list[dict[str, Any]] = []
    prompts: list[dict[str, Any]] = []
    for system, code, item in ordered:
        items.append(_item_result(codes, system, code, item, by_item.get(item or "", []), orgs, observations))
        if items[-1]["recognisable"] and not any(p["item_code"] == item for p in prompts):
            prompt_id = uuid.uuid4()
            items[-1]["prompt_id"] = prompt_id
            prompts.append({"id": prompt_id, "check_id": check_id, "organization_id": uuid.UUID(ordering.id),
                            "department_code": request.get("department"), "practitioner": request.get("practitioner"),
                            "item_code": item, "price": codes.items[item or ""].price,
                            "matches": len(items[-1]["matches"])})
    response = {"check_id": check_id, "person_id": patient.person_id,
                "popup_url": f"{POPUP_PATH}?check={check_id}" if prompts else None, "items": items}
    if prompts:
        await repository.add_check(db, {
            "id": check_id, "organization_id": uuid.UUID(ordering.id), "department_code": request.get("department"),
            "practitioner": request.get("practitioner"), "username": scope.username, "person_id": patient.person_id,
            "patient_id": patient.registered_here or patient.patient_ids[0], "encounter": request.get("encounter"),
            "response": jsonable_encoder(response)}, prompts)
    shown = sorted({m["report"] for i in items for m in i["matches"]})
    audit.record("recognition_check", "Patient", patient.registered_here or patient.patient_ids[0], "success", {
        "organization": ordering.code, "items": [c for _, c, _ in ordered], "shown": shown,
        "check": str(check_id) if prompts else None, "person": str(patient.person_id) if patient.person_id else None})
    return response


def _item_result(codes: CodeMap, system: str | None, code: str, item: str | None, matches: list[RecognitionResult],
                 orgs: dict[str, Institution], observations: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    rule = codes.items.get(item or "")
    return {"system": system, "code": code, "item": item, "item_name": rule.name if rule else None,
            "recognisable": bool(matches), "window_days": rule.window_days if rule else None, "prompt_id": None,
            "matches": [_match(m, orgs, observations) for m in matches],
            "note": None if rule else "该项目不在互认目录中"}


# --- the popup: a stored check and its decisions ------------------------------------------------------


async def _check_in_reach(db: AsyncSession, scope: AccessScope, check_id: uuid.UUID) -> Any:
    scope.require(Permission.RECOGNITION_CHECK)
    check_row = await repository.get_check(db, check_id)
    if check_row is None or (scope.role != Role.DISTRICT_ADMIN and scope.organization_id != check_row.organization_id):
        raise NotFound("互认提示不存在", code="check_not_found")
    return check_row


def prompt_view(prompt: Any) -> dict[str, Any]:
    return {"id": prompt.id, "item_code": prompt.item_code, "decision": prompt.decision, "reason": prompt.reason,
            "note": prompt.note, "recognised_report": prompt.recognised_report, "decided_at": prompt.decided_at,
            "decided_by": prompt.decided_by}


async def read_check(db: AsyncSession, audit: AuditSink, scope: AccessScope, check_id: uuid.UUID) -> dict[str, Any]:
    check_row = await _check_in_reach(db, scope, check_id)
    prompts = await repository.prompts_of_check(db, check_id)
    audit.record("recognition_view", "Patient", check_row.patient_id, "success", {"check": str(check_id)})
    return {**check_row.response, "at": check_row.at, "organization_id": check_row.organization_id,
            "prompts": [prompt_view(p) for p in prompts]}


async def decide(db: AsyncSession, audit: AuditSink, scope: AccessScope, prompt_id: uuid.UUID, decision: dict[str, Any]
                 ) -> dict[str, Any]:
    scope.require(Permission.RECOGNITION_CHECK)
    prompt = await repository.get_prompt(db, prompt_id, for_update=True)
    if prompt is None:
        raise NotFound("互认提示不存在", code="prompt_not_found")
    check_row = await _check_in_reach(db, scope, prompt.check_id)
    if prompt.decision is not None:
        raise Conflict("该项目已作出互认决定", code="already_decided")
    reason = decision.get("reason")
    if decision["decision"] == "retested":
        if reason not in retest_reasons():
            raise BadRequest("复查须选择国家规定的复查理由之一", code="retest_reason_required")
        if reason == "other_clinical" and not (decision.get("note") or "").strip():
            raise BadRequest("选择“其他临床确需复查的情形”时须填写说明", code="retest_note_required")
    elif reason:
        raise BadRequest("互认时无需复查理由", code="reason_not_applicable")
    report = decision.get("report")
    shown = {m["report"] for i in check_row.response["items"] if i.get("item") == prompt.item_code
             for m in i["matches"]}
    if decision["decision"] == "recognised":
        if report and report not in shown:
            raise BadRequest("采纳的报告不在本次提示的结果中", code="unknown_report")
        report = report or (sorted(shown)[0] if shown else None)
    else:
        report = None
    values = {"decision": decision["decision"], "reason": reason, "note": decision.get("note"),
              "recognised_report": report, "decided_at": utcnow(), "decided_by": scope.username}
    await repository.decide(db, prompt_id, values)
    audit.record("recognition_decide", "Patient", check_row.patient_id, "success",
                 {"prompt": str(prompt_id), "item": prompt.item_code, "decision": decision["decision"],
                  "reason": reason, "report": report})
    return {"id": prompt.id, "item_code": prompt.item_code, **values}
