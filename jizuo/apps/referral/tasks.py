"""The background loop that expires referrals no institution accepted in time and resolves pending visits
(started in the app's lifespan). `service.expire_overdue` does the work and is what the tests call directly."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.apps.referral.loop import sweep_once
from jizuo.apps.referral.service import expire_overdue
from jizuo.core.periodic import run_every
from jizuo.core.security import get_field_cipher
from jizuo.platform.audit.service import AuditTrail

TICK_SECONDS = 60.0


async def expire_once(factory: async_sessionmaker[AsyncSession]) -> int:
    trail = AuditTrail()
    async with factory() as db:
        count = await expire_overdue(db, get_field_cipher(), trail)
        await trail.flush(db)
        await db.commit()
    return count


async def run_expiry(factory: async_sessionmaker[AsyncSession]) -> None:
    await run_every(TICK_SECONDS, ("referral expiry tick", lambda: expire_once(factory)),
                    # visits whose patient the MPI linked after they were captured
                    ("referral visit sweep", lambda: sweep_once(factory)))
