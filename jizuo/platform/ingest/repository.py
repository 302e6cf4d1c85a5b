"""Every query of ingestion: batches, records, quarantine — filtered by the caller's institution."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.ingest.models import IngestBatch, IngestRecord
from jizuo.platform.registry.models import Organization, Practitioner

ERRORS_IN_RECEIPT = 1000


def institution_filter(scope: AccessScope, column: Any) -> Any | None:
    """None: the whole district; else the condition limiting rows to the caller's institution."""
    if scope.personal_data_reach is Reach.DISTRICT:
        return None
    return column == scope.organization_id


async def create_batch(db: AsyncSession, **values: Any) -> IngestBatch:
    batch = IngestBatch(**values)
    db.add(batch)
    await db.flush()
    return batch


async def get_batch(db: AsyncSession, batch_id: uuid.UUID, *, for_update: bool = False) -> IngestBatch | None:
    query = select(IngestBatch).where(IngestBatch.id == batch_id)
    if for_update:
        query = query.with_for_update()
    return (await db.scalars(query)).one_or_none()


async def pending_batch_ids(db: AsyncSession) -> list[uuid.UUID]:
    """Batches a stop interrupted: received or half processed, payload still held."""
    rows = await db.scalars(select(IngestBatch.id).where(IngestBatch.status.in_(("received", "processing")),
                                                         IngestBatch.payload.is_not(None))
                            .order_by(IngestBatch.created_at))
    return list(rows)


async def latest_by_key(db: AsyncSession, dataset_code: str, institution_id: uuid.UUID | None,
                        keys: Sequence[str]) -> dict[str, tuple[int, str | None, str]]:
    """record_key → (record id, content hash, status) of the newest record with that key."""
    if not keys:
        return {}
    rows = await db.execute(
        select(IngestRecord.record_key, IngestRecord.id, IngestRecord.content_hash, IngestRecord.status)
        .where(IngestRecord.dataset_code == dataset_code, IngestRecord.institution_id == institution_id,
               IngestRecord.record_key.in_(list(set(keys))),
               IngestRecord.status.in_(("accepted", "released", "quarantined")))
        .order_by(IngestRecord.id))
    return {key: (rid, content, status) for key, rid, content, status in rows if key is not None}


async def insert_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(IngestRecord), rows)


async def resolve_records(db: AsyncSession, ids: Sequence[int], status: str, by: str, at: datetime,
                          note: str) -> None:
    if ids:
        await db.execute(update(IngestRecord).where(IngestRecord.id.in_(list(ids)))
                         .values(status=status, resolved_by=by, resolved_at=at, resolution_note=note))


async def add_counts(db: AsyncSession, batch_id: uuid.UUID, *, cursor: int, received: int, accepted: int,
                     quarantined: int, duplicates: int) -> None:
    await db.execute(update(IngestBatch).where(IngestBatch.id == batch_id).values(
        status="processing", cursor=cursor, received=IngestBatch.received + received,
        accepted=IngestBatch.accepted + accepted, quarantined=IngestBatch.quarantined + quarantined,
        duplicates=IngestBatch.duplicates + duplicates))


async def finish_batch(db: AsyncSession, batch_id: uuid.UUID, at: datetime, error: str | None = None) -> None:
    """Done: the payload is dropped (every row is now a record). Failed: the payload stays, so the batch can
    be retried from its cursor once the cause is fixed."""
    values: dict[str, Any] = {"status": "failed", "error": error} if error else {"status": "done", "payload": None}
    await db.execute(update(IngestBatch).where(IngestBatch.id == batch_id).values(finished_at=at, **values))


async def batch_failures(db: AsyncSession, batch_id: uuid.UUID, limit: int = ERRORS_IN_RECEIPT
                         ) -> list[tuple[int, list[dict[str, Any]]]]:
    rows = await db.execute(select(IngestRecord.seq, IngestRecord.failures)
                            .where(IngestRecord.batch_id == batch_id, IngestRecord.failures != [])
                            .order_by(IngestRecord.seq).limit(limit))
    return [(seq, failures) for seq, failures in rows]


async def list_batches(db: AsyncSession, scope: AccessScope, *, dataset_code: str | None, offset: int,
                       limit: int) -> tuple[list[IngestBatch], int]:
    query = select(IngestBatch)
    condition = institution_filter(scope, IngestBatch.institution_id)
    if condition is not None:
        query = query.where(condition)
    if dataset_code:
        query = query.where(IngestBatch.dataset_code == dataset_code)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(query.order_by(IngestBatch.created_at.desc()).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def quarantined(db: AsyncSession, scope: AccessScope, *, batch_id: uuid.UUID | None,
                      dataset_code: str | None, offset: int, limit: int) -> tuple[list[IngestRecord], int]:
    query = select(IngestRecord).where(IngestRecord.status == "quarantined")
    condition = institution_filter(scope, IngestRecord.institution_id)
    if condition is not None:
        query = query.where(condition)
    if batch_id:
        query = query.where(IngestRecord.batch_id == batch_id)
    if dataset_code:
        query = query.where(IngestRecord.dataset_code == dataset_code)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(query.order_by(IngestRecord.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def get_record(db: AsyncSession, scope: AccessScope, record_id: int) -> IngestRecord | None:
    query = select(IngestRecord).where(IngestRecord.id == record_id).with_for_update()
    condition = institution_filter(scope, IngestRecord.institution_id)
    if condition is not None:
        query = query.where(condition)
    return (await db.scalars(query)).one_or_none()


async def organization_lookup(db: AsyncSession) -> dict[str, tuple[str, str]]:
    rows = await db.execute(select(Organization.code, Organization.id, Organization.name)
                            .where(Organization.active.is_(True)))
    return {code: (str(oid), name) for code, oid, name in rows}


async def practitioner_lookup(db: AsyncSession) -> dict[str, tuple[str, str]]:
    rows = await db.execute(select(Practitioner.code, Practitioner.id, Practitioner.name)
                            .where(Practitioner.active.is_(True)))
    return {code: (str(pid), name) for code, pid, name in rows}


async def organization_by_code(db: AsyncSession, code: str) -> Organization | None:
    return (await db.scalars(select(Organization).where(Organization.code == code))).one_or_none()


async def organization_names(db: AsyncSession, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, tuple[str, str]]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await db.execute(select(Organization.id, Organization.code, Organization.name)
                            .where(Organization.id.in_(wanted)))
    return {oid: (code, name) for oid, code, name in rows}


async def organization_code(db: AsyncSession, organization_id: uuid.UUID) -> str | None:
    return await db.scalar(select(Organization.code).where(Organization.id == organization_id))
