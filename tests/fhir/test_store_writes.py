"""A single create or update is one statement (jizuo.fhir.store_statements): what it indexes must be found
exactly as before, the replaced version must land in history, and a write from a version that another request
replaced meanwhile must be refused (409) and change nothing. Also: the order of unsorted date searches."""

from __future__ import annotations

import uuid
from typing import cast

import asyncpg
import httpx
import pytest
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.db import insert_rows
from jizuo.fhir import store
from jizuo.fhir.errors import FhirError
from jizuo.platform.audit.models import AuditEvent
from tests.conftest import TokenFor, bearer
from tests.fhir.test_rest import FHIR, observation


@pytest.fixture
async def doctor(token_for: TokenFor) -> dict[str, str]:
    return {**bearer(await token_for("doctor")), "Content-Type": FHIR}


async def _patient(client: httpx.AsyncClient, headers: dict[str, str], family: str) -> str:
    created = await client.post("/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": family}]},
                                headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _index_rows(db: AsyncSession, res_id: str) -> dict[str, int]:
    counts = {}
    for table in ("token", "string", "date", "reference", "quantity", "number", "uri"):
        counts[table] = int(await db.scalar(text(
            f"SELECT count(*) FROM fhir_idx_{table} i JOIN fhir_resource r ON r.rid = i.rid "
            "WHERE r.res_type = 'Observation' AND r.id = :id"), {"id": res_id}) or 0)
    return counts


async def test_an_update_replaces_every_index_row_and_keeps_the_old_version(
        client: httpx.AsyncClient, doctor: dict[str, str], db: AsyncSession) -> None:
    pid = await _patient(client, doctor, "换")
    created = (await client.post("/fhir/Observation", json=observation(pid, "718-7", 13.2), headers=doctor)).json()
    oid = created["id"]
    before = await _index_rows(db, oid)
    assert before["token"] and before["date"] and before["reference"] and before["quantity"]

    changed = {**observation(pid, "1558-6", 6.1, "2026-02-03T09:00:00+08:00"), "id": oid}
    updated = await client.put(f"/fhir/Observation/{oid}", json=changed, headers=doctor)
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    assert await _index_rows(db, oid) == before  # replaced, not added to

    def search(**params: str) -> dict[str, str]:
        return {"subject": f"Patient/{pid}", "_total": "accurate", **params}
    expected = ((search(code="718-7"), 0), (search(code="1558-6"), 1), (search(**{"value-quantity": "6.1"}), 1),
                (search(**{"value-quantity": "13.2"}), 0), (search(date="2026-02-03"), 1),
                (search(date="2026-01-02"), 0))
    for params, total in expected:
        found = await client.get("/fhir/Observation", params=params, headers=doctor)
        assert found.json()["total"] == total, params
    first = await client.get(f"/fhir/Observation/{oid}/_history/1", headers=doctor)
    assert first.json()["code"]["coding"][0]["code"] == "718-7"


async def test_a_delete_keeps_the_body_and_drops_the_index_rows(
        client: httpx.AsyncClient, doctor: dict[str, str], db: AsyncSession) -> None:
    pid = await _patient(client, doctor, "删")
    oid = (await client.post("/fhir/Observation", json=observation(pid), headers=doctor)).json()["id"]
    assert (await client.delete(f"/fhir/Observation/{oid}", headers=doctor)).status_code in (200, 204)
    assert set((await _index_rows(db, oid)).values()) == {0}
    assert (await client.get(f"/fhir/Observation/{oid}", headers=doctor)).status_code == 410
    assert (await client.get(f"/fhir/Observation/{oid}/_history/1", headers=doctor)).json()["id"] == oid


async def test_a_write_from_a_replaced_version_is_refused_and_changes_nothing(
        client: httpx.AsyncClient, doctor: dict[str, str], db: AsyncSession) -> None:
    pid = await _patient(client, doctor, "旧")
    oid = (await client.post("/fhir/Observation", json=observation(pid, "718-7", 13.2), headers=doctor)).json()["id"]
    stale = await store.get_current(db, "Observation", oid)
    assert stale is not None
    newer = {**observation(pid, "718-7", 12.0), "id": oid}
    assert (await client.put(f"/fhir/Observation/{oid}", json=newer, headers=doctor)).status_code == 200
    rows_before = await _index_rows(db, oid)

    late = {**observation(pid, "1558-6", 5.0), "id": oid, "meta": {"versionId": "2"}}
    with pytest.raises(FhirError) as refused:
        async with db.begin_nested():  # the request's transaction: rolled back by the error
            await store.replace_resource(db, stale, late, utcnow(), {})
    assert refused.value.status == 409 and refused.value.code == "version_conflict"
    assert await _index_rows(db, oid) == rows_before
    current = (await client.get(f"/fhir/Observation/{oid}", headers=doctor)).json()
    assert current["meta"]["versionId"] == "2" and current["valueQuantity"]["value"] == 12.0


async def test_unsorted_date_searches_start_where_the_matches_arrived(
        client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    """`date=ge…` asks for recent data: newest first. Other unsorted searches keep arrival order. Either way
    the pages follow one another without gaps or repeats."""
    pid = await _patient(client, doctor, "序")
    ids = []
    for month in (1, 2, 3, 4, 5):
        body = observation(pid, "718-7", 13.0, f"2026-{month:02d}-10T08:00:00+08:00")
        ids.append((await client.post("/fhir/Observation", json=body, headers=doctor)).json()["id"])

    async def all_pages(params: dict[str, str]) -> list[str]:
        seen: list[str] = []
        page = (await client.get("/fhir/Observation", params=params, headers=doctor)).json()
        while True:
            seen += [entry["resource"]["id"] for entry in page.get("entry", [])]
            following = [link["url"] for link in page["link"] if link["relation"] == "next"]
            if not following:
                return seen
            page = (await client.get(following[0], headers=doctor)).json()

    subject = {"subject": f"Patient/{pid}", "_count": "2"}
    assert await all_pages({**subject, "date": "ge2026-01-01"}) == ids[::-1]
    assert await all_pages({**subject, "date": "gt2026-02-28"}) == ids[:1:-1]
    assert await all_pages({**subject, "date": "lt2026-12-31"}) == ids
    assert await all_pages(subject) == ids
    assert await all_pages({**subject, "date": "ge2026-01-01", "_sort": "date"}) == ids


async def test_a_value_too_long_for_its_column_is_refused_not_cut(db: AsyncSession) -> None:
    """insert_rows casts its arrays without a length limit: VARCHAR(128) refuses 200 characters as before."""
    row = {"id": uuid.uuid4(), "at": utcnow(), "actor_id": None, "actor_username": "doctor", "actor_role": "doctor",
           "organization_code": None, "action": "read", "resource_type": "Observation", "resource_id": "x" * 200,
           "purpose": None, "outcome": "success", "ip": None, "request_id": None, "detail": {"k": "值"}}
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        async with db.begin_nested():
            await insert_rows(db, cast(Table, AuditEvent.__table__), [row])
    await insert_rows(db, cast(Table, AuditEvent.__table__), [{**row, "resource_id": "x" * 128}])
    stored = await db.scalar(text("SELECT detail->>'k' FROM audit_event WHERE id = :id"), {"id": row["id"]})
    assert stored == "值"
