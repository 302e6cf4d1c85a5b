"""COPD (慢阻肺) classification and assessments.

GOLD grade of airflow limitation (post-bronchodilator FEV1 % predicted, in patients with FEV1/FVC < 0.70):
GOLD 1 ≥ 80 %, GOLD 2 50–79 %, GOLD 3 30–49 %, GOLD 4 < 30 %. GOLD group (GOLD 2023 "ABE"): E when the last
year had ≥ 2 moderate exacerbations or ≥ 1 leading to hospital; otherwise B when symptoms are high (mMRC ≥ 2
or CAT ≥ 10), else A. Without spirometry the grade is unknown and the group alone classifies the patient.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import repository
from jizuo.apps.chronic.models import CopdAssessment
from jizuo.core.clock import utcnow
from jizuo.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope

FEV1_FVC_LIMIT = Decimal("0.70")


def gold_grade(fev1_pct: float | None) -> int | None:
    if fev1_pct is None:
        return None
    value = Decimal(str(fev1_pct))
    if value >= 80:
        return 1
    if value >= 50:
        return 2
    if value >= 30:
        return 3
    return 4


def gold_group(mmrc: int | None, cat: int | None, exacerbations: int = 0, hospitalised: int = 0) -> str | None:
    if exacerbations >= 2 or hospitalised >= 1:
        return "E"
    if mmrc is None and cat is None:
        return None
    return "B" if (mmrc is not None and mmrc >= 2) or (cat is not None and cat >= 10) else "A"


def assessment_view(a: CopdAssessment) -> dict[str, Any]:
    return {"id": a.id, "patient_id": a.patient_id, "assessed_on": a.assessed_on, "fev1_pct": a.fev1_pct,
            "fev1_fvc": a.fev1_fvc, "mmrc": a.mmrc, "cat": a.cat, "exacerbations": a.exacerbations,
            "hospitalised": a.hospitalised, "gold_grade": a.gold_grade, "gold_group": a.gold_group}


async def assess(db: AsyncSession, trail: AuditSink, scope: AccessScope, patient_id: uuid.UUID,
                 form: dict[str, Any]) -> dict[str, Any]:
    """Records an assessment of a registered COPD patient and classifies them (`gold_<grade>` or the group)."""
    if scope.practitioner_id is None:
        raise PermissionDenied("只有医务人员可以记录慢阻肺评估", code="not_a_practitioner")
    patient = await repository.patient(db, scope, patient_id)
    if patient is None:
        raise NotFound("慢病患者不存在或不属于您的签约居民", code="chronic_patient_not_found")
    if patient.disease != "copd":
        raise ValidationFailed("该患者未登记为慢阻肺患者", code="not_copd")
    if form["assessed_on"] > utcnow().date():
        raise ValidationFailed("评估日期不能晚于今天", code="assessment_in_future")
    if form.get("fev1_pct") is None and form.get("mmrc") is None and form.get("cat") is None:
        raise ValidationFailed("须至少记录 FEV1 占预计值%、mMRC 或 CAT 之一", code="copd_assessment_empty",
                               errors=[FieldError("fev1_pct", "须至少记录 FEV1%、mMRC 或 CAT 之一")])
    ratio = form.get("fev1_fvc")
    if ratio is not None and Decimal(str(ratio)) >= FEV1_FVC_LIMIT:
        raise ValidationFailed("FEV1/FVC ≥ 0.70，不符合慢阻肺的气流受限标准", code="copd_ratio_not_obstructive",
                               errors=[FieldError("fev1_fvc", "FEV1/FVC 须小于 0.70")])
    row = CopdAssessment(id=uuid.uuid4(), patient_id=patient.id, assessed_on=form["assessed_on"],
                         fev1_pct=form.get("fev1_pct"), fev1_fvc=ratio, mmrc=form.get("mmrc"), cat=form.get("cat"),
                         exacerbations=form.get("exacerbations") or 0, hospitalised=form.get("hospitalised") or 0,
                         practitioner_id=scope.practitioner_id)
    row.gold_grade = gold_grade(row.fev1_pct)
    row.gold_group = gold_group(row.mmrc, row.cat, row.exacerbations, row.hospitalised)
    db.add(row)
    await db.flush()
    trail.record("create", "CopdAssessment", row.id,
                 detail={"patient": str(patient.id), "grade": row.gold_grade, "group": row.gold_group})
    return assessment_view(row)


async def assessments(db: AsyncSession, trail: AuditSink, scope: AccessScope, patient_id: uuid.UUID
                      ) -> list[dict[str, Any]]:
    patient = await repository.patient(db, scope, patient_id)
    if patient is None:
        raise NotFound("慢病患者不存在或不属于您的签约居民", code="chronic_patient_not_found")
    rows = await repository.copd_assessments_of(db, patient.id)
    trail.record("read", "CopdAssessment", patient.id, detail={"count": len(rows)})
    return [assessment_view(a) for a in rows]
