"""Device registration by the district admin or the station's institution admin: the key is shown once and
works, deactivation and key rotation cut the old key off, others are refused."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic.models import StationDevice
from jizuo.core.security import digest_token, hash_password
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.identity.models import User
from jizuo.platform.registry.models import Organization
from tests.apps.chronic.helpers import STATION, bp, own_resident, post
from tests.conftest import TokenFor, bearer


async def _centre_admin(db: AsyncSession, centre: uuid.UUID) -> None:
    db.add(User(id=uuid.uuid4(), username="centre_admin", display_name="中心管理员",
                password_hash=hash_password("Jizuo@2026"), role="institution_admin", organization_id=centre,
                active=True))
    await db.flush()


async def test_register_rotate_deactivate(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    admin = bearer(await token_for("admin"))
    station = stable_id("org", STATION)
    stations = (await client.get("/api/v1/devices/stations", headers=admin)).json()
    assert str(station) in {s["id"] for s in stations}
    created = await client.post("/api/v1/devices", headers=admin,
                                json={"station_id": str(station), "code": "NEW-BP-01", "name": "新血压计"})
    assert created.status_code == 201, created.text
    device = created.json()
    key = device["key"]
    stored = await db.scalar(select(StationDevice).where(StationDevice.code == "NEW-BP-01"))
    assert stored is not None and stored.key_digest == digest_token(key) and key not in stored.key_digest
    listed = (await client.get("/api/v1/devices", headers=admin)).json()
    assert "key" not in next(d for d in listed if d["code"] == "NEW-BP-01")  # shown once only
    _, id_number = await own_resident(db)
    assert (await post(client, bp(id_number, 128, 80), key=key)).status_code == 201

    rotated = await client.post(f"/api/v1/devices/{device['id']}/rotate-key", headers=admin)
    assert rotated.status_code == 200 and rotated.json()["key"] != key
    assert (await post(client, bp(id_number, 129, 80), key=key)).status_code == 401
    assert (await post(client, bp(id_number, 129, 80), key=rotated.json()["key"])).status_code == 201

    off = await client.post(f"/api/v1/devices/{device['id']}/deactivate", headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    refused = await post(client, bp(id_number, 130, 80), key=rotated.json()["key"])
    assert refused.status_code == 401 and refused.json()["code"] == "device_key_invalid"
    on = await client.post(f"/api/v1/devices/{device['id']}/activate", headers=admin)
    assert on.status_code == 200 and on.json()["active"] is True

    taken = await client.post("/api/v1/devices", headers=admin,
                              json={"station_id": str(station), "code": "NEW-BP-01", "name": "重复"})
    assert taken.status_code == 409 and taken.json()["code"] == "device_code_taken"
    bad_code = await client.post("/api/v1/devices", headers=admin,
                                 json={"station_id": str(station), "code": "坏 编码", "name": "x"})
    assert bad_code.status_code == 422
    hospital = await db.scalar(select(Organization.id).where(Organization.type == "general_hospital").limit(1))
    not_station = await client.post("/api/v1/devices", headers=admin,
                                    json={"station_id": str(hospital), "code": "HOSP-1", "name": "x"})
    assert not_station.status_code == 422 and not_station.json()["code"] == "device_station_invalid"


async def test_institution_admin_reach(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    station = await db.get(Organization, stable_id("org", STATION))
    assert station is not None and station.parent_id is not None
    await _centre_admin(db, station.parent_id)
    centre = bearer(await token_for("centre_admin"))
    mine = await client.post("/api/v1/devices", headers=centre,
                             json={"station_id": str(station.id), "code": "CTR-GLU-01", "name": "血糖仪"})
    assert mine.status_code == 201, mine.text
    other = await db.scalar(select(Organization).where(Organization.type == "community_station",
                                                       Organization.parent_id != station.parent_id).limit(1))
    assert other is not None
    foreign = await client.post("/api/v1/devices", headers=centre,
                                json={"station_id": str(other.id), "code": "CTR-GLU-02", "name": "血糖仪"})
    assert foreign.status_code == 404
    assert {d["code"] for d in (await client.get("/api/v1/devices", headers=centre)).json()} == {"CTR-GLU-01"}
    hospital_admin = bearer(await token_for("hosp_admin"))
    rotate = await client.post(f"/api/v1/devices/{mine.json()['id']}/rotate-key", headers=hospital_admin)
    assert rotate.status_code == 404  # not their station
    for user in ("family_doctor", "weijianwei"):
        denied = await client.get("/api/v1/devices", headers=bearer(await token_for(user)))
        assert denied.status_code == 403
