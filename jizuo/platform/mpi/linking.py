"""Linking records to persons: the ingest path (every Patient write) and the one primitive every steward
action is made of — moving records from person to person — with its exact inverse (revert).

Every change is an `mpi_event` holding the links it retired and created and the person statuses it changed,
so any event (an automatic link as much as a steward's merge) can be reverted while nothing later depends on
it. A record is never dropped: unlinking gives it a person of its own, and the old link stays as history.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import Conflict
from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.fhir.personal_data import reveal
from jizuo.fhir.validation import ID_CARD_SYSTEMS
from jizuo.platform.mpi import repository as repo
from jizuo.platform.mpi.golden import Source, snapshot_of, survive
from jizuo.platform.mpi.matching import METHOD_MANUAL, Candidate, Decision, Model, decide, default_model
from jizuo.platform.mpi.normalise import Features, build_features

SYSTEM_ACTOR = "system:mpi"
MAX_REVIEWS_PER_RECORD = 3
LOCK_NAMESPACE = 0x4D5049  # "MPI"
LOCK_STRIPES = 256


@dataclass
class Changes:
    retired_links: list[str] = field(default_factory=list)
    created_links: list[str] = field(default_factory=list)
    person_status: list[dict[str, Any]] = field(default_factory=list)
    touched: set[uuid.UUID] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {"retired_links": self.retired_links, "created_links": self.created_links,
                "person_status": self.person_status}


# --- from a FHIR Patient to a source record -----------------------------------------------------------

def _name_parts(resource: dict[str, Any]) -> tuple[str | None, str | None]:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not name:
        return None, None
    full = name.get("text") or "".join([name.get("family") or "", *(name.get("given") or [])])
    return full or None, name.get("family")


def _address_text(resource: dict[str, Any]) -> str | None:
    addresses = [a for a in resource.get("address") or [] if isinstance(a, dict)]
    address = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else None)
    if not address:
        return None
    return address.get("text") or "".join(str(address.get(k) or "") for k in ("state", "city", "district")) + \
        "".join(address.get("line") or []) or None


def mrn_and_institution(resource: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(MRN, organization id, organization code) from the MR identifier and managingOrganization."""
    mrn = org_id = org_code = None
    for identifier in resource.get("identifier") or []:
        if not isinstance(identifier, dict) or identifier.get("system") in ID_CARD_SYSTEMS:
            continue
        codes = {c.get("code") for c in (identifier.get("type") or {}).get("coding") or [] if isinstance(c, dict)}
        if "MR" in codes or (mrn is None and identifier.get("use") == "usual"):
            mrn = identifier.get("value")
            assigner = identifier.get("assigner") or {}
            org_id = str(assigner.get("reference") or "").removeprefix("Organization/") or None
            org_code = (assigner.get("identifier") or {}).get("value")
    reference = str((resource.get("managingOrganization") or {}).get("reference") or "")
    if reference.startswith("Organization/"):
        org_id = reference.removeprefix("Organization/")
    return mrn, org_id, org_code


def features_of_patient(resource: dict[str, Any], cipher: FieldCipher) -> Features:
    """Features of a stored (protected) Patient: 身份证 and phone are decrypted only to be hashed."""
    from jizuo.fhir.demo.codes import INSURANCE_SYSTEM

    plain = reveal(copy.deepcopy(resource), cipher, full=True)
    full, family = _name_parts(plain)
    identifiers = [i for i in plain.get("identifier") or [] if isinstance(i, dict)]
    id_number = next((i.get("value") for i in identifiers if i.get("system") in ID_CARD_SYSTEMS), None)
    insurance = next((i.get("value") for i in identifiers if i.get("system") == INSURANCE_SYSTEM), None)
    phone = next((t.get("value") for t in plain.get("telecom") or []
                  if isinstance(t, dict) and t.get("system") in ("phone", "sms")), None)
    return build_features(cipher, name=full, family=family, gender=plain.get("gender"),
                          birth_date=plain.get("birthDate"), id_number=id_number, phone=phone,
                          address=_address_text(plain), insurance_no=insurance)


async def source_values(db: AsyncSession, patient_id: str, resource: dict[str, Any], feats: Features,
                        updated_at: datetime) -> dict[str, Any]:
    mrn, org_id, org_code = mrn_and_institution(resource)
    found = await repo.institution(db, org_id, org_code)
    code, name, rank = found if found else (org_code, None, 0)
    return {"patient_id": patient_id, "institution_id": org_id, "institution_code": code, "institution_name": name,
            "institution_rank": rank, "mrn": mrn, "deleted": False, "record_updated_at": updated_at,
            "snapshot": snapshot_of(resource), **feats.as_dict()}


# --- the ingest path ----------------------------------------------------------------------------------

def lock_keys(feats: Features) -> set[str]:
    """What two registrations of one newcomer share: the 身份证 hash, or the name sound + birth year."""
    return {k for k in (feats.id_bidx.hex() if feats.id_bidx else None,
                        f"{feats.name_fuzzy}|{feats.birth_year}" if feats.name_fuzzy else None) if k}


async def lock_stripes(db: AsyncSession, keys: Iterable[str]) -> None:
    """Serialise concurrent writes of what may be the same person, so two hospitals registering one newcomer
    at once do not create two persons: transaction-scoped advisory locks, taken in ascending order (no
    deadlock between two takers), in one statement. Striped: at most LOCK_STRIPES distinct locks per
    transaction, so a 10,000-Patient bundle stays well inside PostgreSQL's lock table
    (max_locks_per_transaction)."""
    stripes = sorted({hash_stripe(key) for key in keys})
    if stripes:
        await db.execute(text("SELECT pg_advisory_xact_lock(:ns, stripe) FROM "
                              "(SELECT unnest(CAST(:stripes AS integer[])) AS stripe ORDER BY 1) AS ordered"),
                         {"ns": LOCK_NAMESPACE, "stripes": stripes})


def hash_stripe(key: str) -> int:
    import zlib

    return zlib.crc32(key.encode()) % LOCK_STRIPES


async def find_candidates(db: AsyncSession, feats: Features, exclude: str | None) -> list[Candidate]:
    rows = await repo.candidates(db, feats, exclude)
    return [Candidate(row["person_id"], row["patient_id"], row) for row in rows]


async def ingest(db: AsyncSession, audit: AuditSink, patient_id: str, resource: dict[str, Any],
                 updated_at: datetime, cipher: FieldCipher, *, actor: str = SYSTEM_ACTOR,
                 model: Model | None = None) -> Decision | None:
    """Upsert the source record of a written Patient and (re)link it. Returns the decision, if one was made."""
    model = model or default_model()
    feats = features_of_patient(resource, cipher)
    await lock_stripes(db, lock_keys(feats))
    await repo.upsert_source(db, await source_values(db, patient_id, resource, feats, updated_at))
    current = await repo.active_link(db, patient_id)
    if current is not None and current.method == METHOD_MANUAL:  # a steward's decision stands
        await refresh_golden(db, {current.person_id})
        return None
    decision = decide(model, feats.as_dict(), await find_candidates(db, feats, patient_id))
    target = decision.person_id
    if current is not None:
        alone = len(await repo.active_links_of_person(db, current.person_id)) == 1
        if target == current.person_id or (target is None and alone):
            await refresh_golden(db, {current.person_id})
            await _open_reviews(db, patient_id, decision, model)
            return decision
    best = decision.best if decision.outcome == "link" else None
    score = None if best is None else 1.0 if decision.method.startswith("deterministic") else best.probability
    changes = await move(db, [patient_id], target, method=decision.method, actor=actor, reason="matching",
                         score=score, weight=best.score.weight if best else None,
                         agreement=best.score.explain() if best else {}, model_version=model.version,
                         matched=best.patient_id if best else None)
    action = "relink" if current else ("auto_link" if decision.outcome == "link" else "new_person")
    seq = await record_event(db, action, changes, [patient_id], actor, detail={
        "outcome": decision.outcome, "method": decision.method, "model_version": model.version,
        "score": score})
    await _open_reviews(db, patient_id, decision, model)
    person = next(iter(changes.touched - ({current.person_id} if current else set())), target)
    audit.record("mpi_link", "Patient", patient_id, detail={
        "person_id": str(person), "outcome": decision.outcome, "method": decision.method, "event": seq,
        "score": score, "model_version": model.version})
    return decision


async def _open_reviews(db: AsyncSession, patient_id: str, decision: Decision, model: Model) -> None:
    await repo.close_open_reviews(db, patient_id, "obsolete", SYSTEM_ACTOR)
    if decision.outcome != "review":
        return
    own = await repo.active_link(db, patient_id)
    for item in [r for r in decision.ranked if r.probability >= model.thresholds.lower][:MAX_REVIEWS_PER_RECORD]:
        if own is not None and item.person_id == own.person_id:
            continue
        await repo.add_review(db, patient_id=patient_id, candidate_person_id=item.person_id,
                              candidate_patient_id=item.patient_id, score=item.probability, weight=item.score.weight,
                              agreement=item.score.explain(), model_version=model.version)


async def retire_deleted(db: AsyncSession, audit: AuditSink, patient_id: str, actor: str = SYSTEM_ACTOR) -> None:
    """A deleted Patient leaves its person; the link is retired (kept as history), the record flagged."""
    current = await repo.active_link(db, patient_id)
    if current is None:
        return
    changes = Changes()
    await repo.retire_links(db, [current.id], actor, "source_deleted")
    changes.retired_links.append(str(current.id))
    await repo.mark_source_deleted(db, patient_id)
    await repo.close_open_reviews(db, patient_id, "obsolete", actor)
    await _settle_persons(db, {current.person_id}, changes)
    seq = await record_event(db, "retire", changes, [patient_id], actor, detail={"reason": "source_deleted"})
    audit.record("mpi_unlink", "Patient", patient_id, detail={"person_id": str(current.person_id), "event": seq,
                                                              "reason": "source_deleted"})


# --- moving records between persons, and back --------------------------------------------------------

async def move(db: AsyncSession, patient_ids: list[str], target: uuid.UUID | None, *, method: str, actor: str,
               reason: str, score: float | None = None, weight: float | None = None,
               agreement: dict[str, Any] | None = None, model_version: str | None = None,
               matched: str | None = None) -> Changes:
    """Give `patient_ids` an active link to `target` (a new person when None), retiring their current links."""
    changes = Changes()
    if target is None:
        target = await repo.new_person(db)
        changes.person_status.append({"id": str(target), "before": {"status": "retired", "merged_into": None},
                                      "after": {"status": "active", "merged_into": None}})
    changes.touched.add(target)
    for patient_id in patient_ids:
        current = await repo.active_link(db, patient_id)
        if current is not None:
            await repo.retire_links(db, [current.id], actor, reason)
            changes.retired_links.append(str(current.id))
            changes.touched.add(current.person_id)
        link_id = await repo.add_link(db, patient_id=patient_id, person_id=target, method=method, score=score,
                                      weight=weight, agreement=agreement or {}, model_version=model_version,
                                      matched_patient_id=matched, created_by=actor)
        changes.created_links.append(str(link_id))
    await repo.set_person_of_sources(db, patient_ids, target)
    await _settle_persons(db, changes.touched, changes)
    return changes


async def _settle_persons(db: AsyncSession, person_ids: set[uuid.UUID], changes: Changes) -> None:
    """A person left without records is retired (a merged one stays `merged`); golden records rebuilt."""
    for person_id in person_ids:
        person = await repo.get_person(db, person_id)
        if person is None:
            continue
        empty = not await repo.active_links_of_person(db, person_id)
        if empty and person.status == "active":
            changes.person_status.append({"id": str(person_id),
                                          "before": {"status": "active", "merged_into": None},
                                          "after": {"status": "retired", "merged_into": None}})
            await repo.set_person_status(db, person_id, "retired", None)
    changes.touched |= person_ids
    await refresh_golden(db, person_ids)


async def refresh_golden(db: AsyncSession, person_ids: set[uuid.UUID]) -> None:
    for person_id in person_ids:
        sources = [Source(s.patient_id, s.snapshot, s.institution_rank, s.record_updated_at, s.id_valid)
                   for s in await repo.sources_of_persons(db, [person_id])]
        await repo.save_golden(db, person_id, survive(sources), None)


async def record_event(db: AsyncSession, action: str, changes: Changes, patient_ids: list[str], actor: str,
                       detail: dict[str, Any] | None = None, reverts: int | None = None,
                       persons: list[str] | None = None) -> int:
    persons = persons or sorted(str(p) for p in changes.touched)
    return await repo.add_event(db, action=action, person_ids=persons, patient_ids=patient_ids,
                                changes=changes.as_json(), detail=detail or {}, actor=actor, reverts_seq=reverts)


async def revert(db: AsyncSession, seq: int, actor: str, reason: str | None) -> tuple[int, Changes]:
    """Undo event `seq` exactly: its created links retired, its retired links active again, person statuses
    restored. Refused (409) when a later change still builds on it: revert that one first."""
    event = await repo.get_event(db, seq, for_update=True)
    if event is None:
        from jizuo.core.errors import NotFound

        raise NotFound(f"主索引事件 #{seq} 不存在", code="mpi_event_not_found")
    if event.reverted_by_seq is not None:
        raise Conflict(f"事件 #{seq} 已被事件 #{event.reverted_by_seq} 撤销", code="mpi_event_already_reverted")
    created = [uuid.UUID(i) for i in event.changes.get("created_links", [])]
    retired = [uuid.UUID(i) for i in event.changes.get("retired_links", [])]
    if any(link.status != "active" for link in await repo.links_by_ids(db, created)):
        raise Conflict(f"事件 #{seq} 之后这些记录又有变更，请先撤销之后的操作", code="mpi_event_superseded")
    old_links = await repo.links_by_ids(db, retired)
    restored = {link.patient_id for link in old_links}
    if any(link.patient_id not in restored for link in await repo.links_by_ids(db, created)):
        raise Conflict(f"事件 #{seq} 是记录的首次关联，撤销会使记录失去人员；请改用“解除关联”",
                       code="mpi_event_not_revertible")
    changes = Changes(retired_links=[str(i) for i in created], created_links=[str(i) for i in retired])
    changes.touched |= {uuid.UUID(p) for p in event.person_ids}
    await repo.retire_links(db, created, actor, f"revert #{seq}")
    for link in old_links:
        if (source := await repo.get_source(db, link.patient_id)) is not None and source.deleted:
            continue  # a record deleted since stays retired
        if await repo.active_link(db, link.patient_id) is not None:
            raise Conflict(f"记录 {link.patient_id} 已有其他有效关联，无法撤销事件 #{seq}", code="mpi_event_superseded")
        await repo.reactivate_links(db, [link.id])
        await repo.set_person_of_sources(db, [link.patient_id], link.person_id)
    for item in reversed(event.changes.get("person_status", [])):
        before = item["before"]
        await repo.set_person_status(db, uuid.UUID(item["id"]), before["status"],
                                     uuid.UUID(before["merged_into"]) if before.get("merged_into") else None)
        changes.person_status.append({"id": item["id"], "before": item["after"], "after": before})
    await refresh_golden(db, changes.touched)
    new_seq = await record_event(db, "revert", changes, list(event.patient_ids), actor,
                                 detail={"reverted_action": event.action, "reason": reason}, reverts=seq)
    await repo.mark_reverted(db, seq, new_seq)
    return new_seq, changes
