"""One notification service for the whole platform.

`notify` inserts in the caller's transaction and never commits: the notification exists if and only if the
caller's change commits, once. Messages for outside channels go to the outbox, sent by `delivery.run_delivery`
after the commit (retried with back-off; the delivery table's unique outbox id keeps a retry from sending twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import NotFound
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.notifications import repository
from jizuo.platform.notifications.models import Notification

CHANNELS = ("sms", "wechat")


async def notify(db: AsyncSession, *, kind: str, title: str, body: str = "", link: str | None = None,
                 user_ids: Iterable[uuid.UUID] = (), practitioner_ids: Iterable[uuid.UUID] = (),
                 channels: Iterable[str] = ()) -> list[uuid.UUID]:
    """One in-app notification per recipient (users and practitioners, duplicates dropped), plus one outbox
    message per recipient and channel. Returns the notification ids."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for user_id in dict.fromkeys(user_ids):
        rows.append({"recipient_user_id": user_id, "recipient_practitioner_id": None})
    for practitioner_id in dict.fromkeys(practitioner_ids):
        rows.append({"recipient_user_id": None, "recipient_practitioner_id": practitioner_id})
    for row in rows:
        row.update(id=uuid.uuid4(), kind=kind, title=title, body=body, link=link, created_at=now, read_at=None)
    wanted = [c for c in dict.fromkeys(channels) if c in CHANNELS]
    outbox = [{"id": uuid.uuid4(), "notification_id": row["id"], "channel": channel, "state": "pending",
               "attempts": 0, "created_at": now, "next_attempt_at": now,
               "payload": {"kind": kind, "title": title, "body": body, "link": link,
                           "user_id": str(row["recipient_user_id"]) if row["recipient_user_id"] else None,
                           "practitioner_id": (str(row["recipient_practitioner_id"])
                                               if row["recipient_practitioner_id"] else None)}}
              for row in rows for channel in wanted]
    await repository.add_notifications(db, rows)
    await repository.add_outbox(db, outbox)
    return [row["id"] for row in rows]


def notification_view(note: Notification) -> dict[str, Any]:
    return {"id": note.id, "kind": note.kind, "title": note.title, "body": note.body, "link": note.link,
            "created_at": note.created_at, "read_at": note.read_at}


async def list_mine(db: AsyncSession, scope: AccessScope, *, unread_only: bool = False, kind: str | None = None,
                    offset: int = 0, limit: int = 50) -> dict[str, Any]:
    rows, total, unread = await repository.list_for(db, scope, unread_only=unread_only, kind=kind,
                                                    offset=offset, limit=limit)
    return {"items": [notification_view(n) for n in rows], "total": total, "unread": unread}


async def mark_read(db: AsyncSession, scope: AccessScope, notification_id: uuid.UUID) -> dict[str, Any]:
    note = await repository.mark_read(db, scope, notification_id, utcnow())
    if note is None:
        raise NotFound("通知不存在或不是发给您的", code="notification_not_found")
    return notification_view(note)
