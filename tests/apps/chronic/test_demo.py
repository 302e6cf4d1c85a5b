"""The demo's chronic care: documented device keys work, registrations come from the resident records, the
workbench has readings, an alert and a mix of done and planned follow-ups."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic.demo import DEMO_DEVICES, demo_resident_id_number, seed_demo_chronic
from jizuo.apps.chronic.models import ChronicFollowup, ChronicPatient, DeviceReading
from jizuo.core.config import get_settings
from jizuo.core.security import get_field_cipher
from tests.apps.chronic.helpers import bp, own_resident, post
from tests.conftest import TokenFor, bearer


async def test_demo_seed_and_documented_keys(client: httpx.AsyncClient, db: AsyncSession,
                                             token_for: TokenFor) -> None:
    counts = await seed_demo_chronic(db, get_field_cipher(), get_settings().demo_seed)
    assert counts["chronic_patients"] > 0 and counts["device_readings"] > 0
    assert await seed_demo_chronic(db, get_field_cipher(), get_settings().demo_seed) == {}  # idempotent
    assert await db.scalar(select(func.count()).select_from(ChronicPatient)) == counts["chronic_patients"]
    assert await db.scalar(select(func.count()).select_from(DeviceReading)) == counts["device_readings"]
    statuses = set((await db.scalars(select(ChronicFollowup.status))).all())
    assert statuses == {"planned", "done"}

    resident, id_number = await own_resident(db)
    assert demo_resident_id_number(get_settings().demo_seed) == id_number
    for _code, _name, _station, key in DEMO_DEVICES:
        response = await post(client, bp(id_number, 128, 82), key=key)
        assert response.status_code == 201, response.text
    detail = await client.get(f"/api/v1/chronic/residents/{resident.id}",
                              headers=bearer(await token_for("family_doctor")))
    assert len([r for r in detail.json()["readings"] if r["kind"] == "blood_pressure"]) >= 30


async def test_demo_contracts_match_the_register(db: AsyncSession) -> None:
    from jizuo.apps.chronic.demo import seed_demo_contracts
    from jizuo.apps.chronic.models import FamilyContract
    from jizuo.platform.residents.models import Resident

    written = await seed_demo_contracts(db, get_settings().demo_seed)
    assert written > 0 and await seed_demo_contracts(db, get_settings().demo_seed) == 0
    signed = set((await db.scalars(select(Resident.id).where(Resident.signed_team_id.is_not(None)))).all())
    active = (await db.execute(select(FamilyContract.resident_id, FamilyContract.team_id)
                               .where(FamilyContract.status == "active"))).all()
    assert {r for r, _ in active} == signed and len(active) == len(signed)
    teams = dict((await db.execute(select(Resident.id, Resident.signed_team_id)
                                   .where(Resident.signed_team_id.is_not(None)))).all())
    assert all(teams[r] == t for r, t in active)
    renewals = await db.scalar(select(func.count()).select_from(FamilyContract)
                               .where(FamilyContract.renewed_from_id.is_not(None)))
    assert renewals and 0.2 < renewals / len(active) < 0.5


async def test_demo_resident_has_a_long_term_prescription(client: httpx.AsyncClient, db: AsyncSession,
                                                          token_for: TokenFor) -> None:
    from jizuo.apps.chronic.demo import DEMO_MEDICATION_ID, seed_demo_medication

    assert await seed_demo_medication(db, get_field_cipher()) is True
    assert await seed_demo_medication(db, get_field_cipher()) is False  # idempotent
    meds = (await client.get("/api/v1/chronic/me/medications", headers=bearer(await token_for("resident")))).json()
    assert [m["id"] for m in meds] == [DEMO_MEDICATION_ID] and meds[0]["supply_days"] == 90
