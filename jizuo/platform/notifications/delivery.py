"""Delivery of the outbox to outside channels. This build ships the local adapter only: it records each
message in `notification_delivery` (and, when JIZUO_NOTIFY_FILE is set, appends it to that file as JSON
lines) instead of calling an SMS gateway or WeChat; a real adapter replaces `send` and keeps the loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.core.periodic import run_every
from jizuo.platform.notifications import repository
from jizuo.platform.notifications.models import NotificationOutbox

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
MAX_ATTEMPTS = 8


def _append_line(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


async def send(db: AsyncSession, message: NotificationOutbox) -> None:
    """The local adapter. Idempotent: a message already delivered is not delivered again."""
    await repository.record_delivery(db, message)
    path = os.environ.get("JIZUO_NOTIFY_FILE")
    if path:
        line = json.dumps({"id": str(message.id), "channel": message.channel, **message.payload},
                          ensure_ascii=False)
        await asyncio.to_thread(_append_line, path, line)


async def deliver_due(db: AsyncSession, limit: int = 100) -> int:
    """Send what is due, in the caller's transaction (the caller commits). Returns how many were sent."""
    now = utcnow()
    sent = 0
    for message in await repository.claim_due(db, now, limit):
        try:
            async with db.begin_nested():
                await send(db, message)
            await repository.mark_sent(db, message.id, now)
            sent += 1
        except Exception as exc:  # noqa: BLE001 — one bad message must not stop the others
            message.attempts += 1
            message.last_error = str(exc)[:300]
            message.state = "failed" if message.attempts >= MAX_ATTEMPTS else "pending"
            message.next_attempt_at = now + timedelta(seconds=30 * 2 ** message.attempts)
    await db.flush()
    return sent


async def _deliver_tick(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as db:
        await deliver_due(db)
        await db.commit()


async def run_delivery(factory: async_sessionmaker[AsyncSession]) -> None:
    await run_every(TICK_SECONDS, ("notification delivery tick", lambda: _deliver_tick(factory)))
