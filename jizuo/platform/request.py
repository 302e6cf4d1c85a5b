"""What every API endpoint of the platform and the applications gets: a unit of work and the caller.

The unit of work is one database session plus the request's audit trail. Endpoints commit through it,
which writes the audit rows in the same transaction. Whatever an endpoint leaves uncommitted-but-audited
(reads) is written at the end; when the request fails, the audit rows are still written, on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.errors import AuthenticationFailed, JizuoError
from jizuo.core.security import get_signing_keys
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.audit.writer import AuditWriter
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.service import scope_from_access_token

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass
class Unit:
    db: AsyncSession
    trail: AuditTrail
    audit_writer: AuditWriter | None = None

    async def commit(self) -> None:
        await self.trail.flush(self.db)
        await self.db.commit()

    async def settle_audit_queue(self) -> None:
        """Audit queries first write what this process's read requests have queued."""
        if self.audit_writer is not None:
            await self.audit_writer.flush()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _failure_outcome(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, JizuoError):
        return ("denied" if exc.status in (401, 403) else "failure"), exc.code
    return "failure", type(exc).__name__


async def unit_of_work(request: Request) -> AsyncIterator[Unit]:
    async with write_unit(request) as unit:
        yield unit


def read_unit(request: Request) -> AbstractAsyncContextManager[Unit]:
    """For endpoints that only read (FHIR read, search, history): no BEGIN/ROLLBACK round trips — each
    statement is its own transaction, which at READ COMMITTED sees exactly what it would inside one. Tests
    hand in a single sessionmaker (savepoints), so there it is the ordinary unit of work."""
    read_factory = getattr(request.app.state, "read_sessionmaker", None)
    return _unit(request, read_factory or request.app.state.sessionmaker, read_factory is not None)


def write_unit(request: Request) -> AbstractAsyncContextManager[Unit]:
    return _unit(request, request.app.state.sessionmaker, autocommit=False)


async def read_unit_of_work(request: Request) -> AsyncIterator[Unit]:
    async with read_unit(request) as unit:
        yield unit


@asynccontextmanager
async def _unit(request: Request, factory: async_sessionmaker[AsyncSession], autocommit: bool
                ) -> AsyncIterator[Unit]:
    writer: AuditWriter | None = getattr(request.app.state, "audit_writer", None)
    trail = AuditTrail(ip=client_ip(request), request_id=getattr(request.state, "request_id", None))
    async with factory() as db:
        unit = Unit(db, trail, writer)
        try:
            yield unit
        except BaseException as exc:
            await db.rollback()
            if trail.pending:
                trail.mark_failed(*_failure_outcome(exc))
                async with request.app.state.sessionmaker() as audit_db:
                    await trail.flush(audit_db)
                    await audit_db.commit()
            raise
        if trail.pending:
            # Only audit rows of a read are left to write here (writes commit in their endpoint). A GET that
            # changed nothing hands them to the batching writer; otherwise they need not wait for the WAL flush:
            # PostgreSQL's WAL writer persists them within milliseconds (docs/operations.md, "Audit").
            if _read_only(request, db) and writer is not None and writer.submit(trail.pending):
                trail.pending = []
                return
            if not autocommit:
                await db.execute(text("SET LOCAL synchronous_commit TO off"))
            await unit.commit()


def _read_only(request: Request, db: AsyncSession) -> bool:
    return request.method in ("GET", "HEAD") and not (db.new or db.dirty or db.deleted)


UnitDep = Annotated[Unit, Depends(unit_of_work)]
ReadUnitDep = Annotated[Unit, Depends(read_unit_of_work)]
Token = Annotated[str | None, Depends(bearer)]


async def current_scope(request: Request, unit: UnitDep, token: Token) -> AccessScope:
    return await scope_of(request, unit, token)


async def read_scope(request: Request, unit: ReadUnitDep, token: Token) -> AccessScope:
    return await scope_of(request, unit, token)


async def scope_of(request: Request, unit: Unit, token: str | None) -> AccessScope:
    """The caller behind the bearer token, identified in the unit's audit trail."""
    if not token:
        raise AuthenticationFailed("未登录或登录已过期，请先登录", code="not_authenticated",
                                   headers={"WWW-Authenticate": "Bearer"})
    scope = await scope_from_access_token(unit.db, get_signing_keys(), token, client_ip(request))
    unit.trail.identify(scope)
    return scope


ScopeDep = Annotated[AccessScope, Depends(current_scope)]
ReadScopeDep = Annotated[AccessScope, Depends(read_scope)]
