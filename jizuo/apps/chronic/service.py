"""Chronic-care rules: alerts (list, acknowledge, refer), registration, follow-up plans and forms, the family
doctor's worklist. Never commits.

Follow-up plan (规范 第三版): at least four face-to-face follow-ups a year — registration plans one every
quarter; a visit whose classification is not 控制满意 adds a recheck two weeks later.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import repository, rules
from jizuo.apps.chronic.models import ChronicAlert, ChronicFollowup, ChronicPatient
from jizuo.apps.referral import service as referral_service
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission
from jizuo.platform.residents.models import Resident

_ALERT_NOT_FOUND = "预警不存在或不属于您的签约居民"
_PATIENT_NOT_FOUND = "慢病患者不存在或不属于您的签约居民"
QUARTER_DAYS = 91


def alert_view(alert: ChronicAlert, resident_name: str | None) -> dict[str, Any]:
    return {"id": alert.id, "kind": alert.kind, "message": alert.message, "status": alert.status,
            "created_at": alert.created_at, "resident_id": alert.resident_id, "resident_name": resident_name,
            "team_id": alert.team_id, "reading_id": alert.reading_id, "referral_id": alert.referral_id,
            "acknowledged_at": alert.acknowledged_at}


async def list_alerts(db: AsyncSession, trail: AuditSink, scope: AccessScope, status: str | None,
                      resident_id: uuid.UUID | None, offset: int, limit: int) -> dict[str, Any]:
    rows, total = await repository.list_alerts(db, scope, status, resident_id, offset, limit)
    trail.record("search", "ChronicAlert", None, detail={"count": len(rows), "status": status})
    return {"items": [alert_view(a, n) for a, n in rows], "total": total}


async def _alert(db: AsyncSession, scope: AccessScope, alert_id: uuid.UUID) -> ChronicAlert:
    found = await repository.alert(db, scope, alert_id)
    if found is None:
        raise NotFound(_ALERT_NOT_FOUND, code="alert_not_found")
    return found


async def acknowledge_alert(db: AsyncSession, trail: AuditSink, scope: AccessScope, alert_id: uuid.UUID
                            ) -> dict[str, Any]:
    alert = await _alert(db, scope, alert_id)
    if alert.status == "open":
        alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", utcnow(), scope.user_id
        await db.flush()
        trail.record("update", "ChronicAlert", alert.id, detail={"status": "acknowledged"})
    resident = await db.get(Resident, alert.resident_id)
    return alert_view(alert, resident.name if resident else None)


async def refer_from_alert(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
                           alert_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
    """One-click referral: a draft up-referral (urgent) through the referral app, prefilled from the alert; the
    doctor reviews and submits it in the referral console."""
    scope.require(Permission.REFERRAL_WRITE)
    alert = await _alert(db, scope, alert_id)
    if alert.referral_id is not None:
        raise Conflict("该预警已发起转诊", code="alert_already_referred")
    diagnosis = {"bp_high": ("I10", "原发性高血压"), "spo2_low": ("J44.9", "慢性阻塞性肺疾病")}.get(
        alert.kind, ("E11", "2型糖尿病"))
    referral = await referral_service.create_referral(db, trail, scope, cipher, {
        "patient_id": str(alert.resident_id), "id_number": None, "direction": "up", "type": "normal",
        "urgency": "urgent", "reason": body.get("reason") or f"健康驿站监测预警：{alert.message}",
        "diagnosis_code": diagnosis[0], "diagnosis_text": diagnosis[1], "summary": None, "plan": None,
        "details": {"chronic_alert_id": str(alert.id)},
        "target_organization_ids": body.get("target_organization_ids") or [],
        "target_level": body.get("target_level") or (None if body.get("target_organization_ids") else "3A"),
        "target_department_code": None, "target_practitioner_id": None, "submit": False})
    alert.referral_id = uuid.UUID(str(referral["id"]))
    alert.status = "referred"
    alert.acknowledged_at = alert.acknowledged_at or utcnow()
    alert.acknowledged_by = alert.acknowledged_by or scope.user_id
    await db.flush()
    trail.record("update", "ChronicAlert", alert.id, detail={"status": "referred", "referral": str(referral["id"])})
    return {"alert": alert_view(alert, referral.get("patient_name")), "referral_id": alert.referral_id}


def _plan(patient: ChronicPatient, start: date) -> list[ChronicFollowup]:
    count, every = rules.PLANS[patient.disease]
    return [ChronicFollowup(id=uuid.uuid4(), patient_id=patient.id, due_on=start + timedelta(days=every * q),
                            status="planned", reason="routine") for q in range(count)]


async def register(db: AsyncSession, trail: AuditSink, scope: AccessScope, resident_id: uuid.UUID, disease: str,
                   registered_on: date | None) -> dict[str, Any]:
    resident = await repository.resident_in_reach(db, scope, resident_id)
    if resident is None:
        raise NotFound("居民不存在或不是您的签约居民", code="resident_not_found")
    if await repository.registered(db, [(resident.id, disease)]):
        raise Conflict(f"该居民已登记为{rules.MANAGED[disease]}患者", code="already_registered")
    patient = ChronicPatient(id=uuid.uuid4(), resident_id=resident.id, disease=disease,
                             team_id=resident.signed_team_id, registered_on=registered_on or utcnow().date(),
                             source="api", active=True)
    db.add(patient)
    await db.flush()
    db.add_all(_plan(patient, patient.registered_on))
    await db.flush()
    trail.record("create", "ChronicPatient", patient.id, detail={"resident": str(resident.id), "disease": disease})
    return await _patient_view(db, patient, resident.name)


async def register_from_records(db: AsyncSession, residents: list[Resident], on: date) -> int:
    """The demo (and a district's first load): every resident whose record lists hypertension or type 2
    diabetes becomes a registered patient with a year's plan. Idempotent."""
    pairs = [(r.id, d) for r in residents for d in r.chronic if d in rules.MANAGED]
    done = await repository.registered(db, pairs)
    team_of = {r.id: r.signed_team_id for r in residents}
    patients = [ChronicPatient(id=uuid.uuid4(), resident_id=rid, disease=d, team_id=team_of[rid],
                               registered_on=on, source="resident_record", active=True)
                for rid, d in pairs if (rid, d) not in done]
    db.add_all(patients)
    await db.flush()
    db.add_all([f for p in patients for f in _plan(p, on)])
    await db.flush()
    return len(patients)


async def _patient_view(db: AsyncSession, patient: ChronicPatient, name: str | None) -> dict[str, Any]:
    views = await _patient_views(db, [(patient, name)])
    return views[0]


async def _patient_views(db: AsyncSession, rows: Sequence[tuple[ChronicPatient, str | None]]) -> list[dict[str, Any]]:
    today = utcnow().date()
    due = await repository.next_planned(db, [p.id for p, _ in rows])
    alerts = await repository.open_alert_counts(db, list({p.resident_id for p, _ in rows}))
    out = []
    for patient, name in rows:
        next_due = due.get(patient.id)
        flags = []
        if alerts.get(patient.resident_id):
            flags.append("open_alert")
        if next_due is not None and next_due < today:
            flags.append("overdue")
        if patient.classification in ("unsatisfied", "adverse_reaction", "complication"):
            flags.append(patient.classification)
        out.append({"id": patient.id, "resident_id": patient.resident_id, "resident_name": name,
                    "disease": patient.disease, "team_id": patient.team_id, "registered_on": patient.registered_on,
                    "classification": patient.classification, "active": patient.active, "next_due_on": next_due,
                    "overdue": "overdue" in flags, "open_alerts": alerts.get(patient.resident_id, 0),
                    "risk_flags": flags})
    return out


async def list_patients(db: AsyncSession, trail: AuditSink, scope: AccessScope, disease: str | None,
                        resident_id: uuid.UUID | None, q: str | None, offset: int, limit: int) -> dict[str, Any]:
    rows, total = await repository.list_patients(db, scope, disease, resident_id, q, offset, limit)
    trail.record("search", "ChronicPatient", None, detail={"count": len(rows)})
    return {"items": await _patient_views(db, rows), "total": total}


def followup_view(f: ChronicFollowup) -> dict[str, Any]:
    return {"id": f.id, "patient_id": f.patient_id, "due_on": f.due_on, "status": f.status, "reason": f.reason,
            "done_on": f.done_on, "way": f.way, "systolic": f.systolic, "diastolic": f.diastolic,
            "fasting_glucose": f.fasting_glucose, "classification": f.classification, "note": f.note}


async def _patient(db: AsyncSession, scope: AccessScope, patient_id: uuid.UUID) -> ChronicPatient:
    found = await repository.patient(db, scope, patient_id)
    if found is None:
        raise NotFound(_PATIENT_NOT_FOUND, code="chronic_patient_not_found")
    return found


async def list_followups(db: AsyncSession, trail: AuditSink, scope: AccessScope, patient_id: uuid.UUID
                         ) -> list[dict[str, Any]]:
    patient = await _patient(db, scope, patient_id)
    trail.record("read", "ChronicFollowup", patient.id, detail={"resident": str(patient.resident_id)})
    return [followup_view(f) for f in await repository.followups_of(db, patient.id)]


async def record_followup(db: AsyncSession, trail: AuditSink, scope: AccessScope, patient_id: uuid.UUID,
                          form: dict[str, Any]) -> dict[str, Any]:
    """Completes the earliest planned follow-up (or records an unplanned one) and reclassifies the patient;
    an uncontrolled visit plans a recheck in two weeks."""
    if scope.practitioner_id is None:
        raise PermissionDenied("只有医务人员可以记录随访", code="not_a_practitioner")
    patient = await _patient(db, scope, patient_id)
    if patient.disease == "hypertension" and (form.get("systolic") is None or form.get("diastolic") is None):
        raise ValidationFailed("高血压随访须记录收缩压与舒张压", code="followup_bp_missing")
    if patient.disease == "diabetes_t2" and form.get("fasting_glucose") is None:
        raise ValidationFailed("糖尿病随访须记录空腹血糖", code="followup_glucose_missing")
    if form["done_on"] > utcnow().date():
        raise ValidationFailed("随访日期不能晚于今天", code="followup_in_future")
    classification = rules.classify_visit(patient.disease, form.get("systolic"), form.get("diastolic"),
                                          form.get("fasting_glucose"), form.get("adverse_reaction", False),
                                          form.get("complication", False), form.get("exacerbation", False))
    followup = await repository.earliest_planned(db, patient.id)
    if followup is None or followup.due_on > form["done_on"] + timedelta(days=QUARTER_DAYS // 2):
        followup = ChronicFollowup(id=uuid.uuid4(), patient_id=patient.id, due_on=form["done_on"], reason="routine")
        db.add(followup)
    followup.status, followup.done_on, followup.way = "done", form["done_on"], form.get("way", "clinic")
    followup.systolic, followup.diastolic = form.get("systolic"), form.get("diastolic")
    followup.fasting_glucose, followup.note = form.get("fasting_glucose"), form.get("note")
    followup.classification, followup.practitioner_id = classification, scope.practitioner_id
    patient.classification = classification
    if classification != "satisfied":
        db.add(ChronicFollowup(id=uuid.uuid4(), patient_id=patient.id, status="planned", reason="uncontrolled_recheck",
                               due_on=form["done_on"] + timedelta(days=rules.UNCONTROLLED_RECHECK_DAYS)))
    await db.flush()
    trail.record("create", "ChronicFollowup", followup.id,
                 detail={"patient": str(patient.id), "classification": classification})
    return followup_view(followup)


async def overdue(db: AsyncSession, trail: AuditSink, scope: AccessScope, limit: int) -> list[dict[str, Any]]:
    today = utcnow().date()
    rows = await repository.due_followups(db, scope, today - timedelta(days=1), limit)
    trail.record("search", "ChronicFollowup", None, detail={"overdue": len(rows)})
    return [{"followup_id": f.id, "patient_id": p.id, "resident_id": p.resident_id, "resident_name": name,
             "disease": p.disease, "due_on": f.due_on, "days_overdue": (today - f.due_on).days}
            for f, p, name in rows]


async def today_tasks(db: AsyncSession, trail: AuditSink, scope: AccessScope) -> dict[str, Any]:
    """The workbench's to-do: follow-ups due today or overdue, and open alerts."""
    today = utcnow().date()
    due = await repository.due_followups(db, scope, today, 200)
    alerts, open_total = await repository.list_alerts(db, scope, "open", None, 0, 50)
    trail.record("search", "ChronicFollowup", None, detail={"tasks": len(due), "alerts": open_total})
    return {"date": today,
            "followups": [{"followup_id": f.id, "patient_id": p.id, "resident_id": p.resident_id,
                           "resident_name": name, "disease": p.disease, "due_on": f.due_on, "reason": f.reason,
                           "days_overdue": max((today - f.due_on).days, 0)} for f, p, name in due],
            "alerts": [alert_view(a, n) for a, n in alerts], "open_alerts": open_total}


async def resident_detail(db: AsyncSession, trail: AuditSink, scope: AccessScope, resident_id: uuid.UUID,
                          days: int) -> dict[str, Any]:
    resident = await repository.resident_in_reach(db, scope, resident_id)
    if resident is None:
        raise NotFound("居民不存在或不是您的签约居民", code="resident_not_found")
    since: datetime = utcnow() - timedelta(days=days)
    readings = await repository.readings_of(db, resident.id, since, [])
    patients, _ = await repository.list_patients(db, scope, None, resident.id, None, 0, 10)
    alerts, _ = await repository.list_alerts(db, scope, None, resident.id, 0, 20)
    trail.record("read", "Patient", resident.id, detail={"via": "chronic_workbench", "readings": len(readings)})
    return {"resident": {"id": resident.id, "name": resident.name, "gender": resident.gender,
                         "birth_date": resident.birth_date, "chronic": resident.chronic,
                         "signed_team_id": resident.signed_team_id},
            "patients": await _patient_views(db, patients),
            "followups": {str(p.id): [followup_view(f) for f in await repository.followups_of(db, p.id)]
                          for p, _ in patients},
            "alerts": [alert_view(a, n) for a, n in alerts],
            "readings": [{"id": r.id, "kind": r.kind, "measured_at": r.measured_at, "systolic": r.systolic,
                          "diastolic": r.diastolic, "pulse": r.pulse, "value": r.value, "unit": r.unit,
                          "flags": r.flags, "station_id": r.station_id, "observation_id": r.observation_id}
                         for r in readings]}


async def my_chronic_care(db: AsyncSession, trail: AuditSink, scope: AccessScope, days: int) -> dict[str, Any]:
    """The resident's own view (for the resident H5): my family-doctor team, my station readings, my alerts and my
    follow-up plan. Only for a signed-in resident, only their own record."""
    if scope.resident_id is None:
        raise PermissionDenied("仅居民本人可查看自己的慢病信息", code="not_a_resident")
    resident = await db.get(Resident, scope.resident_id)
    if resident is None:
        raise NotFound("未找到您的居民档案", code="resident_not_found")
    team, members = (await repository.team_of(db, resident.signed_team_id)) if resident.signed_team_id \
        else (None, [])
    readings = await repository.readings_of(db, resident.id, utcnow() - timedelta(days=days), [])
    patients, alerts = await repository.own_records(db, resident.id)
    trail.record("read", "Patient", resident.id, detail={"via": "chronic_self", "readings": len(readings)})
    return {"name": resident.name,
            "team": {"name": team.name, "members": [{"name": n, "role": r} for n, r in members]} if team else None,
            "readings": [{"kind": r.kind, "measured_at": r.measured_at, "systolic": r.systolic,
                          "diastolic": r.diastolic, "pulse": r.pulse, "value": r.value, "unit": r.unit,
                          "flags": r.flags} for r in readings],
            "alerts": [{"kind": a.kind, "message": a.message, "status": a.status, "created_at": a.created_at}
                       for a in alerts],
            "plans": [{"disease": p.disease, "classification": p.classification,
                       "followups": [{"due_on": f.due_on, "status": f.status, "done_on": f.done_on}
                                     for f in await repository.followups_of(db, p.id)]} for p in patients]}
