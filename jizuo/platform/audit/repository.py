"""Audit queries. Rows are only ever inserted; the table's trigger refuses changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from jizuo.core.db import Q, insert_rows
from jizuo.platform.audit.models import AuditEvent


async def ensure_audit_partitions(connection: AsyncConnection, months_ahead: int = 2) -> None:
    """Monthly partitions for now and the coming months (the function is created by migration 0001)."""
    await connection.execute(text(
        "SELECT jizuo_ensure_audit_partition((now() + make_interval(months => m))::date) "
        "FROM generate_series(0, :ahead) AS m"), {"ahead": months_ahead})


async def insert_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await insert_rows(session, cast(Table, AuditEvent.__table__), rows)  # one statement, not the ORM's bulk machinery


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    outcome: str | None = None
    organization_code: str | None = None


def _filtered(query: Q, f: AuditFilter) -> Q:
    conditions = [
        (f.since, lambda v: AuditEvent.at >= v),
        (f.until, lambda v: AuditEvent.at < v),
        (f.actor, lambda v: AuditEvent.actor_username == v),
        (f.action, lambda v: AuditEvent.action == v),
        (f.resource_type, lambda v: AuditEvent.resource_type == v),
        (f.resource_id, lambda v: AuditEvent.resource_id == v),
        (f.outcome, lambda v: AuditEvent.outcome == v),
        (f.organization_code, lambda v: AuditEvent.organization_code == v),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    return query


async def list_events(session: AsyncSession, f: AuditFilter, offset: int, limit: int
                      ) -> tuple[list[AuditEvent], int]:
    total = await session.scalar(_filtered(select(func.count()).select_from(AuditEvent), f))
    rows = await session.scalars(
        _filtered(select(AuditEvent), f).order_by(AuditEvent.at.desc(), AuditEvent.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> AuditEvent | None:
    return await session.scalar(select(AuditEvent).where(AuditEvent.id == event_id))
