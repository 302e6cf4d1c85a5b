"""Elderly medication management and repeat prescriptions (代配药). Never commits.

A signed resident (or a family member using the resident's account, named in `proxy_name`/`proxy_relation`)
asks for a repeat of one of their current long-term MedicationRequests; the resident's family-doctor team sees
the request, and a doctor approves it — a new MedicationRequest in the FHIR store with the doctor as requester
and `priorPrescription` pointing at the original — or rejects it with a reason.

Long-term: the MedicationRequest is `active` and either its `courseOfTherapyType` is `continuous` or its
supply (`dispenseRequest.expectedSupplyDuration`) is at least 28 days.
"""

from __future__ import annotations

import uuid
from copy import deepcopy
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import repository
from jizuo.apps.chronic.models import MedicationRefill
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.service import FhirContext, instant
from jizuo.fhir.store import get_current_many
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.notifications.service import notify
from jizuo.platform.residents.models import Resident

LONG_TERM_DAYS = 28


def _long_term(resource: dict[str, Any]) -> bool:
    if resource.get("status") != "active":
        return False
    therapy = resource.get("courseOfTherapyType", {}).get("coding", [])
    if any(c.get("code") == "continuous" for c in therapy):
        return True
    supply = resource.get("dispenseRequest", {}).get("expectedSupplyDuration", {})
    return supply.get("code") == "d" and float(supply.get("value") or 0) >= LONG_TERM_DAYS


def _medication(resource: dict[str, Any]) -> tuple[str | None, str]:
    concept = resource.get("medicationCodeableConcept") or {}
    coding = (concept.get("coding") or [{}])[0]
    return coding.get("code"), concept.get("text") or coding.get("display") or "（未命名药品）"


def medication_view(resource: dict[str, Any]) -> dict[str, Any]:
    code, display = _medication(resource)
    dosage = (resource.get("dosageInstruction") or [{}])[0]
    supply = resource.get("dispenseRequest", {}).get("expectedSupplyDuration", {})
    return {"id": resource.get("id"), "medication_code": code, "medication": display,
            "dosage": dosage.get("text"), "authored_on": resource.get("authoredOn"),
            "supply_days": supply.get("value"), "requester": resource.get("requester", {}).get("display")}


def refill_view(r: MedicationRefill, resident_name: str | None) -> dict[str, Any]:
    return {"id": r.id, "resident_id": r.resident_id, "resident_name": resident_name, "team_id": r.team_id,
            "medication_request_id": r.source_request_id, "medication_code": r.medication_code,
            "medication": r.medication_display, "days": r.days, "note": r.note, "proxy_name": r.proxy_name,
            "proxy_relation": r.proxy_relation, "status": r.status, "created_at": r.created_at,
            "decided_at": r.decided_at, "decision_note": r.decision_note, "new_medication_request_id": r.new_request_id}


async def _me(db: AsyncSession, scope: AccessScope) -> Resident:
    if scope.personal_data_reach is not Reach.SELF or scope.resident_id is None:
        raise PermissionDenied("仅居民本人可使用此功能", code="resident_only")
    resident = await db.get(Resident, scope.resident_id)
    if resident is None:
        raise NotFound("居民档案不存在", code="resident_not_found")
    return resident


async def my_medications(db: AsyncSession, trail: AuditSink, scope: AccessScope) -> list[dict[str, Any]]:
    """The resident's current long-term medicines (what a repeat may be asked for)."""
    resident = await _me(db, scope)
    items = [medication_view(r) for r in await repository.medication_requests_of(db, resident.id) if _long_term(r)]
    trail.record("search", "MedicationRequest", None, detail={"self": True, "count": len(items)})
    return items


async def request_refill(db: AsyncSession, trail: AuditSink, scope: AccessScope, body: dict[str, Any]
                         ) -> dict[str, Any]:
    resident = await _me(db, scope)
    if resident.signed_team_id is None:
        raise PermissionDenied("仅签约居民可申请代配药，请先与家庭医生团队签约", code="not_signed")
    source = await _source(db, resident.id, body["medication_request_id"])
    pending = await repository.refills(db, None, resident_id=resident.id, status="pending")
    if any(r.source_request_id == source["id"] for r, _ in pending):
        raise Conflict("该药品已有待审核的代配药申请", code="refill_pending")
    code, display = _medication(source)
    row = MedicationRefill(id=uuid.uuid4(), resident_id=resident.id, team_id=resident.signed_team_id,
                           source_request_id=source["id"], medication_code=code, medication_display=display[:200],
                           days=body.get("days") or 30, note=body.get("note"), proxy_name=body.get("proxy_name"),
                           proxy_relation=body.get("proxy_relation"), requested_by=scope.user_id, status="pending",
                           created_at=utcnow())
    db.add(row)
    await db.flush()
    recipients = await repository.team_recipients(db, [resident.signed_team_id])
    users, practitioners = recipients.get(resident.signed_team_id, ([], []))
    await notify(db, kind="medication_refill", title=f"代配药申请：{resident.name}", body=display,
                 link="/ui/chronic/medication", user_ids=users, practitioner_ids=practitioners)
    trail.record("create", "MedicationRefill", row.id, detail={"source": source["id"],
                                                               "proxy": row.proxy_name is not None})
    return refill_view(row, resident.name)


async def _source(db: AsyncSession, resident_id: uuid.UUID, request_id: str) -> dict[str, Any]:
    found = (await get_current_many(db, [("MedicationRequest", request_id)])).get(("MedicationRequest", request_id))
    resource = found.resource if found is not None and not found.deleted else None
    if resource is None or resource.get("subject", {}).get("reference") != f"Patient/{resident_id}":
        raise NotFound("处方不存在或不是您的处方", code="medication_request_not_found")
    if not _long_term(resource):
        raise ValidationFailed("只有当前在用的长期用药可以申请代配药", code="not_long_term")
    return dict(resource)


async def my_refills(db: AsyncSession, trail: AuditSink, scope: AccessScope) -> list[dict[str, Any]]:
    resident = await _me(db, scope)
    rows = await repository.refills(db, None, resident_id=resident.id, status=None)
    trail.record("search", "MedicationRefill", None, detail={"self": True, "count": len(rows)})
    return [refill_view(r, n) for r, n in rows]


async def cancel_refill(db: AsyncSession, trail: AuditSink, scope: AccessScope, refill_id: uuid.UUID
                        ) -> dict[str, Any]:
    resident = await _me(db, scope)
    row = await repository.refill(db, None, refill_id, resident_id=resident.id)
    if row is None:
        raise NotFound("代配药申请不存在", code="refill_not_found")
    if row.status != "pending":
        raise Conflict("只有待审核的申请可以撤销", code="refill_closed")
    row.status, row.decided_at = "cancelled", utcnow()
    await db.flush()
    trail.record("update", "MedicationRefill", row.id, detail={"status": "cancelled"})
    return refill_view(row, resident.name)


async def team_refills(db: AsyncSession, trail: AuditSink, scope: AccessScope, status: str | None
                       ) -> list[dict[str, Any]]:
    rows = await repository.refills(db, scope, resident_id=None, status=status)
    trail.record("search", "MedicationRefill", None, detail={"count": len(rows), "status": status})
    return [refill_view(r, n) for r, n in rows]


async def decide(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher, refill_id: uuid.UUID,
                 approve: bool, note: str | None, days: int | None) -> dict[str, Any]:
    """The family doctor's decision. Approval writes the new MedicationRequest (requester: the doctor)."""
    scope.require(Permission.CHRONIC_CARE)
    if scope.practitioner_id is None:
        raise PermissionDenied("只有医生可以审核代配药", code="not_a_practitioner")
    row = await repository.refill(db, scope, refill_id)
    if row is None:
        raise NotFound("代配药申请不存在或不属于您的签约居民", code="refill_not_found")
    if row.status != "pending":
        raise Conflict("该申请已处理", code="refill_closed")
    if not approve and not (note and note.strip()):
        raise ValidationFailed("驳回须填写原因", code="reject_reason_missing")
    resident = await db.get(Resident, row.resident_id)
    if approve:
        source = await _source(db, row.resident_id, row.source_request_id)
        row.days = days or row.days
        new_id = str(uuid.uuid4())
        resource = _repeat(source, new_id, scope.practitioner_id, row.days)
        ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=trail, cipher=cipher)
        await fhir_service.update(ctx, "MedicationRequest", new_id, resource)
        await ctx.flush()
        row.new_request_id = new_id
    row.status, row.decided_at, row.decided_by = ("approved" if approve else "rejected"), utcnow(), scope.user_id
    row.decision_note = note.strip() if note else None
    await db.flush()
    trail.record("update", "MedicationRefill", row.id, detail={"status": row.status, "new": row.new_request_id})
    return refill_view(row, resident.name if resident else None)


def _repeat(source: dict[str, Any], new_id: str, practitioner_id: uuid.UUID, days: int) -> dict[str, Any]:
    resource = {k: deepcopy(v) for k, v in source.items() if k not in ("meta", "text", "id", "encounter",
                                                                       "identifier", "groupIdentifier")}
    resource.update({"resourceType": "MedicationRequest", "id": new_id, "status": "active", "intent": "order",
                     "authoredOn": instant(utcnow()),
                     "requester": {"reference": f"Practitioner/{practitioner_id}"},
                     "priorPrescription": {"reference": f"MedicationRequest/{source['id']}"},
                     "category": [{"coding": [{"system": "urn:jizuo:medication-request-category",
                                               "code": "repeat", "display": "代配药（长处方续方）"}]}]})
    dispense = resource.setdefault("dispenseRequest", {})
    dispense["expectedSupplyDuration"] = {"value": days, "unit": "天", "system": "http://unitsofmeasure.org",
                                          "code": "d"}
    return resource
