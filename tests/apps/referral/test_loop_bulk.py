"""Loop closing after a bulk `$import` (COPY, no write listeners): the import hook captures the Encounters the
import wrote, set-wise; a re-import of the same file notifies nobody again. Own database, as the import
commits over its own connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.db import make_engine
from jizuo.core.security import get_field_cipher
from jizuo.fhir.bulk import import_ndjson
from jizuo.fhir.bulk.importer import IMPORT_LISTENERS
from jizuo.migrations import upgrade_to_head
from jizuo.platform.demo.seed import seed_demo_district
from tests.conftest import fresh_database

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
async def bulk_url(server_url: str) -> str:
    url = fresh_database(server_url, "jizuo_referral_bulk_test")
    upgrade_to_head(url)
    engine = make_engine(url, pool_size=1)
    async with AsyncSession(engine) as db:
        await seed_demo_district(db, get_field_cipher(), seed=20261126, residents=60)
        await db.commit()
    await engine.dispose()
    return url


def sql(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


async def test_bulk_import_reaches_the_family_doctor_once(bulk_url: str, tmp_path: Path) -> None:
    from jizuo.apps.referral import loop

    assert loop.capture_recent in IMPORT_LISTENERS  # registered by the referral API module (and the CLI)
    signed = sql(bulk_url, "SELECT id FROM resident WHERE signed_team_id IS NOT NULL LIMIT 1")[0][0]
    eid = str(uuid.uuid4())
    encounter = {"resourceType": "Encounter", "id": eid, "status": "finished",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                 "subject": {"reference": f"Patient/{signed}"}, "reasonCode": [{"text": "肺炎住院"}],
                 "period": {"start": datetime.now(UTC).isoformat()}}
    path = tmp_path / "visits.ndjson"
    path.write_bytes(orjson.dumps(encounter) + b"\n")
    report = await import_ndjson(bulk_url, path, workers=0)
    assert report.created == 1
    rows = sql(bulk_url, "SELECT status, visit_class FROM referral_visit WHERE encounter_id = %s", eid)
    assert rows == [("matched", "inpatient")]
    notices = "SELECT count(*) FROM notification WHERE kind = 'referral.visit' AND link LIKE %s"
    assert sql(bulk_url, notices, f"%{eid}")[0][0] == 1

    path.write_bytes(orjson.dumps({**encounter, "status": "cancelled"}) + b"\n")  # a new version
    await import_ndjson(bulk_url, path, workers=0)
    assert sql(bulk_url, notices, f"%{eid}")[0][0] == 1
