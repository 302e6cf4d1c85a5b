"""Notifications of the signed-in user (addressed to their account or to their practitioner record)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from jizuo.platform.notifications import service
from jizuo.platform.notifications.schemas import NotificationOut, NotificationPage
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/notifications", tags=["通知"])


@router.get("", response_model=NotificationPage, summary="我的通知")
async def list_notifications(scope: ScopeDep, unit: UnitDep, unread: bool = False, kind: str | None = None,
                             offset: Annotated[int, Query(ge=0)] = 0,
                             limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await service.list_mine(unit.db, scope, unread_only=unread, kind=kind, offset=offset, limit=limit)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="标记为已读")
async def read_notification(notification_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.mark_read(unit.db, scope, notification_id)
    await unit.commit()
    return result
