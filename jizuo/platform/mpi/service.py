"""What people do with the MPI: look up a record's person and a person's records, match, and — for data
stewards — decide reviews, link, unlink, merge, split and revert. Nothing here commits.

Who may do what (kept here until roles.py gets MPI permissions):
- lookups and $match: clinical roles and the district administrator (`LOOKUP_ROLES`);
- steward actions: the district administrator (`STEWARD_ROLES`, permission name `MPI_STEWARD`);
- full 身份证/phone only for roles that see them in FHIR too (`SEES_FULL_IDENTIFIERS`); others see masks.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import BadRequest, Conflict, NotFound, PermissionDenied
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import ROLES, Role
from jizuo.platform.mpi import linking
from jizuo.platform.mpi import repository as repo
from jizuo.platform.mpi.golden import as_fhir_patient, display_snapshot
from jizuo.platform.mpi.matching import METHOD_MANUAL, Model, PersonScore, default_model, match_grade, rank_candidates
from jizuo.platform.mpi.models import MpiEvent, MpiLink, MpiPerson, MpiReview, MpiSourceRecord

MPI_STEWARD = "mpi:steward"
STEWARD_ROLES = frozenset({Role.DISTRICT_ADMIN})
LOOKUP_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE, Role.PHARMACIST})
SEES_FULL_IDENTIFIERS = frozenset({Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE})


def require_lookup(scope: AccessScope) -> None:
    if scope.role not in LOOKUP_ROLES:
        raise PermissionDenied(f"当前角色（{ROLES[scope.role].name}）无权查询主索引", code="mpi_lookup_forbidden")


def require_steward(scope: AccessScope) -> None:
    if scope.role not in STEWARD_ROLES:
        raise PermissionDenied(f"当前角色（{ROLES[scope.role].name}）无权执行主索引管理操作，需要数据管理员权限",
                               code="mpi_steward_forbidden")


def reveals(scope: AccessScope) -> bool:
    return scope.role in SEES_FULL_IDENTIFIERS


def _person_not_found(person_id: object) -> NotFound:
    return NotFound(f"主索引人员 {person_id} 不存在", code="mpi_person_not_found")


def _record_not_found(patient_id: str) -> NotFound:
    return NotFound(f"患者记录 Patient/{patient_id} 不在主索引中（不存在或已删除）", code="mpi_record_not_found")


# --- views ----------------------------------------------------------------------------------------------

def link_view(link: MpiLink, source: MpiSourceRecord | None = None) -> dict[str, Any]:
    out = {"source_patient_id": link.patient_id, "person_id": str(link.person_id), "score": link.score,
           "weight": link.weight, "method": link.method, "model_version": link.model_version,
           "matched_patient_id": link.matched_patient_id, "agreement": link.agreement,
           "created_by": link.created_by, "linked_at": link.created_at.isoformat() if link.created_at else None}
    if source is not None:
        out.update(institution_code=source.institution_code, institution_name=source.institution_name, mrn=source.mrn)
    return out


def record_view(source: MpiSourceRecord, link: MpiLink | None, cipher: FieldCipher, full: bool) -> dict[str, Any]:
    return {"source_patient_id": source.patient_id, "institution_code": source.institution_code,
            "institution_name": source.institution_name, "institution_rank": source.institution_rank,
            "mrn": source.mrn, "updated_at": source.record_updated_at.isoformat(),
            "score": link.score if link else None, "method": link.method if link else None,
            **display_snapshot(source.snapshot, cipher, reveal_full=full)}


def event_view(event: MpiEvent) -> dict[str, Any]:
    return {"seq": event.seq, "action": event.action, "person_ids": list(event.person_ids),
            "patient_ids": list(event.patient_ids), "changes": event.changes, "detail": event.detail,
            "actor": event.actor, "reverts_seq": event.reverts_seq, "reverted_by_seq": event.reverted_by_seq,
            "created_at": event.created_at.isoformat() if event.created_at else None}


# --- lookups --------------------------------------------------------------------------------------------

async def person_of_record(db: AsyncSession, audit: AuditSink, scope: AccessScope, patient_id: str
                           ) -> dict[str, Any]:
    require_lookup(scope)
    link = await repo.active_link(db, patient_id)
    if link is None:
        audit.record("mpi_lookup", "Patient", patient_id, "failure", {"reason": "not_in_mpi"})
        raise _record_not_found(patient_id)
    source = await repo.get_source(db, patient_id)
    person = await repo.get_person(db, link.person_id)
    audit.record("mpi_lookup", "Patient", patient_id, detail={"person_id": str(link.person_id)})
    return {**link_view(link, source), "person_status": person.status if person else None}


async def _person(db: AsyncSession, person_id: uuid.UUID) -> MpiPerson:
    person = await repo.get_person(db, person_id)
    if person is None:
        raise _person_not_found(person_id)
    return person


async def records_of_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                            person_id: uuid.UUID) -> list[dict[str, Any]]:
    require_lookup(scope)
    await _person(db, person_id)
    links = {link.patient_id: link for link in await repo.active_links_of_person(db, person_id)}
    sources = await repo.sources_of_persons(db, [person_id])
    audit.record("mpi_lookup", "MpiPerson", person_id, detail={"records": len(sources)})
    return [record_view(s, links.get(s.patient_id), cipher, reveals(scope)) for s in sources]


async def read_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                      person_id: uuid.UUID) -> dict[str, Any]:
    records = await records_of_person(db, audit, scope, cipher, person_id)
    person = await _person(db, person_id)
    golden = person.golden or {}
    shown = display_snapshot(golden, cipher, reveal_full=reveals(scope))
    return {"id": str(person.id), "status": person.status, "version": person.version,
            "merged_into": str(person.merged_into) if person.merged_into else None,
            "golden": {**shown, "sources": golden.get("sources", {}), "rules": golden.get("rules", {})},
            "records": records}


async def person_as_fhir(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                         person_id: uuid.UUID) -> dict[str, Any]:
    require_lookup(scope)
    person = await _person(db, person_id)
    patient_ids = [s.patient_id for s in await repo.sources_of_persons(db, [person_id])]
    audit.record("mpi_lookup", "MpiPerson", person_id, detail={"format": "fhir"})
    return as_fhir_patient(str(person.id), person.status, person.version, person.golden or {}, patient_ids, cipher,
                           reveal_full=reveals(scope),
                           merged_into=str(person.merged_into) if person.merged_into else None)


async def match(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                resource: dict[str, Any], model: Model | None = None) -> list[tuple[PersonScore, str]]:
    """Score a Patient (not stored) against the index: best record per person, with its match grade."""
    require_lookup(scope)
    model = model or default_model()
    from jizuo.fhir.personal_data import protect

    protected, _ = protect(resource, cipher)
    feats = linking.features_of_patient(protected, cipher)
    ranked = rank_candidates(model, feats.as_dict(), await linking.find_candidates(db, feats, None))
    audit.record("mpi_match", "Patient", None, detail={"candidates": len(ranked)})
    return [(item, match_grade(model, item)) for item in ranked]


# --- steward actions ------------------------------------------------------------------------------------

async def _active_source(db: AsyncSession, patient_id: str) -> MpiLink:
    link = await repo.active_link(db, patient_id)
    if link is None:
        raise _record_not_found(patient_id)
    return link


async def _active_person(db: AsyncSession, person_id: uuid.UUID) -> MpiPerson:
    person = await repo.get_person(db, person_id, for_update=True)
    if person is None:
        raise _person_not_found(person_id)
    if person.status != "active":
        raise Conflict(f"主索引人员 {person_id} 当前状态为 {person.status}，不能作为目标", code="mpi_person_inactive")
    return person


async def link_record(db: AsyncSession, audit: AuditSink, scope: AccessScope, patient_id: str,
                      person_id: uuid.UUID, reason: str | None, action: str = "link") -> dict[str, Any]:
    require_steward(scope)
    current = await _active_source(db, patient_id)
    await _active_person(db, person_id)
    if current.person_id == person_id:
        raise Conflict("该记录已关联到此人员", code="mpi_already_linked")
    changes = await linking.move(db, [patient_id], person_id, method=METHOD_MANUAL, actor=scope.username,
                                 reason=reason or action, score=1.0, agreement={"decided_by": scope.username})
    await repo.close_open_reviews(db, patient_id, "linked" if action == "review_link" else "obsolete", scope.username)
    seq = await linking.record_event(db, action, changes, [patient_id], scope.username, {"reason": reason})
    audit.record("mpi_" + action, "Patient", patient_id, detail={"person_id": str(person_id), "event": seq,
                                                                 "from_person_id": str(current.person_id)})
    return event_view(await _event(db, seq))


async def unlink_record(db: AsyncSession, audit: AuditSink, scope: AccessScope, patient_id: str,
                        reason: str | None) -> dict[str, Any]:
    """Take a record out of its person; it becomes a person of its own (never lost)."""
    require_steward(scope)
    current = await _active_source(db, patient_id)
    if len(await repo.active_links_of_person(db, current.person_id)) == 1:
        raise Conflict("该记录是此人员的唯一记录，无需解除关联", code="mpi_only_record")
    changes = await linking.move(db, [patient_id], None, method=METHOD_MANUAL, actor=scope.username,
                                 reason=reason or "unlink", agreement={"decided_by": scope.username})
    seq = await linking.record_event(db, "unlink", changes, [patient_id], scope.username, {"reason": reason})
    audit.record("mpi_unlink", "Patient", patient_id, detail={"from_person_id": str(current.person_id), "event": seq})
    return event_view(await _event(db, seq))


async def merge_persons(db: AsyncSession, audit: AuditSink, scope: AccessScope, person_id: uuid.UUID,
                        into: uuid.UUID, reason: str | None) -> dict[str, Any]:
    require_steward(scope)
    if person_id == into:
        raise BadRequest("不能把人员合并到其自身", code="mpi_merge_self")
    await _active_person(db, person_id)
    await _active_person(db, into)
    patient_ids = [link.patient_id for link in await repo.active_links_of_person(db, person_id)]
    changes = await linking.move(db, patient_ids, into, method=METHOD_MANUAL, actor=scope.username,
                                 reason=reason or "merge", agreement={"decided_by": scope.username})
    before = next((p["after"] for p in changes.person_status if p["id"] == str(person_id)),
                  {"status": "active", "merged_into": None})
    changes.person_status.append({"id": str(person_id), "before": before,
                                  "after": {"status": "merged", "merged_into": str(into)}})
    await repo.set_person_status(db, person_id, "merged", into)
    changes.touched = {person_id, into}
    # person_ids[1] of a merge event is the merged (losing) person: see repository.latest_merge_of
    seq = await linking.record_event(db, "merge", changes, patient_ids, scope.username, {"reason": reason},
                                     persons=[str(person_id), str(into)])
    audit.record("mpi_merge", "MpiPerson", person_id, detail={"into": str(into), "records": len(patient_ids),
                                                               "event": seq})
    return event_view(await _event(db, seq))


async def unmerge_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, person_id: uuid.UUID,
                         reason: str | None) -> dict[str, Any]:
    require_steward(scope)
    event = await repo.latest_merge_of(db, str(person_id))
    if event is None:
        raise Conflict(f"主索引人员 {person_id} 没有可撤销的合并", code="mpi_not_merged")
    return await revert_event(db, audit, scope, event.seq, reason or "unmerge")


async def split_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, person_id: uuid.UUID,
                       patient_ids: list[str], reason: str | None) -> dict[str, Any]:
    """Move some of a person's records to one new person."""
    require_steward(scope)
    await _active_person(db, person_id)
    own = {link.patient_id for link in await repo.active_links_of_person(db, person_id)}
    wanted = list(dict.fromkeys(patient_ids))
    if not wanted or not set(wanted) <= own:
        raise BadRequest("拆分的记录必须全部属于该人员", code="mpi_split_foreign_records")
    if set(wanted) == own:
        raise Conflict("不能把人员的全部记录拆出，请保留至少一条", code="mpi_split_all")
    changes = await linking.move(db, wanted, None, method=METHOD_MANUAL, actor=scope.username,
                                 reason=reason or "split", agreement={"decided_by": scope.username})
    seq = await linking.record_event(db, "split", changes, wanted, scope.username, {"reason": reason})
    audit.record("mpi_split", "MpiPerson", person_id, detail={"records": wanted, "event": seq})
    return event_view(await _event(db, seq))


async def revert_event(db: AsyncSession, audit: AuditSink, scope: AccessScope, seq: int, reason: str | None
                       ) -> dict[str, Any]:
    require_steward(scope)
    new_seq, _ = await linking.revert(db, seq, scope.username, reason)
    audit.record("mpi_revert", "MpiEvent", seq, detail={"event": new_seq, "reason": reason})
    return event_view(await _event(db, new_seq))


async def _event(db: AsyncSession, seq: int) -> MpiEvent:
    event = await repo.get_event(db, seq)
    assert event is not None
    return event


async def list_events(db: AsyncSession, audit: AuditSink, scope: AccessScope, after: int, limit: int,
                      person_id: uuid.UUID | None) -> list[dict[str, Any]]:
    require_lookup(scope)
    events = await repo.list_events(db, after, limit, str(person_id) if person_id else None)
    audit.record("mpi_events", "MpiEvent", None, detail={"after": after, "returned": len(events)})
    return [event_view(e) for e in events]


# --- the review queue -----------------------------------------------------------------------------------

async def review_view(db: AsyncSession, review: MpiReview, cipher: FieldCipher, full: bool) -> dict[str, Any]:
    incoming = await repo.get_source(db, review.patient_id)
    candidate = await repo.get_source(db, review.candidate_patient_id) if review.candidate_patient_id else None
    return {"id": str(review.id), "status": review.status, "score": review.score, "weight": review.weight,
            "model_version": review.model_version, "agreement": review.agreement,
            "source_patient_id": review.patient_id, "candidate_person_id": str(review.candidate_person_id),
            "candidate_patient_id": review.candidate_patient_id,
            "created_at": review.created_at.isoformat() if review.created_at else None,
            "decided_by": review.decided_by, "decision_note": review.decision_note,
            "incoming": record_view(incoming, None, cipher, full) if incoming else None,
            "candidate": record_view(candidate, None, cipher, full) if candidate else None}


async def list_reviews(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher, status: str,
                       offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    require_steward(scope)
    reviews, total = await repo.list_reviews(db, status, offset, limit)
    audit.record("mpi_reviews", "MpiReview", None, detail={"status": status, "returned": len(reviews)})
    return [await review_view(db, r, cipher, reveals(scope)) for r in reviews], total


async def read_review(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                      review_id: uuid.UUID) -> dict[str, Any]:
    require_steward(scope)
    review = await repo.get_review(db, review_id)
    if review is None:
        raise NotFound(f"待审核匹配 {review_id} 不存在", code="mpi_review_not_found")
    audit.record("read", "MpiReview", review_id)
    return await review_view(db, review, cipher, reveals(scope))


async def decide_review(db: AsyncSession, audit: AuditSink, scope: AccessScope, review_id: uuid.UUID,
                        decision: str, note: str | None) -> dict[str, Any]:
    """`link`: the two are one person (manual link); `distinct`: they are not (the review is closed)."""
    require_steward(scope)
    review = await repo.get_review(db, review_id)
    if review is None:
        raise NotFound(f"待审核匹配 {review_id} 不存在", code="mpi_review_not_found")
    if review.status != "open":
        raise Conflict(f"该审核已处理（{review.status}）", code="mpi_review_closed")
    result: dict[str, Any] = {"review_id": str(review_id), "decision": decision}
    if decision == "link":
        result["event"] = await link_record(db, audit, scope, review.patient_id, review.candidate_person_id,
                                            note, action="review_link")
    else:
        audit.record("mpi_review_distinct", "MpiReview", review_id, detail={"patient_id": review.patient_id})
    await db.refresh(review)
    review.status = "linked" if decision == "link" else "distinct"
    review.decided_by, review.decision_note = scope.username, note
    from jizuo.core.clock import utcnow

    review.decided_at = utcnow()
    await db.flush()
    return result
