"""Referral capacity: hospitals publish slots (referral clinic or expert clinic, FHIR `Slot`), usually reserved
for family doctors' referrals and optionally on the green channel; the accepting hospital books one for a
referral (`schedule` with `slot_id`), a cancelled referral or a new booking frees it, a no-show frees it and
counts. Booking is one conditional UPDATE (`status = 'free'`), so one slot never holds two patients."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral.models import Referral, ReferralSlot
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role

MAX_SLOTS_PER_CALL = 100


def slot_view(slot: ReferralSlot) -> dict[str, Any]:
    return {"id": slot.id, "organization_id": slot.organization_id, "kind": slot.kind,
            "department_code": slot.department_code, "practitioner_id": slot.practitioner_id,
            "start_at": slot.start_at, "end_at": slot.end_at, "place": slot.place,
            "reserved_for_family_doctors": slot.reserved_for_family_doctors, "green_channel": slot.green_channel,
            "status": slot.status, "referral_id": slot.referral_id, "no_shows": slot.no_shows}


async def publish(db: AsyncSession, trail: AuditSink, scope: AccessScope, data: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """`count` consecutive slots of `minutes` each from `start_at`, at the caller's own institution."""
    scope.require(Permission.REFERRAL_WRITE)
    if scope.organization_id is None:
        raise PermissionDenied("您的账号未关联医疗机构，不能发布号源", code="no_institution")
    if not 1 <= data["count"] <= MAX_SLOTS_PER_CALL or not 5 <= data["minutes"] <= 240:
        raise ValidationFailed(f"每次最多发布 {MAX_SLOTS_PER_CALL} 个号源，每个 5–240 分钟", code="invalid_slots")
    if data["start_at"] <= utcnow():
        raise ValidationFailed("号源开始时间须晚于当前时间", code="slot_in_past")
    length = timedelta(minutes=data["minutes"])
    slots = [ReferralSlot(id=uuid.uuid4(), organization_id=scope.organization_id, kind=data["kind"],
                          department_code=data.get("department_code"), practitioner_id=data.get("practitioner_id"),
                          start_at=data["start_at"] + i * length, end_at=data["start_at"] + (i + 1) * length,
                          place=data.get("place"), reserved_for_family_doctors=data["reserved_for_family_doctors"],
                          green_channel=data["green_channel"], status="free", no_shows=0)
             for i in range(data["count"])]
    db.add_all(slots)
    await db.flush()
    trail.record("create", "Slot", None, detail={"count": len(slots), "kind": data["kind"]})
    return [slot_view(s) for s in slots]


async def list_slots(db: AsyncSession, scope: AccessScope, organization_id: uuid.UUID | None, free_only: bool,
                     start: datetime | None, end: datetime | None, limit: int) -> list[dict[str, Any]]:
    scope.require(Permission.REFERRAL_READ)
    org = organization_id or scope.organization_id
    if org is None:
        raise ValidationFailed("请指定机构", code="organization_required")
    query = select(ReferralSlot).where(ReferralSlot.organization_id == org,
                                       ReferralSlot.start_at >= (start or utcnow()))
    if end is not None:
        query = query.where(ReferralSlot.start_at < end)
    if free_only:
        query = query.where(ReferralSlot.status == "free")
    if org != scope.organization_id and scope.role is not Role.DISTRICT_ADMIN:
        # Another institution's bookings are not its business: it sees the free slots only.
        query = query.where(ReferralSlot.status == "free")
    rows = await db.scalars(query.order_by(ReferralSlot.start_at).limit(limit))
    return [slot_view(s) for s in rows]


async def book(db: AsyncSession, ref: Referral, slot_id: uuid.UUID) -> ReferralSlot:
    """Book the slot for this referral (freeing the one it held). Called inside the `schedule` transition."""
    slot = await db.get(ReferralSlot, slot_id)
    if slot is None or slot.organization_id != ref.accepted_organization_id:
        raise NotFound("号源不存在或不属于接收机构", code="slot_not_found")
    if slot.start_at <= utcnow():
        raise Conflict("该号源时间已过", code="slot_in_past")
    if slot.green_channel and ref.type != "emergency" and ref.urgency not in ("asap", "stat"):
        raise Conflict("绿色通道号源仅用于急诊或紧急转诊", code="green_channel_only")
    await release(db, ref.id)
    taken = await db.execute(update(ReferralSlot).where(ReferralSlot.id == slot_id, ReferralSlot.status == "free")
                             .values(status="booked", referral_id=ref.id)
                             .execution_options(synchronize_session=False))
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise Conflict("该号源已被预约，请选择其他号源", code="slot_taken")
    await db.refresh(slot)
    return slot


async def release(db: AsyncSession, referral_id: uuid.UUID, *, no_show: bool = False) -> None:
    values: dict[str, Any] = {"status": "free", "referral_id": None}
    if no_show:
        values["no_shows"] = ReferralSlot.no_shows + 1
    await db.execute(update(ReferralSlot).where(ReferralSlot.referral_id == referral_id).values(**values)
                     .execution_options(synchronize_session=False))
