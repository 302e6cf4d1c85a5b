"""Referral rules: create, move through the state machine (rules.py), read, list, expire. Never commits.

Every transition is one optimistic UPDATE (`repository.advance`) plus one `referral_event` row, the FHIR
ServiceRequest/Task mirror, the notifications and the audit record — all in the caller's transaction, so
either all of it happens or none.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral import fhir_mirror, patients, repository, slots
from jizuo.apps.referral.models import Referral, ReferralCandidate, ReferralEvent, ReferralFollowup
from jizuo.apps.referral.rules import (
    FINAL,
    STATUS_LABELS,
    TRANSITIONS,
    Side,
    Transition,
    expiry_after,
)
from jizuo.apps.referral.views import referral_summary, referral_view
from jizuo.core.clock import utcnow
from jizuo.core.errors import BadRequest, Conflict, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission
from jizuo.platform.notifications.service import notify

FOLLOWUP_DAYS = 7
_NOT_FOUND = "转诊不存在或您无权查看"


def _require_writer(scope: AccessScope) -> uuid.UUID:
    scope.require(Permission.REFERRAL_WRITE)
    if scope.organization_id is None:
        raise PermissionDenied("您的账号未关联医疗机构，不能办理转诊", code="no_institution")
    return scope.organization_id


def _validate_type(data: dict[str, Any]) -> None:
    if data["type"] == "palliative":
        details = data.get("details") or {}
        missing = [k for k, label in (("prognosis", "预计生存期"), ("consent", "知情同意")) if not details.get(k)]
        if missing:
            raise ValidationFailed("安宁疗护转诊需填写预计生存期并取得患者或家属知情同意",
                                   code="palliative_intake_incomplete")
    if data["type"] == "emergency" and data["urgency"] in ("routine", "urgent"):
        data["urgency"] = "stat"  # the emergency fast path: shortest expiry, top of the inbox


async def _targets(db: AsyncSession, data: dict[str, Any], own: uuid.UUID) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = list(dict.fromkeys(data.get("target_organization_ids") or []))
    if data.get("target_level"):
        ids += [o for o in await repository.active_organizations_of_level(db, data["target_level"]) if o not in ids]
    ids = [o for o in ids if o != own] if data.get("target_level") else ids
    if not ids:
        raise ValidationFailed("请选择接收机构（一家，或多家候选机构）", code="target_missing")
    if own in ids:
        raise ValidationFailed("不能转诊到本机构", code="target_is_self")
    found = await repository.organizations(db, ids)
    unknown = [o for o in ids if o not in found or not found[o].active]
    if unknown:
        raise ValidationFailed("接收机构不存在或已停用", code="target_unknown")
    return ids


async def create_referral(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher,
                          data: dict[str, Any], *, parent: Referral | None = None) -> dict[str, Any]:
    own = _require_writer(scope)
    _validate_type(data)
    patient = (await patients.by_patient_id(db, parent.patient_id) if parent is not None
               else await patients.resolve(db, cipher, data.get("patient_id"), data.get("id_number")))
    targets = await _targets(db, data, own)
    now = utcnow()
    ref = Referral(
        id=uuid.uuid4(), status="draft", version=1, direction=data["direction"], type=data["type"],
        urgency=data["urgency"], patient_id=patient.patient_id,
        resident_id=patient.resident.id if patient.resident else None, patient_name=patient.name,
        reason=data["reason"], diagnosis_code=data.get("diagnosis_code"), diagnosis_text=data.get("diagnosis_text"),
        summary=data.get("summary"), plan=data.get("plan"), details=data.get("details") or {},
        source_organization_id=own, source_practitioner_id=scope.practitioner_id, source_user_id=scope.user_id,
        target_department_code=data.get("target_department_code"),
        target_practitioner_id=data.get("target_practitioner_id"), parent_id=parent.id if parent else None,
        created_at=now, updated_at=now)
    db.add(ref)
    db.add_all([ReferralCandidate(referral_id=ref.id, organization_id=o, created_at=now) for o in targets])
    db.add(_event(ref.id, "create", None, "draft", scope, now, None, {"targets": [str(o) for o in targets]}))
    await db.flush()
    if data.get("slot_id") is not None:
        # The family doctor books the hospital's reserved slot with the request itself.
        if len(targets) != 1:
            raise ValidationFailed("直接预约号源时只能选择一家接收机构", code="slot_needs_one_target")
        slot = await slots.book(db, ref, data["slot_id"], targets[0])
        ref.appointment_at, ref.appointment_place = slot.start_at, slot.place
        await db.flush()
    trail.record("create", "ServiceRequest", ref.id, detail={"direction": ref.direction, "type": ref.type,
                                                             "patient": ref.patient_id})
    if data.get("submit", True):
        return await act(db, trail, scope, cipher, ref.id, "submit", {"version": ref.version})
    await fhir_mirror.mirror(db, ref, targets, cipher, trail)
    return await _view(db, scope, ref)


def _event(referral_id: uuid.UUID, action: str, before: str | None, after: str, scope: AccessScope | None,
           now: datetime, note: str | None, data: dict[str, Any] | None = None) -> ReferralEvent:
    return ReferralEvent(id=uuid.uuid4(), referral_id=referral_id, action=action, from_status=before,
                         to_status=after, at=now, actor_user_id=scope.user_id if scope else None,
                         actor_username=scope.username if scope else "system",
                         actor_organization_id=scope.organization_id if scope else None, note=note,
                         data=data or {})


def sides_of(scope: AccessScope, ref: Referral, candidates: list[uuid.UUID]) -> set[Side]:
    """Which side(s) of this referral the caller stands on (a referral within one institution: both)."""
    if not scope.can(Permission.REFERRAL_WRITE) or scope.organization_id is None:
        return set()
    sides = set()
    if ref.source_organization_id == scope.organization_id:
        sides.add(Side.SENDER)
    receiving = ([ref.accepted_organization_id] if ref.accepted_organization_id else candidates)
    if scope.organization_id in receiving:
        sides.add(Side.RECEIVER)
    return sides


def _check_allowed(transition: Transition, ref: Referral, sides: set[Side]) -> None:
    if transition.side not in sides:
        who = "转出机构" if transition.side is Side.SENDER else "接收机构"
        raise PermissionDenied(f"只有{who}的医生可以{transition.label}", code="not_your_side")
    if ref.status not in transition.sources:
        raise Conflict(f"转诊当前状态为“{STATUS_LABELS[ref.status]}”，不能{transition.label}",
                       code="invalid_transition")


def _changes(action: str, ref: Referral, scope: AccessScope | None, data: dict[str, Any], now: datetime
             ) -> tuple[dict[str, Any], str | None]:
    """The columns a transition sets, and the note its timeline entry shows."""
    note = data.get("note")
    match action:
        case "submit":
            return {"requested_at": now, "expires_at": now + expiry_after(ref.urgency)}, note
        case "accept":
            assert scope is not None
            return {"accepted_organization_id": scope.organization_id,
                    "accepted_practitioner_id": scope.practitioner_id, "expires_at": None}, note
        case "reject":
            reason = (data.get("reason") or "").strip()
            if not reason:
                raise ValidationFailed("拒绝转诊须填写理由", code="reason_required")
            return {"reject_reason": reason, "expires_at": None}, reason
        case "schedule":
            at = data.get("appointment_at")
            if at is None and data.get("slot_id") is None:
                raise ValidationFailed("预约须填写就诊时间", code="appointment_required")
            place = data.get("appointment_place")
            return {"appointment_at": at, "appointment_place": place}, note or (place or None)
        case "complete":
            outcome = (data.get("outcome") or "").strip()
            if not outcome:
                raise ValidationFailed("完成转诊须填写诊疗结果摘要", code="outcome_required")
            return {"outcome": outcome}, outcome
        case "no_show":
            return {"appointment_at": None, "appointment_place": None}, note or "患者未按预约就诊"
        case "cancel" | "expire":
            return {"expires_at": None}, note or data.get("reason")
        case _:
            return {}, note


async def act(db: AsyncSession, trail: AuditSink, scope: AccessScope | None, cipher: FieldCipher,
              referral_id: uuid.UUID, action: str, data: dict[str, Any]) -> dict[str, Any]:
    """Take `action` on the referral as `scope` (None: the system, for expiry)."""
    transition = TRANSITIONS.get(action)
    if transition is None or (transition.side is Side.SYSTEM and scope is not None):
        raise NotFound(f"不支持的转诊操作：{action}", code="unknown_action")
    ref = await (repository.get(db, scope, referral_id) if scope is not None else db.get(Referral, referral_id))
    if ref is None:
        if scope is not None and await repository.accepted_elsewhere(db, scope, referral_id):
            raise Conflict("该转诊已被其他机构接收", code="accepted_elsewhere")
        raise NotFound(_NOT_FOUND, code="referral_not_found")
    candidates = await repository.candidates(db, ref.id)
    if scope is not None:
        _check_allowed(transition, ref, sides_of(scope, ref, candidates))
    elif ref.status not in transition.sources:
        raise Conflict("状态已变化", code="invalid_transition")
    expected = data.get("version") or ref.version
    if expected != ref.version:
        raise Conflict("该转诊已被他人处理，请刷新后重试", code="referral_changed")
    now = utcnow()
    values, note = _changes(action, ref, scope, data, now)
    target = transition.target
    if action == "reject" and len(candidates) > 1:
        # One of several candidates declines: the others may still accept.
        assert scope is not None and scope.organization_id is not None
        await repository.remove_candidate(db, ref.id, scope.organization_id)
        candidates = [c for c in candidates if c != scope.organization_id]
        target = ref.status
        values.pop("expires_at", None)
        values.pop("reject_reason", None)
    before = ref.status
    if action == "accept" and target == "accepted" and await slots.held_by(db, ref.id) is not None:
        target = "scheduled"  # the family doctor booked a slot with the request: accepting confirms it
        note = note or "接收并确认家庭医生预约的号源"
    if target in ("rejected", "expired"):
        await slots.release(db, ref.id)
    if action == "schedule" and data.get("slot_id") is not None:
        slot = await slots.book(db, ref, data["slot_id"])
        values.update(appointment_at=slot.start_at, appointment_place=slot.place or values.get("appointment_place"))
    elif action in ("cancel", "no_show"):
        await slots.release(db, ref.id, no_show=action == "no_show")
    if action == "submit" or (action == "accept" and before == "requested"):
        await repository.set_candidates_open(db, ref.id, action == "submit")
    if not await repository.advance(db, ref.id, ref.version, {**values, "status": target, "updated_at": now}):
        raise Conflict("该转诊已被其他机构或他人处理，请刷新后重试", code="referral_changed")
    db.add(_event(ref.id, action, before, target, scope, now, note,
                  {k: (v.isoformat() if isinstance(v, datetime) else str(v) if v is not None else None)
                   for k, v in values.items()}))
    await db.flush()
    await db.refresh(ref)
    await fhir_mirror.mirror(db, ref, candidates, cipher, trail)
    trail.record(action, "Task", ref.id, detail={"from": before, "to": target})
    await _after(db, trail, scope, cipher, ref, action, candidates, data)
    return await _view(db, scope, ref) if scope is not None else {"id": ref.id, "status": ref.status}


async def _after(db: AsyncSession, trail: AuditSink, scope: AccessScope | None, cipher: FieldCipher,
                 ref: Referral, action: str, candidates: list[uuid.UUID], data: dict[str, Any]) -> None:
    """Notifications, follow-up tasks and the answering down-referral of a transition."""
    link = f"/ui/referral/{ref.id}"
    who = ref.patient_name or "患者"
    if action == "submit":
        if ref.target_practitioner_id:
            receivers = [ref.target_practitioner_id]
        else:
            receivers = [p for org in candidates
                         for p in await repository.organization_practitioners(db, org, ("doctor", "family_doctor"))]
        await notify(db, kind="referral.requested", title=f"新的转诊申请：{who}", body=ref.reason, link=link,
                     practitioner_ids=receivers, channels=("wechat",) if ref.urgency in ("asap", "stat") else ())
        if ref.direction == "down":
            await _create_followup(db, ref)
    elif action in ("accept", "reject", "schedule", "arrive", "complete", "expire", "no_show"):
        label = STATUS_LABELS[ref.status] if ref.status in FINAL or action != "reject" else "被一家候选机构拒绝"
        await notify(db, kind=f"referral.{action}", title=f"转诊{label}：{who}",
                     body=ref.reject_reason or ref.outcome or "", link=link, user_ids=[ref.source_user_id],
                     channels=("sms",) if action == "schedule" else ())
    elif action == "cancel" and ref.accepted_practitioner_id:
        await notify(db, kind="referral.cancel", title=f"转诊已撤销：{who}", link=link,
                     practitioner_ids=[ref.accepted_practitioner_id])
    if action == "complete" and data.get("down_referral") and scope is not None:
        await _refer_down(db, trail, scope, cipher, ref, data["down_referral"])


async def _refer_down(db: AsyncSession, trail: AuditSink, scope: AccessScope, cipher: FieldCipher, ref: Referral,
                      down: dict[str, Any]) -> None:
    """Completing an up-referral with a down-referral: back to the resident's community centre (their home
    institution), or to the institution that sent them."""
    home = ref.source_organization_id
    if ref.resident_id is not None:
        resident = await repository.resident(db, ref.resident_id)
        if resident is not None and resident.home_organization_id is not None:
            home = resident.home_organization_id
    target = down.get("target_organization_id") or home
    await create_referral(db, trail, scope, cipher, {
        "direction": "down", "type": down.get("type") or "normal", "urgency": down.get("urgency") or "routine",
        "reason": down.get("reason") or "病情稳定，转回社区继续康复治疗", "plan": down.get("plan"),
        "summary": ref.outcome, "diagnosis_code": ref.diagnosis_code, "diagnosis_text": ref.diagnosis_text,
        "target_organization_ids": [target], "submit": True}, parent=ref)


async def _create_followup(db: AsyncSession, ref: Referral) -> None:
    """A down-referral gives the resident's signed family-doctor team a follow-up task, and tells them."""
    resident = await repository.resident(db, ref.resident_id) if ref.resident_id else None
    team_id = resident.signed_team_id if resident else None
    candidates = await repository.candidates(db, ref.id)
    organization = (resident.home_organization_id if resident and resident.home_organization_id
                    else candidates[0])
    followup = ReferralFollowup(
        id=uuid.uuid4(), referral_id=ref.id, team_id=team_id, organization_id=organization,
        resident_id=ref.resident_id, patient_name=ref.patient_name, title=f"下转患者随访：{ref.patient_name or ''}",
        plan=ref.plan, due_at=utcnow() + timedelta(days=FOLLOWUP_DAYS), status="open")
    db.add(followup)
    await db.flush()
    members = await repository.team_practitioners(db, team_id) if team_id else []
    if members:
        await notify(db, kind="referral.followup", title=followup.title, body=ref.plan or "",
                     link=f"/ui/referral/{ref.id}", practitioner_ids=members, channels=("sms",))


async def _view(db: AsyncSession, scope: AccessScope | None, ref: Referral) -> dict[str, Any]:
    candidates = await repository.candidates(db, ref.id)
    events = await repository.events(db, ref.id)
    followups = await repository.followups_of(db, ref.id)
    orgs = await repository.organizations(db, [ref.source_organization_id, *candidates,
                                               *([ref.accepted_organization_id] if ref.accepted_organization_id
                                                 else [])])
    people = await repository.practitioners(db, [p for p in (ref.source_practitioner_id, ref.accepted_practitioner_id,
                                                              ref.target_practitioner_id) if p])
    sides = sides_of(scope, ref, candidates) if scope is not None else set()
    return referral_view(ref, candidates, events, followups, orgs, people, sides)


async def read_referral(db: AsyncSession, trail: AuditSink, scope: AccessScope, referral_id: uuid.UUID
                        ) -> dict[str, Any]:
    scope.require(Permission.REFERRAL_READ)
    ref = await repository.get(db, scope, referral_id)
    if ref is None:
        trail.record("read", "ServiceRequest", referral_id, "denied", {"reason": "not_found_or_outside_scope"})
        raise NotFound(_NOT_FOUND, code="referral_not_found")
    trail.record("read", "ServiceRequest", ref.id, detail={"patient": ref.patient_id})
    return await _view(db, scope, ref)


async def list_referrals(db: AsyncSession, trail: AuditSink, scope: AccessScope, filters: dict[str, Any]
                         ) -> dict[str, Any]:
    scope.require(Permission.REFERRAL_READ)
    if filters["box"] not in ("inbox", "outbox", "all"):
        raise BadRequest("box 只能是 inbox、outbox 或 all", code="invalid_box")
    if filters.get("organization_id") and filters["organization_id"] != scope.organization_id \
            and scope.role != "district_admin":
        raise PermissionDenied("只能查看本机构的转诊", code="other_institution")
    rows, total, capped = await repository.list_referrals(
        db, scope, box=filters["box"], organization_id=filters.get("organization_id"), mine=filters.get("mine", False),
        status=filters.get("status") or [], direction=filters.get("direction"), type_=filters.get("type"),
        q=filters.get("q"), offset=filters.get("offset", 0), limit=filters.get("limit", 20))
    orgs = await repository.organizations(db, [o for r in rows for o in (r.source_organization_id,
                                                                         r.accepted_organization_id) if o])
    trail.record("search", "ServiceRequest", None, detail={"box": filters["box"], "returned": len(rows)})
    return {"items": [referral_summary(r, orgs) for r in rows], "total": total, "total_capped": capped}


async def expire_overdue(db: AsyncSession, cipher: FieldCipher, trail: AuditSink, now: datetime | None = None,
                         limit: int = 500) -> int:
    """Requested referrals nobody accepted in time expire (the sender is told). Returns how many."""
    expired = 0
    for ref in await repository.due_for_expiry(db, now or utcnow(), limit):
        await act(db, trail, None, cipher, ref.id, "expire", {"version": ref.version,
                                                              "reason": "超过接收时限未被接收，自动过期"})
        expired += 1
    return expired


async def list_followups(db: AsyncSession, trail: AuditSink, scope: AccessScope, status: str | None, offset: int,
                         limit: int) -> dict[str, Any]:
    scope.require(Permission.REFERRAL_READ)
    rows, total = await repository.followups_for(db, scope, status, offset, limit)
    trail.record("search", "Task", None, detail={"kind": "referral_followup", "returned": len(rows)})
    return {"items": [followup_view(f) for f in rows], "total": total}


async def finish_followup(db: AsyncSession, trail: AuditSink, scope: AccessScope, followup_id: uuid.UUID
                          ) -> dict[str, Any]:
    """The family doctor marks a down-referral's follow-up done (their team's tasks only)."""
    scope.require(Permission.REFERRAL_WRITE)
    rows, _ = await repository.followups_for(db, scope, None, 0, 1, followup_id=followup_id)
    if not rows:
        raise NotFound("随访任务不存在或不属于您的团队", code="followup_not_found")
    task = rows[0]
    if task.status != "done":
        task.status, task.done_at = "done", utcnow()
        await db.flush()
    trail.record("update", "Task", task.id, detail={"kind": "referral_followup", "status": "done"})
    return followup_view(task)


def followup_view(f: ReferralFollowup) -> dict[str, Any]:
    return {"id": f.id, "referral_id": f.referral_id, "team_id": f.team_id, "title": f.title,
            "patient_name": f.patient_name, "plan": f.plan, "due_at": f.due_at, "status": f.status,
            "created_at": f.created_at}
