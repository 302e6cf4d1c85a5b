"""The referral as FHIR: a `ServiceRequest` (category referral; what is asked, why, for whom, of whom) and a
`Task` (the workflow state, owner, appointment and outcome), written through the FHIR service in the caller's
transaction with the system access, so the tables and their FHIR view never disagree."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.models import Referral
from jizuo.apps.referral.rules import DIRECTIONS, STATUS_LABELS, TYPES
from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir import store
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.service import FhirContext

SYSTEM = "https://jizuo.dev/fhir/CodeSystem"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
Json = dict[str, Any]

_SERVICE_REQUEST_STATUS = {"draft": "draft", "requested": "active", "accepted": "active", "scheduled": "active",
                           "arrived": "active", "completed": "completed", "rejected": "revoked",
                           "cancelled": "revoked", "expired": "revoked"}
_TASK_STATUS = {"draft": "draft", "requested": "requested", "accepted": "accepted", "rejected": "rejected",
                "scheduled": "accepted", "arrived": "in-progress", "completed": "completed",
                "cancelled": "cancelled", "expired": "failed"}


def _instant(value: Any) -> str:
    return str(value.isoformat()) if value is not None else ""


def _org(org_id: uuid.UUID) -> Json:
    return {"reference": f"Organization/{org_id}"}


def service_request(ref: Referral, candidates: list[uuid.UUID]) -> Json:
    resource: Json = {
        "resourceType": "ServiceRequest", "id": str(ref.id),
        "status": _SERVICE_REQUEST_STATUS[ref.status], "intent": "order",
        "category": [
            {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}], "text": "转诊"},
            {"coding": [{"system": f"{SYSTEM}/referral-direction", "code": ref.direction,
                         "display": DIRECTIONS[ref.direction]}]},
            {"coding": [{"system": f"{SYSTEM}/referral-type", "code": ref.type, "display": TYPES[ref.type]}]},
        ],
        "priority": ref.urgency,
        "code": {"text": TYPES[ref.type]},
        "subject": {"reference": f"Patient/{ref.patient_id}"},
        "requester": ({"reference": f"Practitioner/{ref.source_practitioner_id}"} if ref.source_practitioner_id
                      else _org(ref.source_organization_id)),
        "performer": [_org(o) for o in ([ref.accepted_organization_id] if ref.accepted_organization_id
                                         else candidates)],
        "reasonCode": [{"text": ref.reason}],
    }
    if ref.requested_at is not None:
        resource["authoredOn"] = _instant(ref.requested_at)
    if ref.target_practitioner_id:
        resource["performer"].append({"reference": f"Practitioner/{ref.target_practitioner_id}"})
    if ref.diagnosis_code or ref.diagnosis_text:
        coding = [{"system": ICD10, "code": ref.diagnosis_code}] if ref.diagnosis_code else []
        resource["reasonCode"].append({"coding": coding, "text": ref.diagnosis_text or ref.diagnosis_code})
    notes = [t for t in (ref.summary, ref.plan) if t]
    if notes:
        resource["note"] = [{"text": t} for t in notes]
    if ref.parent_id:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{ref.parent_id}"}]
    return resource


def task(ref: Referral) -> Json:
    resource: Json = {
        "resourceType": "Task", "id": str(ref.id), "status": _TASK_STATUS[ref.status],
        "businessStatus": {"coding": [{"system": f"{SYSTEM}/referral-status", "code": ref.status,
                                       "display": STATUS_LABELS[ref.status]}], "text": STATUS_LABELS[ref.status]},
        "intent": "order", "priority": ref.urgency,
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{ref.id}"},
        "for": {"reference": f"Patient/{ref.patient_id}"},
        "requester": _org(ref.source_organization_id),
        "lastModified": _instant(ref.updated_at),
    }
    if ref.requested_at is not None:
        resource["authoredOn"] = _instant(ref.requested_at)
    if ref.accepted_organization_id:
        resource["owner"] = _org(ref.accepted_organization_id)
    if ref.reject_reason:
        resource["statusReason"] = {"text": ref.reject_reason}
    if ref.appointment_at is not None:
        resource["restriction"] = {"period": {"start": _instant(ref.appointment_at)}}
    if ref.outcome:
        resource["output"] = [{"type": {"text": "转诊结果"}, "valueString": ref.outcome}]
    return resource


class _Audit:
    def __init__(self, trail: AuditSink | None) -> None:
        self.trail = trail

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None:
        if self.trail is not None:
            self.trail.record(action, resource_type, resource_id, outcome, {**(detail or {}), "via": "referral"})


async def mirror(db: AsyncSession, ref: Referral, candidates: list[uuid.UUID], cipher: FieldCipher,
                 audit: AuditSink | None) -> None:
    """Create or update the ServiceRequest and Task of this referral (a new version each transition)."""
    ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=_Audit(audit), cipher=cipher)
    resources = [service_request(ref, candidates), task(ref)]
    current = await store.get_current_many(db, [(str(r["resourceType"]), str(r["id"])) for r in resources])
    for resource in resources:
        key = (str(resource["resourceType"]), str(resource["id"]))
        ctx.prefetched[key] = current.get(key)
        await fhir_service.update(ctx, key[0], key[1], resource)
    await ctx.flush()
