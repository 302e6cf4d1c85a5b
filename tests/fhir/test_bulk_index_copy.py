"""Large writes put their search-index rows in with COPY (jizuo.fhir.store.write_index): what they index must be
found exactly as with INSERT, and a transaction that fails afterwards must leave none of them behind."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.fhir.store import COPY_FROM
from tests.conftest import TokenFor, bearer
from tests.fhir.test_rest import FHIR, observation

ENTRIES = 120  # × 7+ token rows each: well past COPY_FROM


@pytest.fixture
async def doctor(token_for: TokenFor) -> dict[str, str]:
    return {**bearer(await token_for("doctor")), "Content-Type": FHIR}


def _bundle(patient_id: str, n: int, code: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": observation(patient_id, code, 4.0 + i / 100, f"2026-03-{1 + i % 28:02d}T08:00:00+08:00"),
         "request": {"method": "POST", "url": "Observation"}} for i in range(n)]}


async def test_copied_index_rows_are_found_like_inserted_ones(client: httpx.AsyncClient, doctor: dict[str, str],
                                                              db: AsyncSession) -> None:
    assert ENTRIES * 7 > COPY_FROM
    person = (await client.post("/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "复"}]},
                                headers=doctor)).json()
    done = await client.post("/fhir", json=_bundle(person["id"], ENTRIES, "2345-7"), headers=doctor)
    assert done.status_code == 200, done.text
    search = {"subject": f"Patient/{person['id']}", "code": "http://loinc.org|2345-7", "_total": "accurate"}
    found = (await client.get("/fhir/Observation", params=search, headers=doctor)).json()
    assert found["total"] == ENTRIES
    narrow = {**search, "value-quantity": "gt5.0", "date": "ge2026-03-20"}
    expected = sum(1 for i in range(ENTRIES) if 4.0 + i / 100 > 5.0 and 1 + i % 28 >= 20)
    assert (await client.get("/fhir/Observation", params=narrow, headers=doctor)).json()["total"] == expected


async def test_a_failed_transaction_leaves_no_copied_rows(client: httpx.AsyncClient, doctor: dict[str, str],
                                                          db: AsyncSession) -> None:
    person = (await client.post("/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": "滚"}]},
                                headers=doctor)).json()
    bundle = _bundle(person["id"], ENTRIES, "2093-3")
    # a read entry runs last and first writes the buffered entries out (COPY); then it fails: all roll back
    bundle["entry"].append({"request": {"method": "GET", "url": "Observation/no-such-one"}})
    refused = await client.post("/fhir", json=bundle, headers=doctor)
    assert refused.status_code == 404 and refused.json()["resourceType"] == "OperationOutcome"
    left = await db.scalar(text("SELECT count(*) FROM fhir_idx_token WHERE param = 'code' AND code = '2093-3'"))
    assert left == 0
