"""Scope in the data-access layer: each role sees exactly the residents it should."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.idcard import is_valid_id_number
from jizuo.core.security import get_field_cipher
from jizuo.platform.registry.models import CareTeamMember
from jizuo.platform.residents.models import Resident
from tests.conftest import TokenFor, bearer


async def _all(client: httpx.AsyncClient, token: str) -> dict:  # type: ignore[type-arg]
    response = await client.get("/api/v1/residents", params={"page_size": 200}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_family_doctor_sees_only_their_signed_residents(client: httpx.AsyncClient, db: AsyncSession,
                                                              token_for: TokenFor) -> None:
    page = await _all(client, await token_for("family_doctor"))
    assert page["scope"] == "team"
    assert page["total"] > 0
    district_total = await db.scalar(select(Resident.id).limit(1))
    assert district_total is not None
    team_names = {item["team"]["name"] for item in page["items"]}
    assert len(team_names) == 1
    everyone = await _all(client, await token_for("admin"))
    assert everyone["scope"] == "district" and everyone["total"] > page["total"]


async def test_family_doctor_cannot_open_another_teams_resident(client: httpx.AsyncClient, db: AsyncSession,
                                                                token_for: TokenFor) -> None:
    token = await token_for("family_doctor")
    mine = {item["id"] for item in (await _all(client, token))["items"]}
    other = await db.scalar(select(Resident.id).where(Resident.id.not_in([uuid.UUID(i) for i in mine])).limit(1))
    response = await client.get(f"/api/v1/residents/{other}", headers=bearer(token))
    assert response.status_code == 404 and "服务范围" in response.json()["detail"]
    audit = await client.get("/api/v1/audit", params={"resource_id": str(other)},
                             headers=bearer(await token_for("admin")))
    assert audit.json()["items"][0]["outcome"] == "denied"


async def test_regulator_sees_statistics_not_people(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("weijianwei")
    response = await client.get("/api/v1/residents", headers=bearer(token))
    assert response.status_code == 403 and response.json()["code"] == "personal_data_forbidden"
    overview = await client.get("/api/v1/stats/overview", headers=bearer(token))
    assert overview.status_code == 200 and overview.json()["residents"] > 0


async def test_resident_sees_only_themself(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    page = await _all(client, await token_for("resident"))
    assert page["scope"] == "self" and page["total"] == 1


async def test_id_numbers_are_encrypted_masked_and_searchable_only_in_full(
        client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    resident = await db.scalar(select(Resident).limit(1))
    assert resident is not None
    id_number = get_field_cipher().decrypt(resident.id_number_enc)
    assert is_valid_id_number(id_number)
    assert id_number.encode() not in resident.id_number_enc
    token = await token_for("admin")
    found = (await client.get("/api/v1/residents", params={"q": id_number}, headers=bearer(token))).json()
    assert found["total"] == 1 and found["items"][0]["id"] == str(resident.id)
    masked = found["items"][0]["id_number_masked"]
    assert masked.startswith(id_number[:4]) and masked.endswith(id_number[-4:]) and "*" * 10 in masked
    partial = (await client.get("/api/v1/residents", params={"q": id_number[:10]}, headers=bearer(token))).json()
    assert partial["total"] == 0


async def test_team_membership_drives_the_scope(db: AsyncSession) -> None:
    members = list(await db.scalars(select(CareTeamMember.team_role)))
    assert members.count("family_doctor") == 40
