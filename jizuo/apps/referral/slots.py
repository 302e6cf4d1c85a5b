"""Referral capacity: hospitals publish slots (referral clinic or expert clinic), usually reserved for family
doctors' referrals and optionally on the green channel. A family doctor books one directly when creating the
up-referral (`slot_id` on create), or the accepting hospital books one (`schedule` with `slot_id`); a cancelled,
rejected or expired referral or a new booking frees it, a no-show frees it and counts. Booking is one
conditional UPDATE (`status = 'free'`), so one slot never holds two patients. A free slot may be edited or
withdrawn by its institution, a booked one not. Every change is mirrored to FHIR `Schedule`/`Slot`
(`schedule_mirror.py`) in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral import schedule_mirror
from jizuo.apps.referral.models import Referral, ReferralSlot
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import get_field_cipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.registry.models import Organization

COMMUNITY_LEVELS = ("community", "station", "1")  # 社区卫生服务中心、服务站、一级机构

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
    await schedule_mirror.mirror(db, slots, get_field_cipher(), trail)
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


async def from_community(db: AsyncSession, ref: Referral) -> bool:
    """Was the referral sent by community staff (a centre, station or first-level institution)?"""
    level = await db.scalar(select(Organization.level).where(Organization.id == ref.source_organization_id))
    return level in COMMUNITY_LEVELS


async def book(db: AsyncSession, ref: Referral, slot_id: uuid.UUID, organization_id: uuid.UUID | None = None
               ) -> ReferralSlot:
    """Book the slot for this referral (freeing the one it held): inside `schedule`, at the accepting
    institution; or on creation by the family doctor, at the referral's one target (`organization_id`)."""
    slot = await db.get(ReferralSlot, slot_id)
    if slot is None or slot.organization_id != (organization_id or ref.accepted_organization_id):
        raise NotFound("号源不存在或不属于接收机构", code="slot_not_found")
    if slot.status == "withdrawn":
        raise Conflict("该号源已停诊撤回，请选择其他号源", code="slot_withdrawn")
    if slot.start_at <= utcnow():
        raise Conflict("该号源时间已过", code="slot_in_past")
    if slot.green_channel and ref.type != "emergency" and ref.urgency not in ("asap", "stat"):
        raise Conflict("绿色通道号源仅用于急诊或紧急转诊", code="green_channel_only")
    if slot.reserved_for_family_doctors and not await from_community(db, ref):
        raise Conflict("该号源为家庭医生（社区）转诊专用，不能用于本转诊", code="slot_reserved")
    await release(db, ref.id)
    taken = await db.execute(update(ReferralSlot).where(ReferralSlot.id == slot_id, ReferralSlot.status == "free")
                             .values(status="booked", referral_id=ref.id)
                             .execution_options(synchronize_session=False))
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise Conflict("该号源已被预约，请选择其他号源", code="slot_taken")
    await db.refresh(slot)
    await schedule_mirror.mirror(db, [slot], get_field_cipher(), None)
    return slot


async def release(db: AsyncSession, referral_id: uuid.UUID, *, no_show: bool = False) -> None:
    values: dict[str, Any] = {"status": "free", "referral_id": None}
    if no_show:
        values["no_shows"] = ReferralSlot.no_shows + 1
    freed = (await db.execute(update(ReferralSlot).where(ReferralSlot.referral_id == referral_id).values(**values)
                              .returning(ReferralSlot.id).execution_options(synchronize_session=False))).scalars()
    ids = list(freed)
    if ids:
        rows = list(await db.scalars(select(ReferralSlot).where(ReferralSlot.id.in_(ids))
                                     .execution_options(populate_existing=True)))
        await schedule_mirror.mirror(db, rows, get_field_cipher(), None)


async def held_by(db: AsyncSession, referral_id: uuid.UUID) -> ReferralSlot | None:
    return await db.scalar(select(ReferralSlot).where(ReferralSlot.referral_id == referral_id))


async def _own_free_slot(db: AsyncSession, scope: AccessScope, slot_id: uuid.UUID) -> ReferralSlot:
    scope.require(Permission.REFERRAL_WRITE)
    slot = await db.scalar(select(ReferralSlot).where(ReferralSlot.id == slot_id).with_for_update()
                           .execution_options(populate_existing=True))
    if slot is None or slot.organization_id != scope.organization_id:
        raise NotFound("号源不存在或不属于本机构", code="slot_not_found")
    if slot.status == "booked":
        raise Conflict("该号源已被预约，不能修改或撤回（请先改约或取消该转诊）", code="slot_booked")
    if slot.status == "withdrawn":
        raise Conflict("该号源已撤回", code="slot_withdrawn")
    return slot


async def edit(db: AsyncSession, trail: AuditSink, scope: AccessScope, slot_id: uuid.UUID, data: dict[str, Any]
               ) -> dict[str, Any]:
    """Change a free slot of the caller's institution: time, place, reserved / green-channel flags."""
    slot = await _own_free_slot(db, scope, slot_id)
    start = data.get("start_at") or slot.start_at
    minutes = data.get("minutes")
    end = start + timedelta(minutes=minutes) if minutes else start + (slot.end_at - slot.start_at)
    if minutes is not None and not 5 <= minutes <= 240:
        raise ValidationFailed("每个号源 5–240 分钟", code="invalid_slots")
    if start <= utcnow():
        raise ValidationFailed("号源开始时间须晚于当前时间", code="slot_in_past")
    slot.start_at, slot.end_at = start, end
    for key in ("place", "reserved_for_family_doctors", "green_channel"):
        if data.get(key) is not None:
            setattr(slot, key, data[key])
    await db.flush()
    await schedule_mirror.mirror(db, [slot], get_field_cipher(), trail)
    trail.record("update", "Slot", slot.id, detail={k: str(v) for k, v in data.items() if v is not None})
    return slot_view(slot)


async def withdraw(db: AsyncSession, trail: AuditSink, scope: AccessScope, slot_id: uuid.UUID) -> dict[str, Any]:
    """停诊: take a free slot off the list (kept, as FHIR `busy-unavailable`, for the record)."""
    slot = await _own_free_slot(db, scope, slot_id)
    slot.status = "withdrawn"
    await db.flush()
    await schedule_mirror.mirror(db, [slot], get_field_cipher(), trail)
    trail.record("withdraw", "Slot", slot.id)
    return slot_view(slot)
