"""Background work of ingestion: the 前置库 pull schedule. Runs in the serving process; idempotent (a pull
locks its source row and moves the watermark in the batch's transaction)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.periodic import run_every
from jizuo.platform.ingest.frontdb import due_sources, pull

log = logging.getLogger(__name__)
TICK_SECONDS = 15


async def pull_due_sources(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as db:
        due = await due_sources(db)
    for source_id in due:
        try:
            await pull(factory, source_id, actor="scheduler")
        except Exception:  # noqa: BLE001 — one institution's broken feed must not stop the others
            log.exception("front-end database pull failed for source %s", source_id)
    return len(due)


async def run_schedule(factory: async_sessionmaker[AsyncSession]) -> None:
    await run_every(TICK_SECONDS, ("front-end database schedule tick", lambda: pull_due_sources(factory)))
