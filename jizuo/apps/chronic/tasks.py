"""Background work of chronic care (started in the app's lifespan): contracts whose period is over expire, and
their residents become unsigned — hourly, so a server that runs across midnight needs no scheduler.
`jizuo chronic-expire-contracts` does the same once, for operators."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.apps.chronic.contract_repository import expire_contracts
from jizuo.core.clock import today_in_shanghai
from jizuo.core.periodic import run_every
from jizuo.platform.audit.service import Actor, AuditTrail

log = logging.getLogger(__name__)
TICK_SECONDS = 3600.0


async def expire_once(factory: async_sessionmaker[AsyncSession]) -> int:
    trail = AuditTrail()
    async with factory() as db:
        count = await expire_contracts(db, today_in_shanghai())
        if count:
            trail.record("expire", "FamilyContract", None, detail={"expired": count},
                         actor=Actor(username="system", role="system"))
        await trail.flush(db)
        await db.commit()
    return count


async def _expire_and_log(factory: async_sessionmaker[AsyncSession]) -> None:
    if count := await expire_once(factory):
        log.info("family-doctor contracts expired: %d", count)


async def run_contract_expiry(factory: async_sessionmaker[AsyncSession]) -> None:
    await run_every(TICK_SECONDS, ("contract expiry tick", lambda: _expire_and_log(factory)))
