"""Writing mapped resources into the FHIR store, through the MPI, for every ingestion path.

Tabular rows, HL7 v2 messages and quarantine releases all end here: each resource is validated by the FHIR
layer and written with `PUT` semantics (ids are derived from the source record, so a re-send updates), the
MPI listener links every Patient in the same transaction, and rows are written with one statement per table
(the transaction bundle's write buffer). One resource that the FHIR layer refuses fails only its own record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.errors import JizuoError
from jizuo.core.security import get_field_cipher
from jizuo.fhir import service, store
from jizuo.fhir.access import FhirAccess
from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.fhir_listeners import write_listeners


@dataclass
class SummarisingSink:
    """Audits a batch as a whole: one row per action and resource type with the count, not one per resource —
    a 100,000-row upload is one act of one submitter. The batch's records list every resource written."""

    counts: Counter[tuple[str, str | None, str]] = field(default_factory=Counter)
    details: list[dict[str, Any]] = field(default_factory=list)

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None:
        self.counts[(action, resource_type, outcome)] += 1
        if outcome != "success" and len(self.details) < 20:
            self.details.append({"action": action, "resource": f"{resource_type}/{resource_id}", **(detail or {})})

    def write_to(self, trail: AuditTrail, batch_id: object, actor: Actor | None = None) -> None:
        for (action, resource_type, outcome), n in sorted(self.counts.items(), key=str):
            trail.record(f"ingest:{action}", resource_type, batch_id, outcome,
                         {"count": n, "batch_id": str(batch_id), "failures": self.details or None}, actor=actor)
        self.counts.clear()
        self.details.clear()


@dataclass
class WriteResult:
    written: dict[int, list[str]]               # record index → "Type/id" written for it
    refused: dict[int, str]                     # record index → Chinese reason (FHIR validation)


def system_context(db: AsyncSession, sink: SummarisingSink, actor: str, *, link_patients: bool = True
                   ) -> FhirContext:
    """`link_patients=False`: Patients are written without the per-record MPI listener — the caller links the
    chunk afterwards with `link-pending`'s set-wise path (twenty times faster for a file of new patients)."""
    access = FhirAccess(may_read=True, may_write=True, actor=actor)
    return FhirContext(db=db, access=access, audit=sink, cipher=get_field_cipher(),
                       listeners=write_listeners(actor, link_patients=link_patients))


_VOLATILE = ("meta", "id", "text")


def unchanged(ctx: FhirContext, current: Stored | None, resource: dict[str, Any]) -> bool:
    if current is None or current.deleted or not current.resource:
        return False
    stored = service.to_client(ctx, current, full=True)
    return {k: v for k, v in stored.items() if k not in _VOLATILE} == \
        {k: v for k, v in resource.items() if k not in _VOLATILE}


async def write_records(ctx: FhirContext, records: list[list[dict[str, Any]]], *, validated: bool = False
                        ) -> WriteResult:
    """Write each record's resources (a record: its Patient first, then the rest). A record whose resource
    the FHIR layer refuses is reported in `refused`; resources of it written before the refusal stay (a
    Patient is valid on its own). `validated`: see `jizuo.fhir.service.update`."""
    keys = sorted({(r["resourceType"], r["id"]) for resources in records for r in resources})
    ctx.write_buffer = store.WriteBuffer()
    found = await store.get_current_many(ctx.db, keys)
    ctx.prefetched = {key: found.get(key) for key in keys}
    result = WriteResult({}, {})
    written: set[tuple[str, str]] = set()
    for index, resources in enumerate(records):
        refs = []
        for resource in resources:
            key = (resource["resourceType"], resource["id"])
            if key in written:
                # The same resource again in this call (a correction sent twice in one file): write out the
                # buffer so the update below reads the version just written.
                await ctx.flush()
            elif unchanged(ctx, ctx.prefetched.get(key), resource):
                # Institutions resend the patient with every record: an identical one is not a new version,
                # and the MPI has nothing new to match.
                ctx.prefetched.pop(key, None)
                refs.append(f"{key[0]}/{key[1]}")
                continue
            try:
                await service.update(ctx, key[0], key[1], resource, validated=validated)
            except JizuoError as exc:
                result.refused[index] = f"{key[0]} 不符合 FHIR R4：{exc.detail}"
                break
            written.add(key)
            refs.append(f"{key[0]}/{key[1]}")
        result.written[index] = refs
    await ctx.flush()
    ctx.write_buffer = None
    ctx.prefetched = {}
    return result
