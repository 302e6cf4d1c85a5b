"""What every API endpoint of the platform and the applications gets: a unit of work and the caller.

The unit of work is one database session plus the request's audit trail. Endpoints commit through it,
which writes the audit rows in the same transaction. Whatever an endpoint leaves uncommitted-but-audited
(reads) is written at the end; when the request fails, the audit rows are still written, on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.errors import AuthenticationFailed, JizuoError
from jizuo.core.security import get_signing_keys
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.service import scope_from_access_token

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass
class Unit:
    db: AsyncSession
    trail: AuditTrail

    async def commit(self) -> None:
        await self.trail.flush(self.db)
        await self.db.commit()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _failure_outcome(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, JizuoError):
        return ("denied" if exc.status in (401, 403) else "failure"), exc.code
    return "failure", type(exc).__name__


async def unit_of_work(request: Request) -> AsyncIterator[Unit]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    trail = AuditTrail(ip=client_ip(request), request_id=getattr(request.state, "request_id", None))
    async with factory() as db:
        unit = Unit(db, trail)
        try:
            yield unit
        except BaseException as exc:
            await db.rollback()
            if trail.pending:
                trail.mark_failed(*_failure_outcome(exc))
                async with factory() as audit_db:
                    await trail.flush(audit_db)
                    await audit_db.commit()
            raise
        if trail.pending:
            # Only audit rows of a read are left to write here (writes commit in their endpoint). They need not
            # wait for the WAL flush: PostgreSQL's WAL writer persists them within milliseconds, and a read
            # request is not worth an fsync of its own (docs/operations.md, "Audit").
            await db.execute(text("SET LOCAL synchronous_commit TO off"))
            await unit.commit()


UnitDep = Annotated[Unit, Depends(unit_of_work)]


async def current_scope(request: Request, unit: UnitDep, token: Annotated[str | None, Depends(bearer)]
                        ) -> AccessScope:
    if not token:
        raise AuthenticationFailed("未登录或登录已过期，请先登录", code="not_authenticated",
                                   headers={"WWW-Authenticate": "Bearer"})
    scope = await scope_from_access_token(unit.db, get_signing_keys(), token, client_ip(request))
    unit.trail.identify(scope)
    return scope


ScopeDep = Annotated[AccessScope, Depends(current_scope)]
