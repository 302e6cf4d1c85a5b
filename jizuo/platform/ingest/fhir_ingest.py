"""FHIR submissions from institutions, checked against the catalogue like any other route.

`POST /api/v1/ingest/fhir` takes a Bundle (batch, transaction or collection). Each resource that belongs to a
catalogue data set (an Observation with category laboratory → 检验记录 …) is read back as that set's record
(`RecordReader`) and checked by its rules; it is written only if it passes, else it waits in the quarantine
with its failures — record by record, unlike `/fhir`'s all-or-nothing transaction, because an institution's
feed must not lose 99 good results to one bad one. Resources no data set describes are written after the
FHIR layer's own validation. Everything is written through the MPI, and the batch gets a receipt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import BadRequest
from jizuo.core.security import get_field_cipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir.service import FhirContext
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.compiled import compile_spec
from jizuo.platform.ingest.fhir_records import RecordReader, fhir_view
from jizuo.platform.ingest.mapping import PATIENT_ELEMENT
from jizuo.platform.ingest.pipeline import event_time, record_fingerprints
from jizuo.platform.ingest.writer import SummarisingSink, system_context, write_records
from jizuo.platform.quality.engine import Checked, Context, References

MAX_ENTRIES = 5000


@dataclass
class Entry:
    seq: int
    resource: dict[str, Any]
    reader: RecordReader | None = None
    patient: dict[str, Any] | None = None
    checked: Checked | None = None
    fields: dict[str, str] | None = None


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, mapping))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    """The bundle's resources with ids assigned and `urn:uuid:` references rewritten to them."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("请求体必须是 FHIR Bundle 资源", code="not_a_bundle")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not entries:
        raise BadRequest("Bundle 中没有任何条目（entry）", code="empty_bundle")
    if len(entries) > MAX_ENTRIES:
        raise BadRequest(f"一个 Bundle 最多 {MAX_ENTRIES} 个条目，请拆分提交", code="bundle_too_large")
    mapping: dict[str, str] = {}
    resources = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BadRequest(f"Bundle.entry[{index}] 缺少 resource 或 resourceType", code="bad_entry")
        resource = dict(resource)
        resource.setdefault("id", str(uuid.uuid4()))
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            mapping[full_url] = f"{resource['resourceType']}/{resource['id']}"
        resources.append(resource)
    return [_rewrite(r, mapping) for r in resources]


async def _patient_of(ctx: FhirContext, resource: dict[str, Any], in_bundle: dict[str, dict[str, Any]]
                      ) -> dict[str, Any] | None:
    element = PATIENT_ELEMENT.get(resource["resourceType"])
    reference = (resource.get(element) or {}).get("reference") if element else None
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        return None
    if reference in in_bundle:
        return in_bundle[reference]
    try:
        stored = await fhir_service.read(ctx, "Patient", reference.removeprefix("Patient/"))
    except Exception:  # noqa: BLE001 — an unknown patient is a failed rule of the record, not a crash
        return None
    return fhir_service.to_client(ctx, stored, full=True)


async def readers_for(db: AsyncSession) -> list[RecordReader]:
    from jizuo.platform.standards import service as standards  # the catalogue's store (issue 6)

    catalogue = await standards.get_catalogue(db)
    organizations = {rid: code for code, (rid, _name) in (await repo.organization_lookup(db)).items()}
    practitioners = {rid: code for code, (rid, _name) in (await repo.practitioner_lookup(db)).items()}
    return [RecordReader(compile_spec(fhir_view(d), catalogue), organizations, practitioners)
            for d in catalogue.data_sets.values()]


def best_reader(readers: list[RecordReader], resource: dict[str, Any], patient: dict[str, Any] | None
                ) -> tuple[RecordReader | None, dict[str, str]]:
    """Several data sets may describe the same resource type and category (lab results and the glucose of a
    diabetes follow-up are both laboratory Observations): the most specific set (most constants matched,
    e.g. the follow-up's fixed LOINC code) wins, then the one that finds most of its fields."""
    best: tuple[RecordReader | None, dict[str, str]] = (None, {})
    best_score = (-1, -1)
    for reader in readers:
        if reader.applies_to(resource):
            fields = reader.read(resource, patient)
            score = (len(reader.fixed), len(fields))
            if score > best_score:
                best, best_score = (reader, fields), score
    return best


async def ingest_bundle(db: AsyncSession, trail: AuditTrail, actor: str, institution_id: uuid.UUID,
                        bundle: Any) -> uuid.UUID:
    """Check and write a bundle's resources record by record; one batch, committed by the caller."""
    resources = bundle_resources(bundle)
    batch = await repo.create_batch(db, source="fhir", dataset_code=None, institution_id=institution_id,
                                    filename=None, submitted_by=actor, status="processing", notes={})
    received_at = utcnow()
    readers = await readers_for(db)
    organizations = await repo.organization_lookup(db)
    practitioners = await repo.practitioner_lookup(db)
    references = References(frozenset(organizations), frozenset(practitioners))
    sink = SummarisingSink()
    ctx = system_context(db, sink, actor)
    ctx.reveal_personal_data = True  # to read a stored Patient's 身份证 for the record's identity checks
    patients = {f"Patient/{r['id']}": r for r in resources if r["resourceType"] == "Patient"}
    referenced: set[str] = set()
    entries = []
    seen: set[tuple[Any, ...]] = set()
    for seq, resource in enumerate(resources, start=1):
        patient = await _patient_of(ctx, resource, patients)
        reader, fields = best_reader(readers, resource, patient)
        if resource["resourceType"] == "Patient" and reader is None:
            continue  # written with the records that refer to it
        entry = Entry(seq, resource, reader, patient)
        if patient is not None:
            referenced.add(f"Patient/{patient['id']}")
        if entry.reader is not None:
            entry.fields = fields
            entry.checked = entry.reader.compiled.validator.check(entry.fields, Context(received_at, references,
                                                                                        seen))
        entries.append(entry)
    checked_patients = {id(e.resource) for e in entries}
    standalone = [Entry(seq, r) for seq, r in enumerate(resources, start=1)
                  if r["resourceType"] == "Patient" and f"Patient/{r['id']}" not in referenced
                  and id(r) not in checked_patients]
    await _write_and_record(db, batch.id, institution_id, received_at, ctx, patients, entries + standalone)
    sink.write_to(trail, batch.id)
    return batch.id


async def _write_and_record(db: AsyncSession, batch_id: uuid.UUID, institution_id: uuid.UUID,
                            received_at: Any, ctx: FhirContext, patients: dict[str, dict[str, Any]],
                            entries: list[Entry]) -> None:
    cipher = get_field_cipher()
    passing = [e for e in entries if e.checked is None or e.checked.passed]
    written_patients: set[str] = set()
    own_entries = {f"Patient/{e.resource['id']}" for e in entries if e.resource["resourceType"] == "Patient"}
    groups = []
    for entry in passing:
        group = [entry.resource]
        element = PATIENT_ELEMENT.get(entry.resource["resourceType"])
        reference = (entry.resource.get(element) or {}).get("reference") if element else None
        if reference in patients and reference not in written_patients and reference not in own_entries:
            group.insert(0, patients[reference])
            written_patients.add(reference)
        groups.append(group)
    result = await write_records(ctx, groups)
    refused = {id(passing[i]): reason for i, reason in result.refused.items()}
    written = {id(passing[i]): refs for i, refs in result.written.items()}
    records = []
    counts = {"accepted": 0, "quarantined": 0}
    for entry in sorted(entries, key=lambda e: e.seq):
        failures = [f.as_dict() for f in entry.checked.failures] if entry.checked else []
        if id(entry) in refused:
            failures.append({"rule": "fhir.validation", "dimension": "conformity", "severity": "error",
                             "message": refused[id(entry)], "field": None, "element": None})
        held = any(f["severity"] == "error" for f in failures)
        data_set = entry.reader.data_set if entry.reader else None
        key = (entry.reader.compiled.validator.key_of(entry.checked.values, entry.fields or {})
               if entry.reader and entry.checked else (f"{entry.resource['resourceType']}/{entry.resource['id']}",))
        record_key, content = record_fingerprints(cipher, key, {"resource": orjson.dumps(entry.resource).decode()})
        counts["quarantined" if held else "accepted"] += 1
        records.append({
            "batch_id": batch_id, "seq": entry.seq, "dataset_code": data_set.code if data_set else None,
            "institution_id": institution_id, "status": "quarantined" if held else "accepted",
            "record_key": record_key, "content_hash": content,
            # The resource and its patient as sent: a held record keeps everything needed to write it later.
            "data_enc": cipher.encrypt(orjson.dumps({"fields": entry.fields or {}, "resource": entry.resource,
                                                     "patient": entry.patient if held else None}).decode()),
            "failures": failures, "dimensions": sorted({f["dimension"] for f in failures}),
            "required_total": entry.checked.required_total if entry.checked else 0,
            "required_filled": entry.checked.required_filled if entry.checked else 0,
            "late": entry.checked.late if entry.checked else False, "received_at": received_at,
            "event_at": event_time(entry.checked, data_set.event_field) if entry.checked and data_set else None,
            "resources": [] if held else written.get(id(entry), []),
        })
    await repo.insert_records(db, records)
    await repo.add_counts(db, batch_id, cursor=len(records), received=len(records), duplicates=0, **counts)
    await repo.finish_batch(db, batch_id, utcnow())
