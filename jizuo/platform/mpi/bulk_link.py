"""Linking a chunk of new records at once: what `linking.ingest` does for one record, set-wise.

`link-pending` meets thousands of Patients the index has never seen (a bulk import, the demo's history).
One by one, each costs about twenty statements; here a chunk costs about fifteen in all. The decisions are
the listener's, made in the same order with the same view: each record is scored (`matching.decide`)
against the index as committed — candidates fetched for the whole chunk in two statements — plus the
records decided before it in this chunk (`batch.MemoryIndex`, the in-memory twin of the SQL blocking). The
rows written are the ones `ingest` writes: source record, link, a `new_person` or `auto_link` event per
record (revertible like any other), review items between the thresholds, golden records rebuilt.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.security import FieldCipher
from jizuo.fhir.access import AuditSink
from jizuo.platform.mpi import linking
from jizuo.platform.mpi import repository as repo
from jizuo.platform.mpi.batch import MemoryIndex
from jizuo.platform.mpi.golden import Source, snapshot_of, survive
from jizuo.platform.mpi.matching import Candidate, Decision, Model, decide
from jizuo.platform.mpi.models import MpiLink, MpiPerson, MpiReview, MpiSourceRecord
from jizuo.platform.mpi.normalise import Features


@dataclass
class _New:
    patient_id: str
    resource: dict[str, Any]
    updated_at: datetime
    feats: Features
    decision: Decision | None = None
    person_id: uuid.UUID | None = None
    link_id: uuid.UUID | None = None


async def _source_rows(db: AsyncSession, records: list[_New]) -> list[dict[str, Any]]:
    found = [linking.mrn_and_institution(r.resource) for r in records]
    by_id, by_code = await repo.institutions(db, {org for _, org, _ in found if org},
                                             {code for _, _, code in found if code})
    rows = []
    for record, (mrn, org_id, org_code) in zip(records, found, strict=True):
        known = by_id.get(org_id or "") if org_id else by_code.get(org_code or "")
        code, name, rank = known if known else (org_code, None, 0)
        rows.append({"patient_id": record.patient_id, "person_id": record.person_id, "institution_id": org_id,
                     "institution_code": code, "institution_name": name, "institution_rank": rank, "mrn": mrn,
                     "deleted": False, "record_updated_at": record.updated_at,
                     "snapshot": snapshot_of(record.resource), **record.feats.as_dict()})
    return rows


def _decide(model: Model, records: list[_New], db_candidates: dict[int, list[dict[str, Any]]]) -> set[uuid.UUID]:
    """Decide each record in order; returns the persons created for this chunk."""
    chunk = MemoryIndex(model.settings)
    created: set[uuid.UUID] = set()
    for i, record in enumerate(records):
        record_feats = record.feats.as_dict()
        candidates = [Candidate(row["person_id"], row["patient_id"], row) for row in db_candidates[i]]
        candidates += chunk.candidates(record_feats)
        record.decision = decide(model, record_feats, candidates)
        if record.decision.outcome == "link":
            record.person_id = record.decision.person_id
        else:
            record.person_id = uuid.uuid4()
            created.add(record.person_id)
        record.link_id = uuid.uuid4()
        chunk.add(record.patient_id, record_feats, record.person_id)
    return created


def _link_row(record: _New, model: Model, actor: str) -> tuple[dict[str, Any], float | None]:
    decision = record.decision
    assert decision is not None
    best = decision.best if decision.outcome == "link" else None
    score = None if best is None else 1.0 if decision.method.startswith("deterministic") else best.probability
    return {"id": record.link_id, "patient_id": record.patient_id, "person_id": record.person_id,
            "status": "active", "method": decision.method, "score": score,
            "weight": best.score.weight if best else None, "agreement": best.score.explain() if best else {},
            "model_version": model.version, "matched_patient_id": best.patient_id if best else None,
            "created_by": actor}, score


def _review_rows(record: _New, model: Model) -> list[dict[str, Any]]:
    decision = record.decision
    if decision is None or decision.outcome != "review":
        return []
    ranked = [r for r in decision.ranked if r.probability >= model.thresholds.lower and r.person_id != record.person_id]
    return [{"id": uuid.uuid4(), "status": "open", "patient_id": record.patient_id,
             "candidate_person_id": item.person_id, "candidate_patient_id": item.patient_id,
             "score": item.probability, "weight": item.score.weight, "agreement": item.score.explain(),
             "model_version": model.version} for item in ranked[:linking.MAX_REVIEWS_PER_RECORD]]


def outcome_of(decision: Decision | None) -> str:
    """link:<method> | review | new, or kept (a steward's manual link stood)."""
    if decision is None:
        return "kept"
    return f"link:{decision.method}" if decision.outcome == "link" else decision.outcome


async def link_new_records(db: AsyncSession, audit: AuditSink, rows: list[Any], cipher: FieldCipher, model: Model,
                           actor: str) -> Counter[str]:
    """Link `rows` (rid, id, last_updated, resource) of Patients without a source record; returns outcomes.
    Records that got a source record meanwhile (a listener was faster) are left to `linking.ingest`."""
    records = [_New(row.id, row.resource, row.last_updated, linking.features_of_patient(row.resource, cipher))
               for row in rows]
    keys: set[str] = set()
    for record in records:
        keys |= linking.lock_keys(record.feats)
    await linking.lock_stripes(db, keys)
    taken = await repo.existing_sources(db, [r.patient_id for r in records])
    outcomes: Counter[str] = Counter()
    for record in [r for r in records if r.patient_id in taken]:
        outcomes[outcome_of(await linking.ingest(db, audit, record.patient_id, record.resource, record.updated_at,
                                                 cipher, actor=actor, model=model))] += 1
    records = [r for r in records if r.patient_id not in taken]
    if not records:
        return outcomes
    created = _decide(model, records, await repo.candidates_of_many(db, [r.feats for r in records]))

    await repo.insert_many(db, MpiPerson, [{"id": p, "status": "active", "golden": {}, "version": 1}
                                           for p in created])
    await repo.insert_many(db, MpiSourceRecord, await _source_rows(db, records))
    links, events, reviews = [], [], []
    for record in records:
        link, score = _link_row(record, model, actor)
        links.append(link)
        reviews += _review_rows(record, model)
        assert record.decision is not None and record.person_id is not None
        new_person = record.person_id in created
        events.append({"action": "new_person" if new_person else "auto_link", "person_ids": [str(record.person_id)],
                       "patient_ids": [record.patient_id], "actor": actor, "reverts_seq": None,
                       "changes": {"retired_links": [], "created_links": [str(record.link_id)],
                                   "person_status": [{"id": str(record.person_id),
                                                      "before": {"status": "retired", "merged_into": None},
                                                      "after": {"status": "active", "merged_into": None}}]
                                   if new_person else []},
                       "detail": {"outcome": record.decision.outcome, "method": record.decision.method,
                                  "model_version": model.version, "score": score}})
        outcomes[outcome_of(record.decision)] += 1
    await repo.insert_many(db, MpiLink, links)
    await repo.insert_many(db, MpiReview, reviews)
    seqs = await repo.add_events(db, events)
    touched = {r.person_id for r in records if r.person_id is not None}
    goldens: dict[uuid.UUID, list[Source]] = {p: [] for p in touched}
    for source in await repo.sources_of_persons(db, sorted(touched)):
        if source.person_id is not None:
            goldens[source.person_id].append(Source(source.patient_id, source.snapshot, source.institution_rank,
                                                    source.record_updated_at, source.id_valid))
    await repo.save_goldens(db, {p: survive(sources) for p, sources in goldens.items()})
    for record, seq, link in zip(records, seqs, links, strict=True):
        assert record.decision is not None
        audit.record("mpi_link", "Patient", record.patient_id, detail={
            "person_id": str(record.person_id), "outcome": record.decision.outcome,
            "method": record.decision.method, "event": seq, "score": link["score"], "model_version": model.version})
    return outcomes
