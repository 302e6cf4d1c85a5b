"""The hot request path: the caller cache and its invalidation, the batching audit writer, and read-only
requests without a transaction — each checked against the real database and a real server process."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jizuo.core.callers import CallerCache, callers_changed, listen_for_changes
from jizuo.core.clock import utcnow
from jizuo.core.db import make_engine, make_sessionmaker
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.audit.writer import AuditWriter


async def _eventually(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


# --- caller cache -------------------------------------------------------------------------------------------

def test_the_cache_keeps_nothing_while_it_is_not_listening() -> None:
    cache = CallerCache()
    cache.put("token", "scope")
    assert cache.get("token") is None


def test_an_entry_outlives_neither_the_ttl_nor_the_token() -> None:
    cache = CallerCache(ttl=0.05)
    cache.enabled = True
    cache.put("a", "scope-a")
    cache.put("b", "scope-b", expires_at=time.time() - 1)  # the token itself has expired
    assert cache.get("a") == "scope-a" and cache.get("b") is None
    time.sleep(0.06)
    assert cache.get("a") is None


async def test_a_change_committed_by_another_process_empties_the_cache(engine: AsyncEngine,
                                                                       database_url: str) -> None:
    cache = CallerCache()
    listener = asyncio.create_task(listen_for_changes(database_url, cache))
    try:
        await _eventually(lambda: cache.enabled)
        cache.put("token", "scope")
        async with AsyncSession(engine) as db:  # stands for another server process's transaction
            await callers_changed(db)
            assert cache.get("token") == "scope"  # not before it commits
            await db.commit()
        await _eventually(lambda: cache.get("token") is None)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    assert not cache.enabled


async def test_the_cache_is_off_while_the_database_cannot_be_reached() -> None:
    cache = CallerCache()
    listener = asyncio.create_task(listen_for_changes("postgresql://nobody@127.0.0.1:1/none", cache))
    await asyncio.sleep(0.3)
    cache.put("token", "scope")
    assert not cache.enabled and cache.get("token") is None
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)


# --- audit writer -------------------------------------------------------------------------------------------

def _row(marker: str) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "at": utcnow(), "actor_id": None, "actor_username": marker, "actor_role": "doctor",
            "organization_code": None, "action": "read", "resource_type": "Observation", "resource_id": "x",
            "purpose": "treatment", "outcome": "success", "ip": None, "request_id": None, "detail": None}


async def test_queued_audit_rows_are_written_together(sessionmaker: async_sessionmaker[AsyncSession],
                                                      db: AsyncSession) -> None:
    writer = AuditWriter(sessionmaker, interval=60)  # only the explicit flush writes here
    assert not writer.submit([_row("never-started")])  # not running: the request writes its own rows
    writer.start()
    marker = f"writer-{uuid.uuid4().hex[:8]}"
    assert writer.submit([_row(marker) for _ in range(3)])
    await writer.close()
    written = await db.scalars(select(AuditEvent.id).where(AuditEvent.actor_username == marker))
    assert len(list(written)) == 3


async def test_rows_are_kept_and_requests_write_their_own_while_the_database_fails() -> None:
    broken = make_engine("postgresql://nobody@127.0.0.1:1/none", pool_size=1)
    writer = AuditWriter(make_sessionmaker(broken), interval=60)
    writer.start()
    assert writer.submit([_row("kept")])
    with pytest.raises(OSError):
        await writer.flush()
    assert not writer.submit([_row("refused")])  # the request falls back to writing in its own transaction
    assert [r["actor_username"] for r in writer._queued] == ["kept"]
    writer._task.cancel()  # type: ignore[union-attr]
    await broken.dispose()


# --- a real server ------------------------------------------------------------------------------------------

@pytest.mark.live
async def test_reads_are_audited_and_a_sign_out_takes_effect_at_once(live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server) as http:
        async def sign_in(username: str) -> dict[str, str]:
            r = await http.post("/api/v1/auth/token", data={"username": username, "password": "Jizuo@2026"})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        doctor, admin = await sign_in("doctor"), await sign_in("admin")
        found = (await http.get("/fhir/Observation", params={"_count": 1}, headers=doctor)).json()
        obs_id = found["entry"][0]["resource"]["id"]
        for _ in range(3):  # the second and third are answered from the caller cache
            assert (await http.get(f"/fhir/Observation/{obs_id}", headers=doctor)).status_code == 200
        audit = (await http.get("/api/v1/audit", headers=admin,
                                params={"resource_id": obs_id, "action": "read", "actor": "doctor"})).json()
        assert audit["total"] >= 3
        assert (await http.post("/api/v1/auth/logout", headers=doctor)).status_code == 204
        refused = await http.get(f"/fhir/Observation/{obs_id}", headers=doctor)
        assert refused.status_code == 401 and refused.json()["resourceType"] == "OperationOutcome"
