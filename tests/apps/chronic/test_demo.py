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
