"""Every query of result mutual recognition.

Person lookups read the MPI's tables directly with narrow selects (patient ids only): the check runs on every
order a HIS places, and the MPI's repository functions load whole source records (snapshot JSONB included).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition.catalogue import CodeMap, ItemRule
from jizuo.apps.recognition.models import (
    RecognitionCheck,
    RecognitionInstitution,
    RecognitionItem,
    RecognitionItemCode,
    RecognitionPrompt,
    RecognitionResult,
)
from jizuo.core.db import column_arrays, driver_connection, unnest_insert_sql
from jizuo.fhir.models import FhirResource
from jizuo.platform.mpi.models import MpiSourceRecord
from jizuo.platform.registry.codes import LEVEL_RANK
from jizuo.platform.registry.models import Organization

# --- catalogue ------------------------------------------------------------------------------------------


async def load_code_map(db: AsyncSession) -> CodeMap:
    codes = CodeMap()
    items = await db.execute(select(RecognitionItem).where(RecognitionItem.active.is_(True)))
    for item in items.scalars():
        codes.items[item.code] = ItemRule(item.code, item.name, item.kind, item.window_days,
                                          LEVEL_RANK.get(item.min_level, 0), item.needs_qc, float(item.price))
    rows = await db.execute(select(RecognitionItemCode.system, RecognitionItemCode.code,
                                   RecognitionItemCode.organization_code, RecognitionItem.code)
                            .join(RecognitionItem, RecognitionItem.id == RecognitionItemCode.item_id)
                            .where(RecognitionItem.active.is_(True)))
    for system, code, organization_code, item_code in rows:
        codes.by_code[(system, code)] = item_code
        if organization_code:
            codes.local[(organization_code, code)] = item_code
    return codes


async def list_items(db: AsyncSession) -> list[RecognitionItem]:
    return list(await db.scalars(select(RecognitionItem).order_by(RecognitionItem.kind.desc(), RecognitionItem.code)))


async def codes_of_items(db: AsyncSession) -> dict[uuid.UUID, list[RecognitionItemCode]]:
    found: dict[uuid.UUID, list[RecognitionItemCode]] = {}
    for row in await db.scalars(select(RecognitionItemCode).order_by(RecognitionItemCode.system,
                                                                     RecognitionItemCode.code)):
        found.setdefault(row.item_id, []).append(row)
    return found


async def get_item(db: AsyncSession, code: str) -> RecognitionItem | None:
    return await db.scalar(select(RecognitionItem).where(RecognitionItem.code == code))


async def item_codes_taken(db: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    if not keys:
        return {}
    rows = await db.execute(select(RecognitionItemCode.system, RecognitionItemCode.code, RecognitionItemCode.item_id)
                            .where(func.row(RecognitionItemCode.system, RecognitionItemCode.code)
                                   .in_([func.row(s, c) for s, c in keys])))
    return {(s, c): i for s, c, i in rows}


async def replace_item_codes(db: AsyncSession, item_id: uuid.UUID, codes: list[dict[str, Any]]) -> None:
    await db.execute(delete(RecognitionItemCode).where(RecognitionItemCode.item_id == item_id))
    if codes:
        await db.execute(insert(RecognitionItemCode), [{"id": uuid.uuid4(), "item_id": item_id, **c} for c in codes])


# --- institutions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Institution:
    id: str
    code: str
    name: str
    level: str
    rank: int
    participating: bool
    qc_certified: bool


async def institutions(db: AsyncSession) -> dict[str, Institution]:
    """Every registry organization with its recognition status (absent from the list: participating, no QC)."""
    rows = await db.execute(
        select(Organization.id, Organization.code, Organization.name, Organization.level, Organization.active,
               RecognitionInstitution.participating, RecognitionInstitution.qc_certified,
               RecognitionInstitution.qc_valid_until)
        .outerjoin(RecognitionInstitution, RecognitionInstitution.organization_id == Organization.id))
    today = datetime.now().date()
    found = {}
    for row in rows:
        qc = bool(row.qc_certified) and (row.qc_valid_until is None or row.qc_valid_until >= today)
        found[str(row.id)] = Institution(str(row.id), row.code, row.name, row.level, LEVEL_RANK.get(row.level, 0),
                                         bool(row.active) and row.participating is not False, qc)
    return found


async def institution_rows(db: AsyncSession) -> list[RecognitionInstitution]:
    return list(await db.scalars(select(RecognitionInstitution)))


# --- persons (MPI tables) -------------------------------------------------------------------------------


async def persons_by_id_card(db: AsyncSession, id_bidx: bytes) -> list[uuid.UUID]:
    rows = await db.scalars(select(MpiSourceRecord.person_id).where(
        MpiSourceRecord.id_bidx == id_bidx, MpiSourceRecord.deleted.is_(False),
        MpiSourceRecord.person_id.is_not(None)).distinct())
    return [p for p in rows if p is not None]


async def persons_by_mrn(db: AsyncSession, mrn: str, organization_id: str, organization_code: str
                         ) -> list[uuid.UUID]:
    rows = await db.scalars(select(MpiSourceRecord.person_id).where(
        MpiSourceRecord.mrn == mrn, MpiSourceRecord.deleted.is_(False), MpiSourceRecord.person_id.is_not(None),
        (MpiSourceRecord.institution_id == organization_id) | (MpiSourceRecord.institution_code == organization_code))
        .distinct())
    return [p for p in rows if p is not None]


async def person_of_patient(db: AsyncSession, patient_id: str) -> uuid.UUID | None:
    return await db.scalar(select(MpiSourceRecord.person_id).where(MpiSourceRecord.patient_id == patient_id,
                                                                   MpiSourceRecord.deleted.is_(False)))


@dataclass(frozen=True)
class SourceRecord:
    patient_id: str
    institution_id: str | None
    institution_code: str | None


async def records_of_person(db: AsyncSession, person_id: uuid.UUID) -> list[SourceRecord]:
    rows = await db.execute(select(MpiSourceRecord.patient_id, MpiSourceRecord.institution_id,
                                   MpiSourceRecord.institution_code)
                            .where(MpiSourceRecord.person_id == person_id, MpiSourceRecord.deleted.is_(False)))
    return [SourceRecord(*row) for row in rows]


# --- projection -----------------------------------------------------------------------------------------


async def prior_results(db: AsyncSession, patient_ids: Sequence[str], item_codes: Sequence[str], since: datetime,
                        per_item: int = 20) -> list[RecognitionResult]:
    """Newest first; one index range scan per (patient record, item)."""
    if not patient_ids or not item_codes:
        return []
    query = (select(RecognitionResult)
             .where(RecognitionResult.patient_id.in_(list(patient_ids)),
                    RecognitionResult.item_code.in_(list(item_codes)),
                    RecognitionResult.effective_at >= since)
             .order_by(RecognitionResult.effective_at.desc())
             .limit(per_item * len(item_codes) * len(patient_ids)))
    return list(await db.scalars(query))


async def replace_projections(db: AsyncSession, keys: Sequence[tuple[str, str]], rows: list[dict[str, Any]]
                              ) -> None:
    """The rows of these (type, id) results are replaced by `rows`: one statement (a single result's write is
    the common case), or through SQLAlchemy one DELETE per type and one INSERT."""
    driver = await driver_connection(db)
    if driver is not None:
        table = cast(Table, RecognitionResult.__table__)
        columns = tuple(rows[0]) if rows else ()
        keys_sql = ("WITH d AS (DELETE FROM recognition_result WHERE (resource_type, resource_id) IN "
                    "(SELECT * FROM unnest($1::text[], $2::text[]))) ")
        statement = keys_sql + (unnest_insert_sql(table, columns, 3) if rows else "SELECT 1")
        await driver.execute(statement, [t for t, _ in keys], [i for _, i in keys],
                             *(column_arrays(table, columns, rows) if rows else ()))
        return
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in keys:
        by_type.setdefault(res_type, []).append(res_id)
    for res_type, ids in by_type.items():
        await db.execute(delete(RecognitionResult).where(RecognitionResult.resource_type == res_type,
                                                         RecognitionResult.resource_id.in_(ids)))
    if rows:
        await db.execute(insert(RecognitionResult), rows)


async def set_report_of_observations(db: AsyncSession, report_id: str, observation_ids: Sequence[str]) -> None:
    if observation_ids:
        await db.execute(update(RecognitionResult).where(
            RecognitionResult.resource_type == "Observation",
            RecognitionResult.resource_id.in_(list(observation_ids))).values(report_id=report_id))


async def clear_projection(db: AsyncSession) -> None:
    await db.execute(delete(RecognitionResult))


async def stream_results(db: AsyncSession, after_rid: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
    rows = await db.execute(select(FhirResource.rid, FhirResource.resource).where(
        FhirResource.res_type.in_(("Observation", "DiagnosticReport", "ImagingStudy")),
        FhirResource.deleted.is_(False), FhirResource.rid > after_rid).order_by(FhirResource.rid).limit(limit))
    return [(rid, resource) for rid, resource in rows]


async def resources(db: AsyncSession, res_type: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = await db.execute(select(FhirResource.id, FhirResource.resource).where(
        FhirResource.res_type == res_type, FhirResource.id.in_(list(ids)), FhirResource.deleted.is_(False)))
    return {i: r for i, r in rows}


# --- checks, prompts, decisions ------------------------------------------------------------------------


async def add_check(db: AsyncSession, check: dict[str, Any], prompts: list[dict[str, Any]]) -> None:
    await db.execute(insert(RecognitionCheck).values(**check))
    if prompts:
        await db.execute(insert(RecognitionPrompt), prompts)


async def get_check(db: AsyncSession, check_id: uuid.UUID) -> RecognitionCheck | None:
    return await db.get(RecognitionCheck, check_id)


async def prompts_of_check(db: AsyncSession, check_id: uuid.UUID) -> list[RecognitionPrompt]:
    return list(await db.scalars(select(RecognitionPrompt).where(RecognitionPrompt.check_id == check_id)
                                 .order_by(RecognitionPrompt.item_code)))


async def get_prompt(db: AsyncSession, prompt_id: uuid.UUID, *, for_update: bool = False) -> RecognitionPrompt | None:
    query = select(RecognitionPrompt).where(RecognitionPrompt.id == prompt_id)
    return await db.scalar(query.with_for_update() if for_update else query)


async def decide(db: AsyncSession, prompt_id: uuid.UUID, values: dict[str, Any]) -> None:
    await db.execute(update(RecognitionPrompt).where(RecognitionPrompt.id == prompt_id).values(**values))


# --- statistics ------------------------------------------------------------------------------------------

_GROUPS = {"organization": RecognitionPrompt.organization_id, "department": RecognitionPrompt.department_code,
           "doctor": RecognitionPrompt.practitioner, "item": RecognitionPrompt.item_code,
           "day": func.date(func.timezone("Asia/Shanghai", RecognitionPrompt.at)),
           "reason": RecognitionPrompt.reason}


async def prompt_totals(db: AsyncSession, group: str, start: datetime, end: datetime,
                        organization_id: uuid.UUID | None) -> list[dict[str, Any]]:
    key = _GROUPS[group]
    recognised = RecognitionPrompt.decision == "recognised"
    query = (select(key.label("key"), func.count().label("prompts"),
                    func.count().filter(recognised).label("recognised"),
                    func.count().filter(RecognitionPrompt.decision == "retested").label("retested"),
                    func.coalesce(func.sum(case((recognised, RecognitionPrompt.price), else_=0)), 0).label("saved"))
             .where(RecognitionPrompt.at >= start, RecognitionPrompt.at < end)
             .group_by(key).order_by(key))
    if group == "reason":
        query = query.where(RecognitionPrompt.decision == "retested")
    if organization_id is not None:
        query = query.where(RecognitionPrompt.organization_id == organization_id)
    return [dict(row._mapping) for row in await db.execute(query)]
