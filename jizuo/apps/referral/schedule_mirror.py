"""Referral slots as FHIR `Schedule` / `Slot`, written through the FHIR service in the caller's transaction.

- One `Schedule` per institution, kind (转诊门诊 / 专家门诊), department and expert: a stable id (uuid5 of that
  key), `actor` = the Organization (and the Practitioner for an expert clinic), `serviceType` = the kind,
  `specialty` = the department code.
- One `Slot` per slot, same id as the `referral_slot` row: `status` free / busy (booked) / busy-unavailable
  (withdrawn), `start`/`end`, `schedule`, `serviceType`.
- Reserved for family doctors and green channel are extensions carrying a boolean
  (`https://jizuo.dev/fhir/StructureDefinition/slot-reserved-for-family-doctors`, `…/slot-green-channel`) —
  machine-readable and unambiguous — and are repeated in `comment` ("家庭医生专用；绿色通道") for people.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.models import ReferralSlot
from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir import store
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.service import FhirContext

EXTENSION = "https://jizuo.dev/fhir/StructureDefinition"
RESERVED_URL = f"{EXTENSION}/slot-reserved-for-family-doctors"
GREEN_URL = f"{EXTENSION}/slot-green-channel"
_NAMESPACE = uuid.UUID("6f0c3a52-5d0e-4c61-9b8e-1f3b2a7c9d41")
KIND_LABELS = {"referral": "转诊门诊", "expert": "专家门诊"}
_STATUS = {"free": "free", "booked": "busy", "withdrawn": "busy-unavailable"}
Json = dict[str, Any]


def schedule_id(slot: ReferralSlot) -> str:
    key = f"{slot.organization_id}|{slot.kind}|{slot.department_code or ''}|{slot.practitioner_id or ''}"
    return str(uuid.uuid5(_NAMESPACE, key))


def _instant(value: Any) -> str:
    return str(value.isoformat())


def schedule(slot: ReferralSlot) -> Json:
    actors = [{"reference": f"Organization/{slot.organization_id}"}]
    if slot.practitioner_id:
        actors.append({"reference": f"Practitioner/{slot.practitioner_id}"})
    resource: Json = {"resourceType": "Schedule", "id": schedule_id(slot), "active": True,
                      "serviceType": [{"text": KIND_LABELS.get(slot.kind, slot.kind)}], "actor": actors,
                      "comment": f"双向转诊{KIND_LABELS.get(slot.kind, '')}号源"}
    if slot.department_code:
        resource["specialty"] = [{"coding": [{"code": slot.department_code}], "text": slot.department_code}]
    return resource


def slot_resource(slot: ReferralSlot) -> Json:
    flags = (("家庭医生专用", slot.reserved_for_family_doctors), ("绿色通道", slot.green_channel))
    notes = [n for n, on in flags if on]
    resource: Json = {
        "resourceType": "Slot", "id": str(slot.id), "schedule": {"reference": f"Schedule/{schedule_id(slot)}"},
        "status": _STATUS.get(slot.status, "busy-unavailable"), "start": _instant(slot.start_at),
        "end": _instant(slot.end_at), "serviceType": [{"text": KIND_LABELS.get(slot.kind, slot.kind)}],
        "extension": [{"url": RESERVED_URL, "valueBoolean": bool(slot.reserved_for_family_doctors)},
                      {"url": GREEN_URL, "valueBoolean": bool(slot.green_channel)}],
    }
    comment = "；".join([*notes, *([slot.place] if slot.place else [])])
    if comment:
        resource["comment"] = comment
    return resource


async def mirror(db: AsyncSession, slots: Sequence[ReferralSlot], cipher: FieldCipher,
                 audit: AuditSink | None) -> None:
    """Create or update the Slots (and their Schedules, once each), buffered into one write per table."""
    if not slots:
        return
    ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=_Quiet(audit), cipher=cipher,
                      write_buffer=store.WriteBuffer())
    schedules = {schedule_id(s): schedule(s) for s in slots}
    resources = [*schedules.values(), *(slot_resource(s) for s in slots)]
    keys = [(str(r["resourceType"]), str(r["id"])) for r in resources]
    current = await store.get_current_many(db, keys)
    for key, resource in zip(keys, resources, strict=True):
        found = current.get(key)
        if key[0] == "Schedule" and found is not None and not found.deleted:
            continue  # a Schedule is written once; its slots change
        ctx.prefetched[key] = found
        await fhir_service.update(ctx, key[0], key[1], resource)
    await ctx.flush()
    ctx.write_buffer = None


class _Quiet:
    """The slot API audits the act itself (one row per call); the FHIR writes under it are not re-audited."""

    def __init__(self, trail: AuditSink | None) -> None:
        self.trail = trail

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None:
        if outcome != "success" and self.trail is not None:
            self.trail.record(action, resource_type, resource_id, outcome, {**(detail or {}), "via": "referral"})
