"""Access control inside the FHIR store: the family doctor's view is their signed residents."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.residents.models import Resident
from tests.conftest import TokenFor, bearer
from tests.fhir.test_rest import FHIR, observation, patient


async def test_family_doctor_sees_only_signed_residents(
    client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor
) -> None:
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    family = {**bearer(await token_for("family_doctor")), "Content-Type": FHIR}
    allowed_page = (await client.get("/api/v1/residents", params={"page_size": 1}, headers=family)).json()
    signed_id = allowed_page["items"][0]["id"]
    other = await db.scalar(select(Resident.id).where(Resident.signed_team_id.is_(None)).limit(1))
    for pid in (signed_id, str(other)):
        assert (
            await client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers=doctor)
        ).status_code == 201
        assert (await client.post("/fhir/Observation", json=observation(pid), headers=doctor)).status_code == 201
    found = (await client.get("/fhir/Patient", params={"_count": "1000"}, headers=family)).json()
    ids = {e["resource"]["id"] for e in found["entry"] if e["search"]["mode"] == "match"}
    assert signed_id in ids and str(other) not in ids
    observations = (await client.get("/fhir/Observation", params={"code": "718-7"}, headers=family)).json()
    subjects = {e["resource"]["subject"]["reference"] for e in observations["entry"]}
    assert subjects == {f"Patient/{signed_id}"}
    hidden = await client.get(f"/fhir/Patient/{other}", headers=family)
    assert hidden.status_code == 404
    refused = await client.post("/fhir/Observation", json=observation(str(other)), headers=family)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    assert (await client.post("/fhir/Observation", json=observation(signed_id), headers=family)).status_code == 201


async def test_regulator_reads_no_clinical_data_and_resident_only_self(
    client: httpx.AsyncClient, token_for: TokenFor
) -> None:
    regulator = bearer(await token_for("weijianwei"))
    response = await client.get("/fhir/Patient", headers=regulator)
    assert response.status_code == 403 and response.json()["resourceType"] == "OperationOutcome"
    resident = bearer(await token_for("resident"))
    me = (await client.get("/api/v1/residents", headers=resident)).json()["items"][0]["id"]
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    await client.put(f"/fhir/Patient/{me}", json={**patient(), "id": me}, headers=doctor)
    own = await client.get(f"/fhir/Patient/{me}", headers=resident)
    assert own.status_code == 200
    assert (await client.post("/fhir/Observation", json=observation(me), headers=resident)).status_code == 403
    unauthenticated = await client.get("/fhir/Patient")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["resourceType"] == "OperationOutcome"


async def test_identifiers_are_encrypted_at_rest_and_masked_for_admins(
    client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor
) -> None:
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    pid = (await client.post("/fhir/Patient", json=patient(), headers=doctor)).json()["id"]
    from sqlalchemy import text

    raw = await db.scalar(text("SELECT resource::text FROM fhir_resource WHERE id = :id"), {"id": pid})
    assert raw and "11010519491231002X" not in raw and "13912345678" not in raw
    tokens = await db.scalar(
        text(
            "SELECT string_agg(code, ',') FROM fhir_idx_token t JOIN fhir_resource r ON r.rid = t.rid WHERE r.id = :id"
        ),
        {"id": pid},
    )
    assert tokens and "11010519491231002X" not in tokens
    admin = bearer(await token_for("admin"))
    masked = (await client.get(f"/fhir/Patient/{pid}", headers=admin)).json()
    assert masked["identifier"][0]["value"] == "1101**********002X"
    assert masked["telecom"][0]["value"] == "139****5678"
    audit = (await client.get("/api/v1/audit", params={"resource_id": pid}, headers=admin)).json()["items"]
    assert {row["action"] for row in audit} >= {"create", "read"}
