"""The few queries of HL7 v2 intake that the ingest repository does not already have."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.ingest.models import IngestBatch
from jizuo.platform.registry.models import Organization


async def active_organization(db: AsyncSession, code: str) -> tuple[str, str, str] | None:
    """(id, code, name) of the active institution with this registry code."""
    row = (await db.execute(select(Organization.id, Organization.code, Organization.name)
                            .where(Organization.code == code, Organization.active.is_(True)))).first()
    return (str(row[0]), row[1], row[2]) if row else None


async def close_open_mllp_batches(db: AsyncSession, before: datetime, at: datetime) -> int:
    """MLLP batches a stop left open (opened before this server started, so their connection is gone): every
    message in them was committed with its record and ACKed, so they are simply done. (Should a sibling
    worker still be using one, its next message sets it back to processing.)"""
    result = await db.execute(update(IngestBatch)
                              .where(IngestBatch.source == "mllp", IngestBatch.status.in_(("received", "processing")),
                                     IngestBatch.created_at < before)
                              .values(status="done", finished_at=at, payload=None))
    return int(getattr(result, "rowcount", 0) or 0)
