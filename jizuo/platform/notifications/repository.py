"""Every query of the notification service. A reader sees only notifications addressed to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.identity.access import AccessScope
from jizuo.platform.notifications.models import Notification, NotificationDelivery, NotificationOutbox


def addressed_to(scope: AccessScope) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = [Notification.recipient_user_id == scope.user_id]
    if scope.practitioner_id is not None:
        clauses.append(Notification.recipient_practitioner_id == scope.practitioner_id)
    return or_(*clauses) if clauses else false()


async def add_notifications(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(Notification), list(rows))


async def add_outbox(db: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(NotificationOutbox), list(rows))


async def list_for(db: AsyncSession, scope: AccessScope, *, unread_only: bool, kind: str | None, offset: int,
                   limit: int) -> tuple[list[Notification], int, int]:
    mine = select(Notification).where(addressed_to(scope))
    if kind:
        mine = mine.where(Notification.kind == kind)
    shown = mine.where(Notification.read_at.is_(None)) if unread_only else mine
    total = await db.scalar(select(func.count()).select_from(shown.subquery()))
    unread = await db.scalar(select(func.count()).select_from(
        mine.where(Notification.read_at.is_(None)).subquery()))
    rows = await db.scalars(shown.order_by(Notification.created_at.desc(), Notification.id).offset(offset)
                            .limit(limit))
    return list(rows), int(total or 0), int(unread or 0)


async def mark_read(db: AsyncSession, scope: AccessScope, notification_id: uuid.UUID, now: datetime
                    ) -> Notification | None:
    note = await db.scalar(select(Notification).where(Notification.id == notification_id, addressed_to(scope)))
    if note is not None and note.read_at is None:
        note.read_at = now
        await db.flush()
    return note


async def claim_due(db: AsyncSession, now: datetime, limit: int) -> list[NotificationOutbox]:
    """Pending messages whose time has come, locked so that two delivery loops never send one twice."""
    rows = await db.scalars(select(NotificationOutbox)
                            .where(NotificationOutbox.state == "pending", NotificationOutbox.next_attempt_at <= now)
                            .order_by(NotificationOutbox.next_attempt_at).limit(limit)
                            .with_for_update(skip_locked=True))
    return list(rows)


async def record_delivery(db: AsyncSession, message: NotificationOutbox) -> None:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    await db.execute(pg_insert(NotificationDelivery).values(
        id=uuid.uuid4(), outbox_id=message.id, channel=message.channel, payload=message.payload)
        .on_conflict_do_nothing(index_elements=["outbox_id"]))


async def mark_sent(db: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    await db.execute(update(NotificationOutbox).where(NotificationOutbox.id == message_id)
                     .values(state="sent", sent_at=now, attempts=NotificationOutbox.attempts + 1))
