"""What people do with the MPI: look up a record's person and a person's records, search, match, and — for
data stewards — decide reviews, link, unlink, merge, split and revert. Nothing here commits.

Who may do what:
- steward actions and the review queue: permission `mpi:steward` (roles.py): the district administrator, and
  an institution administrator for their own institution's records (reach.py);
- lookups, search and $match: clinical roles and stewards (`LOOKUP_ROLES`), each cut to the caller's reach:
  a family doctor finds the persons of their team's signed residents, an institution administrator the
  records registered at their institution (reach.py says why);
- full 身份证/phone only for roles that see them in FHIR too (`SEES_FULL_IDENTIFIERS`); others see masks.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import BadRequest, Conflict, NotFound, PermissionDenied
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import ROLES, Permission, Role
from jizuo.platform.mpi import linking
from jizuo.platform.mpi import repository as repo
from jizuo.platform.mpi.golden import as_fhir_patient, display_snapshot
from jizuo.platform.mpi.matching import METHOD_MANUAL, Model, PersonScore, default_model, match_grade, rank_candidates
from jizuo.platform.mpi.models import MpiEvent, MpiLink, MpiPerson, MpiReview, MpiSourceRecord
from jizuo.platform.mpi.normalise import id_features
from jizuo.platform.mpi.reach import Reach, outside_reach, reach_of

MPI_STEWARD = Permission.MPI_STEWARD
LOOKUP_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE, Role.PHARMACIST})
SEES_FULL_IDENTIFIERS = frozenset({Role.DOCTOR, Role.FAMILY_DOCTOR, Role.NURSE})
_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")


def may_steward(scope: AccessScope) -> bool:
    return scope.can(MPI_STEWARD)


def require_lookup(scope: AccessScope) -> None:
    if scope.role not in LOOKUP_ROLES and not may_steward(scope):
        raise PermissionDenied(f"当前角色（{ROLES[scope.role].name}）无权查询主索引", code="mpi_lookup_forbidden")


def require_steward(scope: AccessScope) -> None:
    if not may_steward(scope):
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
            "linked_by": link.created_by if link else None,
            "linked_at": link.created_at.isoformat() if link and link.created_at else None,
            **display_snapshot(source.snapshot, cipher, reveal_full=full)}


def golden_view(person: MpiPerson, shown: list[MpiSourceRecord], cipher: FieldCipher, full: bool, reach: Reach
                ) -> dict[str, Any]:
    """The golden record; for a records-only reach, only the fields that came from a record the caller sees."""
    golden = dict(person.golden or {})
    sources: dict[str, str] = dict(golden.get("sources", {}))
    rules: dict[str, str] = dict(golden.get("rules", {}))
    if not reach.whole_person:
        keep = {s.patient_id for s in shown}
        hidden = {field for field, patient_id in sources.items() if patient_id not in keep}
        golden = {k: v for k, v in golden.items() if k not in hidden}
        sources = {k: v for k, v in sources.items() if k not in hidden}
        rules = {k: v for k, v in rules.items() if k not in hidden}
    return {**display_snapshot(golden, cipher, reveal_full=full), "sources": sources, "rules": rules}


def event_view(event: MpiEvent) -> dict[str, Any]:
    return {"seq": event.seq, "action": event.action, "person_ids": list(event.person_ids),
            "patient_ids": list(event.patient_ids), "changes": event.changes, "detail": event.detail,
            "actor": event.actor, "reverts_seq": event.reverts_seq, "reverted_by_seq": event.reverted_by_seq,
            "created_at": event.created_at.isoformat() if event.created_at else None}


# --- reach checks ---------------------------------------------------------------------------------------

async def _person(db: AsyncSession, person_id: uuid.UUID) -> MpiPerson:
    person = await repo.get_person(db, person_id)
    if person is None:
        raise _person_not_found(person_id)
    return person


async def _visible_person(db: AsyncSession, reach: Reach, person_id: uuid.UUID) -> MpiPerson:
    person = await _person(db, person_id)
    if not reach.everything and not await repo.visible_person_ids(db, [person_id], reach):
        raise outside_reach(f"主索引人员 {person_id} ")
    return person


async def _require_records_in_reach(db: AsyncSession, reach: Reach, patient_ids: list[str]) -> None:
    """Steward actions move records: every record moved must be in the caller's reach."""
    if reach.everything:
        return
    for source in await repo.sources_by_ids(db, patient_ids):
        if not reach.sees_record(source):
            raise outside_reach(f"记录 Patient/{source.patient_id}（{source.institution_name or '其他机构'}）")


async def _record_visible(db: AsyncSession, reach: Reach, link: MpiLink, source: MpiSourceRecord | None) -> bool:
    if reach.everything:
        return True
    if not reach.whole_person:
        return source is not None and reach.sees_record(source)
    return bool(await repo.visible_person_ids(db, [link.person_id], reach))


# --- lookups --------------------------------------------------------------------------------------------

async def person_of_record(db: AsyncSession, audit: AuditSink, scope: AccessScope, patient_id: str
                           ) -> dict[str, Any]:
    require_lookup(scope)
    link = await repo.active_link(db, patient_id)
    if link is None:
        audit.record("mpi_lookup", "Patient", patient_id, "failure", {"reason": "not_in_mpi"})
        raise _record_not_found(patient_id)
    source = await repo.get_source(db, patient_id)
    if not await _record_visible(db, await reach_of(db, scope), link, source):
        raise outside_reach(f"记录 Patient/{patient_id} ")
    person = await repo.get_person(db, link.person_id)
    audit.record("mpi_lookup", "Patient", patient_id, detail={"person_id": str(link.person_id)})
    return {**link_view(link, source), "person_status": person.status if person else None}


async def _shown_records(db: AsyncSession, reach: Reach, person_id: uuid.UUID
                         ) -> tuple[list[MpiSourceRecord], int]:
    sources = await repo.sources_of_persons(db, [person_id])
    shown = reach.shown_records(sources)
    return shown, len(sources) - len(shown)


async def records_of_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                            person_id: uuid.UUID) -> list[dict[str, Any]]:
    require_lookup(scope)
    reach = await reach_of(db, scope)
    await _visible_person(db, reach, person_id)
    links = {link.patient_id: link for link in await repo.active_links_of_person(db, person_id)}
    shown, _ = await _shown_records(db, reach, person_id)
    audit.record("mpi_lookup", "MpiPerson", person_id, detail={"records": len(shown)})
    return [record_view(s, links.get(s.patient_id), cipher, reveals(scope)) for s in shown]


async def read_person(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                      person_id: uuid.UUID) -> dict[str, Any]:
    require_lookup(scope)
    reach = await reach_of(db, scope)
    person = await _visible_person(db, reach, person_id)
    links = {link.patient_id: link for link in await repo.active_links_of_person(db, person_id)}
    shown, hidden = await _shown_records(db, reach, person_id)
    audit.record("mpi_lookup", "MpiPerson", person_id, detail={"records": len(shown)})
    return {"id": str(person.id), "status": person.status, "version": person.version,
            "merged_into": str(person.merged_into) if person.merged_into else None,
            "golden": golden_view(person, shown, cipher, reveals(scope), reach),
            "records": [record_view(s, links.get(s.patient_id), cipher, reveals(scope)) for s in shown],
            "hidden_records": hidden}


async def person_as_fhir(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                         person_id: uuid.UUID) -> dict[str, Any]:
    require_lookup(scope)
    reach = await reach_of(db, scope)
    person = await _visible_person(db, reach, person_id)
    shown, _ = await _shown_records(db, reach, person_id)
    golden = dict(person.golden or {})
    if not reach.whole_person:
        visible = golden_view(person, shown, cipher, False, reach)["sources"]
        golden = {k: v for k, v in golden.items() if k in visible or k in ("sources", "rules", "record_count")}
    audit.record("mpi_lookup", "MpiPerson", person_id, detail={"format": "fhir"})
    return as_fhir_patient(str(person.id), person.status, person.version, golden, [s.patient_id for s in shown],
                           cipher, reveal_full=reveals(scope),
                           merged_into=str(person.merged_into) if person.merged_into else None)


async def search_persons(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher, q: str
                         ) -> list[dict[str, Any]]:
    """Find persons by person id, by source record (Patient id or MRN) or by 身份证 — within reach."""
    require_lookup(scope)
    reach = await reach_of(db, scope)
    query = q.strip()
    if not query:
        raise BadRequest("请输入人员 ID、患者记录 ID / 病案号或身份证号", code="mpi_search_empty")
    if _ID_NUMBER.fullmatch(query.upper()):
        by, found = "id_number", await repo.persons_matching(db, reach, id_bidx=id_features(cipher, query)["id_bidx"])
    else:
        try:
            person_id: uuid.UUID | None = uuid.UUID(query)
        except ValueError:
            person_id = None
        by = "person_or_record" if person_id else "record"
        found = await repo.persons_matching(db, reach, person_id=person_id, record_key=query)
    results = []
    for pid in found:
        person = await _person(db, pid)
        shown, hidden = await _shown_records(db, reach, pid)
        golden = golden_view(person, shown, cipher, reveals(scope), reach)
        results.append({"id": str(person.id), "status": person.status, "name": golden["name"],
                        "gender": golden["gender"], "birth_date": golden["birth_date"],
                        "id_number": golden["id_number"], "record_count": len(shown), "hidden_records": hidden,
                        "institutions": sorted({s.institution_name or s.institution_code or "" for s in shown})})
    # the query itself (it may be a 身份证) is never written to the audit: only how it was matched
    audit.record("mpi_search", "MpiPerson", None, detail={"by": by, "found": len(results), "reach": reach.label})
    return results


async def match(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                resource: dict[str, Any], model: Model | None = None) -> list[tuple[PersonScore, str]]:
    """Score a Patient (not stored) against the index: best record per person, with its match grade; only
    persons (a records-only reach: records) the caller may see."""
    require_lookup(scope)
    model = model or default_model()
    from jizuo.fhir.personal_data import protect

    protected, _ = protect(resource, cipher)
    feats = linking.features_of_patient(protected, cipher)
    ranked = rank_candidates(model, feats.as_dict(), await linking.find_candidates(db, feats, None))
    reach = await reach_of(db, scope)
    if not reach.everything:
        if reach.whole_person:
            visible = await repo.visible_person_ids(db, [item.person_id for item in ranked], reach)
            ranked = [item for item in ranked if item.person_id in visible]
        else:
            mine = {s.patient_id for s in await repo.sources_by_ids(db, [item.patient_id for item in ranked])
                    if reach.sees_record(s)}
            ranked = [item for item in ranked if item.patient_id in mine]
    audit.record("mpi_match", "Patient", None, detail={"candidates": len(ranked), "reach": reach.label})
    return [(item, match_grade(model, item)) for item in ranked]


async def require_whole_index(db: AsyncSession, scope: AccessScope) -> None:
    """The NDJSON link export and the unfiltered event feed are for callers who see the whole index."""
    require_lookup(scope)
    if not (await reach_of(db, scope)).everything:
        raise PermissionDenied("只有可查看全区主索引的角色可以导出全部关联或读取全部事件", code="mpi_outside_reach")


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
    reach = await reach_of(db, scope)
    current = await _active_source(db, patient_id)
    await _require_records_in_reach(db, reach, [patient_id])
    await _active_person(db, person_id)
    await _visible_person(db, reach, person_id)
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
    await _require_records_in_reach(db, await reach_of(db, scope), [patient_id])
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
    reach = await reach_of(db, scope)
    await _active_person(db, person_id)
    await _active_person(db, into)
    await _visible_person(db, reach, person_id)
    await _visible_person(db, reach, into)
    patient_ids = [link.patient_id for link in await repo.active_links_of_person(db, person_id)]
    await _require_records_in_reach(db, reach, patient_ids)
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
    reach = await reach_of(db, scope)
    await _active_person(db, person_id)
    await _visible_person(db, reach, person_id)
    own = {link.patient_id for link in await repo.active_links_of_person(db, person_id)}
    wanted = list(dict.fromkeys(patient_ids))
    if not wanted or not set(wanted) <= own:
        raise BadRequest("拆分的记录必须全部属于该人员", code="mpi_split_foreign_records")
    if set(wanted) == own:
        raise Conflict("不能把人员的全部记录拆出，请保留至少一条", code="mpi_split_all")
    await _require_records_in_reach(db, reach, wanted)
    changes = await linking.move(db, wanted, None, method=METHOD_MANUAL, actor=scope.username,
                                 reason=reason or "split", agreement={"decided_by": scope.username})
    seq = await linking.record_event(db, "split", changes, wanted, scope.username, {"reason": reason})
    audit.record("mpi_split", "MpiPerson", person_id, detail={"records": wanted, "event": seq})
    return event_view(await _event(db, seq))


async def revert_event(db: AsyncSession, audit: AuditSink, scope: AccessScope, seq: int, reason: str | None
                       ) -> dict[str, Any]:
    require_steward(scope)
    event = await repo.get_event(db, seq)
    if event is not None:
        await _require_records_in_reach(db, await reach_of(db, scope), list(event.patient_ids))
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
    if person_id is None:
        await require_whole_index(db, scope)
    else:
        await _visible_person(db, await reach_of(db, scope), person_id)
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
    reach = await reach_of(db, scope)
    reviews, total = await repo.list_reviews(db, status, offset, limit, reach)
    audit.record("mpi_reviews", "MpiReview", None, detail={"status": status, "returned": len(reviews),
                                                           "reach": reach.label})
    return [await review_view(db, r, cipher, reveals(scope)) for r in reviews], total


async def _review_in_reach(db: AsyncSession, scope: AccessScope, review_id: uuid.UUID) -> MpiReview:
    review = await repo.get_review(db, review_id)
    if review is None:
        raise NotFound(f"待审核匹配 {review_id} 不存在", code="mpi_review_not_found")
    reach = await reach_of(db, scope)
    if not reach.everything and not await repo.review_in_reach(db, review_id, reach):
        raise outside_reach("该审核涉及的记录")
    return review


async def read_review(db: AsyncSession, audit: AuditSink, scope: AccessScope, cipher: FieldCipher,
                      review_id: uuid.UUID) -> dict[str, Any]:
    require_steward(scope)
    review = await _review_in_reach(db, scope, review_id)
    audit.record("read", "MpiReview", review_id)
    return await review_view(db, review, cipher, reveals(scope))


async def decide_review(db: AsyncSession, audit: AuditSink, scope: AccessScope, review_id: uuid.UUID,
                        decision: str, note: str | None) -> dict[str, Any]:
    """`link`: the two are one person (manual link); `distinct`: they are not (the review is closed)."""
    require_steward(scope)
    review = await _review_in_reach(db, scope, review_id)
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
