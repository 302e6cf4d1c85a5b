"""Account administration and the audit trail."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TokenFor, bearer

NEW_USER = {"username": "li.wei", "display_name": "李伟", "password": "Strong#Pass1", "role": "doctor"}


async def _org_id(client: httpx.AsyncClient, token: str, level: str = "3A") -> str:
    orgs = await client.get("/api/v1/organizations", params={"level": level}, headers=bearer(token))
    return str(orgs.json()["items"][0]["id"])


async def test_admin_creates_a_user_who_can_sign_in(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    body = {**NEW_USER, "organization_id": await _org_id(client, admin)}
    created = await client.post("/api/v1/users", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    assert created.json()["role_display"] == "医生"
    assert await token_for("li.wei", "Strong#Pass1")
    listed = await client.get("/api/v1/users", params={"q": "li.wei"}, headers=bearer(admin))
    assert listed.json()["total"] == 1


async def test_bad_user_input_is_explained(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    weak = await client.post("/api/v1/users", json={**NEW_USER, "password": "password"}, headers=bearer(admin))
    assert weak.status_code == 422
    assert any(e["field"] == "password" and "三类" in e["message"] for e in weak.json()["errors"])
    no_org = await client.post("/api/v1/users", json=NEW_USER, headers=bearer(admin))
    assert no_org.status_code == 422 and no_org.json()["code"] == "organization_required"
    duplicate = await client.post("/api/v1/users", json={**NEW_USER, "username": "doctor",
                                                         "organization_id": await _org_id(client, admin)},
                                  headers=bearer(admin))
    assert duplicate.status_code == 409 and "已存在" in duplicate.json()["detail"]
    bad_role = await client.post("/api/v1/users", json={**NEW_USER, "role": "king"}, headers=bearer(admin))
    assert bad_role.status_code == 422 and bad_role.json()["errors"][0]["field"] == "role"
    malformed = await client.post("/api/v1/users", content=b"{not json", headers={
        **bearer(admin), "Content-Type": "application/json"})
    assert malformed.status_code == 422 and "JSON" in malformed.json()["detail"]


async def test_institution_admin_is_limited_to_their_institution(client: httpx.AsyncClient,
                                                                 token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    me = (await client.get("/api/v1/auth/me", headers=bearer(token))).json()
    own = {**NEW_USER, "organization_id": me["organization"]["id"]}
    assert (await client.post("/api/v1/users", json=own, headers=bearer(token))).status_code == 201
    other = {**NEW_USER, "username": "zhang.san", "organization_id": await _org_id(client, token, "2A")}
    refused = await client.post("/api/v1/users", json=other, headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["code"] == "outside_scope"
    escalate = {**own, "username": "boss", "role": "district_admin"}
    assert (await client.post("/api/v1/users", json=escalate, headers=bearer(token))).status_code == 403
    users = (await client.get("/api/v1/users", params={"page_size": 200}, headers=bearer(token))).json()
    assert {u["organization"]["id"] for u in users["items"]} == {me["organization"]["id"]}


async def test_doctor_cannot_manage_accounts(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("doctor")
    response = await client.post("/api/v1/users", json=NEW_USER, headers=bearer(token))
    assert response.status_code == 403 and "医生" in response.json()["detail"]
    assert (await client.get("/api/v1/audit", headers=bearer(token))).status_code == 403


async def test_logins_reads_and_refusals_are_audited(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    await client.post("/api/v1/auth/token", data={"username": "doctor", "password": "wrong"})
    doctor = await token_for("doctor")
    await client.get("/api/v1/residents", headers=bearer(doctor))
    await client.post("/api/v1/users", json=NEW_USER, headers=bearer(doctor))
    admin = await token_for("admin")
    rows = (await client.get("/api/v1/audit", params={"actor": "doctor", "page_size": 50},
                             headers=bearer(admin))).json()["items"]
    seen = {(r["action"], r["resource_type"], r["outcome"]) for r in rows}
    assert ("login", "User", "failure") in seen
    assert ("login", "User", "success") in seen
    assert ("search", "Resident", "success") in seen
    assert all(r["ip"] == "203.0.113.7" for r in rows)
    assert all(r["actor_role"] == "doctor" for r in rows)


async def test_audit_filters_by_time_window(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    future = await client.get("/api/v1/audit", params={"since": "2099-01-01T00:00:00+08:00"},
                              headers=bearer(admin))
    assert future.json()["total"] == 0
    naive = await client.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=bearer(admin))
    assert naive.status_code == 422 and "时区" in naive.json()["detail"]


async def test_audit_rows_cannot_be_changed(client: httpx.AsyncClient, db: AsyncSession,
                                            token_for: TokenFor) -> None:
    await token_for("admin")
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("UPDATE audit_event SET outcome = 'success'"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("DELETE FROM audit_event"))
    spec = (await client.get("/openapi.json")).json()
    audit_operations = {(method, path) for path, item in spec["paths"].items() if "audit" in path
                        for method in item}
    assert audit_operations == {("get", "/api/v1/audit")}


async def test_audit_trail_reads_as_fhir_audit_events(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    await client.post("/api/v1/auth/token", data={"username": "doctor", "password": "wrong"})
    admin = await token_for("admin")
    bundle = (await client.get("/fhir/AuditEvent", params={"agent": "doctor", "date": "ge2020-01-01"},
                               headers=bearer(admin))).json()
    assert bundle["resourceType"] == "Bundle" and bundle["total"] >= 1
    event = bundle["entry"][0]["resource"]
    assert event["resourceType"] == "AuditEvent" and event["outcome"] == "8"
    assert event["agent"][0]["who"]["identifier"]["value"] == "doctor"
    single = await client.get(f"/fhir/AuditEvent/{event['id']}", headers=bearer(admin))
    assert single.status_code == 200 and single.json()["id"] == event["id"]
    from jizuo.fhir.validation import validate_resource

    validate_resource(single.json())
    refused = await client.get("/fhir/AuditEvent", headers=bearer(await token_for("doctor")))
    assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
