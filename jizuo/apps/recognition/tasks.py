"""Background work of result mutual recognition: the shipped catalogue, the projection backfill, demo prompts.

All idempotent. `rebuild` is what `jizuo recognition rebuild` and the demo seed run after bulk loads (COPY
bypasses the FHIR write listeners); it re-derives the whole projection from the FHIR store in rid order.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition import repository
from jizuo.apps.recognition.catalogue import shipped, shipped_codes
from jizuo.apps.recognition.extract import projection_rows
from jizuo.apps.recognition.listener import RecognitionListener, forget_reference_data
from jizuo.apps.recognition.models import RecognitionInstitution, RecognitionItem, RecognitionResult
from jizuo.core.clock import utcnow
from jizuo.core.security import FieldCipher
from jizuo.fhir import service as fhir
from jizuo.fhir.access import FhirAccess
from jizuo.fhir.service import FhirContext
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.registry.models import Organization

log = logging.getLogger(__name__)
BATCH = 5000


async def seed_catalogue(db: AsyncSession) -> int:
    """Shipped items (and their codes) that are not in the database yet; QC status of the certified types."""
    existing = set(await db.scalars(select(RecognitionItem.code)))
    added = 0
    for item in shipped()["items"]:
        if item["code"] in existing:
            continue
        item_id = uuid.uuid4()
        await db.execute(insert(RecognitionItem).values(
            id=item_id, code=item["code"], name=item["name"], kind=item["kind"], loinc=item.get("loinc"),
            window_days=item.get("window_days", 14), min_level=str(item.get("min_level", "1")),
            needs_qc=bool(item.get("needs_qc")), price=Decimal(str(item.get("price", 0))),
            members=[str(m) for m in item.get("members") or []]))
        taken = await repository.item_codes_taken(db, [(s, c) for s, c, _ in shipped_codes(item)])
        await repository.replace_item_codes(db, item_id, [
            {"system": s, "code": c, "display": item["name"], "organization_code": org}
            for s, c, org in shipped_codes(item) if (s, c) not in taken])
        added += 1
    listed = set(await db.scalars(select(RecognitionInstitution.organization_id)))
    certified = set(shipped()["institutions"]["certified_types"])
    for org_id, org_type in await db.execute(select(Organization.id, Organization.type)):
        if org_id not in listed and org_type != "admin":
            await db.execute(insert(RecognitionInstitution).values(
                organization_id=org_id, participating=org_type != "cdc", qc_certified=org_type in certified))
    forget_reference_data()
    return added


@dataclass
class RebuildReport:
    scanned: int = 0
    rows: int = 0


async def rebuild(db: AsyncSession) -> RebuildReport:
    """Re-derive the projection from every stored result (one transaction: readers see old or new, never half)."""
    report = RebuildReport()
    codes = await repository.load_code_map(db)
    ranks = {key: org.rank for key, org in (await repository.institutions(db)).items()}
    await repository.clear_projection(db)
    report_of: dict[str, str] = {}
    after = 0
    while True:
        chunk = await repository.stream_results(db, after, BATCH)
        if not chunk:
            break
        rows: list[dict[str, Any]] = []
        for rid, resource in chunk:
            after = rid
            rows.extend(projection_rows(resource, codes, ranks))
            if resource.get("resourceType") == "DiagnosticReport":
                for ref in resource.get("result") or []:
                    if isinstance(ref, dict):
                        report_of[str(ref.get("reference", "")).removeprefix("Observation/")] = resource["id"]
        report.scanned += len(chunk)
        if rows:
            await db.execute(insert(RecognitionResult), rows)
            report.rows += len(rows)
    pairs = list(report_of.items())
    for start in range(0, len(pairs), BATCH):
        part = pairs[start:start + BATCH]
        await db.execute(text(
            "UPDATE recognition_result r SET report_id = v.report FROM unnest(CAST(:obs AS text[]), "
            "CAST(:rep AS text[])) AS v(obs, report) WHERE r.resource_type = 'Observation' AND r.resource_id = v.obs"),
            {"obs": [o for o, _ in part], "rep": [r for _, r in part]})
    await db.execute(text("ANALYZE recognition_result"))
    return report


# --- demo: recent results at tertiary hospitals, so the popup has something to show ---------------------

DEMO_PATIENTS = 12


def _bare(resource: dict[str, Any]) -> dict[str, Any]:
    """Demo results arrive without an encounter of ours (as an outside lab's report would)."""
    return {k: v for k, v in resource.items() if v is not None and v != {}}


async def seed_demo_results(db: AsyncSession, cipher: FieldCipher) -> int:
    """Lab and imaging reports of the last days at 江川区中心医院 (三甲) for demo residents registered at
    JC-C001, written through the FHIR service (so the projection listener runs, as for any live feed).
    Skipped once written (the reports have fixed ids)."""
    from jizuo.fhir.demo import builders as b
    from jizuo.fhir.demo import codes as c
    from jizuo.platform.demo.seed import stable_id

    hospital = await db.scalar(select(Organization).where(Organization.code == "JC-H001"))
    centre = await db.scalar(select(Organization).where(Organization.code == "JC-C001"))
    if hospital is None or centre is None:
        return 0
    patients = list(await db.scalars(text(
        "SELECT patient_id FROM mpi_source_record WHERE institution_code = 'JC-C001' AND NOT deleted "
        "AND person_id IS NOT NULL ORDER BY patient_id LIMIT :n"), {"n": DEMO_PATIENTS}))
    trail = AuditTrail()
    ctx = FhirContext(db=db, access=FhirAccess(may_read=True, may_write=True, actor="recognition-demo"),
                      audit=trail, cipher=cipher, listeners=[RecognitionListener()])
    performer = b.ref("Organization", str(hospital.id), hospital.name)
    written = 0
    now = utcnow()
    for index, patient_id in enumerate(patients):
        marker = str(stable_id("recognition-demo", f"{patient_id}:cbc"))
        if await repository.resources(db, "DiagnosticReport", [marker]):
            continue
        subject = b.ref("Patient", patient_id)
        when = now - timedelta(days=2 + index % 10, hours=3)
        panels = [("cbc", c.CBC_PANEL, [(c.HEMOGLOBIN, 136.0), (c.WBC, 6.4), (c.PLATELETS, 221.0)]),
                  ("chem", c.CHEMISTRY_PANEL, [(c.ALT, 28.0), (c.AST, 24.0), (c.CREATININE, 78.0), (c.GLUCOSE, 5.6)]),
                  ("hba1c", c.HBA1C_PANEL, [(c.HBA1C, 6.4)])]
        for key, panel, values in panels:
            ids = []
            for n, (test, value) in enumerate(values):
                oid = str(stable_id("recognition-demo", f"{patient_id}:{key}:{n}"))
                await fhir.create_with_id(ctx, "Observation", _bare(b.observation(
                    oid, test=test, value=value, gender="male", subject=subject, encounter={}, when=when,
                    performer=performer, laboratory=True)), oid)
                ids.append(oid)
            rid = str(stable_id("recognition-demo", f"{patient_id}:{key}"))
            await fhir.create_with_id(ctx, "DiagnosticReport", _bare(b.report(
                rid, code=panel, subject=subject, encounter={}, when=when, issued=when + timedelta(hours=2),
                performer=performer, interpreter=None, results=ids)), rid)
            written += 1
        if index % 2 == 0:
            rid = str(stable_id("recognition-demo", f"{patient_id}:ct"))
            await fhir.create_with_id(ctx, "DiagnosticReport", _bare(b.report(
                rid, code=c.CHEST_CT, subject=subject, encounter={}, when=when, issued=when + timedelta(hours=4),
                performer=performer, interpreter=None, conclusion=c.CHEST_CT_FINDINGS[0][1],
                findings=c.CHEST_CT_FINDINGS[0][0])), rid)
            written += 1
    return written
