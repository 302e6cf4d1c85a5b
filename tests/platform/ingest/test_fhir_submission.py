"""FHIR Bundles from institutions face the catalogue's rules: each data set's records, mapped to FHIR and sent
back as a Bundle, are read back and accepted; a broken one waits in the quarantine; the rest is not lost."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import SHANGHAI
from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.compiled import compile_spec
from jizuo.platform.ingest.mapping import Lookups
from jizuo.platform.quality.engine import Context, References
from jizuo.platform.standards.spec import load_catalogue
from tests.conftest import TokenFor, bearer

pytestmark = pytest.mark.db
CATALOGUE = load_catalogue()
ORGS = ["JC-H001", "JC-H002", "JC-C001"]


async def bundle_of(db: AsyncSession, code: str, n: int, seed: int) -> dict[str, Any]:
    """Records of a data set, mapped to FHIR by the catalogue, as a transaction Bundle with urn:uuid links."""
    compiled = compile_spec(CATALOGUE.data_sets[code], CATALOGUE)
    organizations = await repo.organization_lookup(db)
    practitioners = await repo.practitioner_lookup(db)
    lookups = Lookups(organizations, practitioners)
    generator = RowGenerator(compiled.validator.data_set, CATALOGUE,
                             RowContext(ORGS, list(practitioners)[:5], datetime.now(SHANGHAI)), seed=seed)
    entries = []
    for _ in range(n):
        row = generator.row()
        checked = compiled.validator.check(row, Context(datetime.now(SHANGHAI), References(
            frozenset(organizations), frozenset(practitioners)), set()))
        assert checked.passed, [f.message for f in checked.failures]
        mapped = compiled.mapper.map(checked.values, "JC-H001", compiled.validator.key_of(checked.values, row),
                                     lookups)
        urn = f"urn:uuid:{uuid.uuid4()}"
        assert mapped.patient is not None
        patient = dict(mapped.patient)
        old = f"Patient/{patient.pop('id')}"
        entries.append({"fullUrl": urn, "resource": patient, "request": {"method": "POST", "url": "Patient"}})
        for resource in mapped.resources:
            resource = {k: v for k, v in resource.items() if k != "id"}
            for element in ("subject", "patient"):
                if resource.get(element, {}).get("reference") == old:
                    resource[element] = {"reference": urn}
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource,
                            "request": {"method": "POST", "url": resource["resourceType"]}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.mark.parametrize("code", sorted(CATALOGUE.data_sets))
async def test_every_data_set_survives_the_round_trip_through_fhir(code: str, client: httpx.AsyncClient,
                                                                   token_for: TokenFor, db: AsyncSession) -> None:
    bundle = await bundle_of(db, code, 2, seed=41)
    response = await client.post("/api/v1/ingest/fhir", headers=bearer(await token_for("hosp_admin")), json=bundle)
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["quarantined"] == 0, [e["message"] for e in receipt["errors"]]
    assert receipt["accepted"] == receipt["received"] >= 2


async def test_a_broken_record_is_held_and_the_good_ones_written(client: httpx.AsyncClient, token_for: TokenFor,
                                                                 db: AsyncSession) -> None:
    token = await token_for("hosp_admin")
    bundle = await bundle_of(db, "EMR-LAB", 3, seed=42)
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    observation.pop("issued")                      # 报告日期时间: required by the lab data set
    bundle["entry"].append({"resource": {"resourceType": "Flag", "status": "active",
                                         "code": {"text": "跌倒风险"},
                                         "subject": {"reference": bundle["entry"][0]["fullUrl"]}}})
    receipt = (await client.post("/api/v1/ingest/fhir", headers=bearer(token), json=bundle)).json()
    assert (receipt["accepted"], receipt["quarantined"]) == (3, 1), receipt["errors"]
    assert [e["rule"] for e in receipt["errors"] if e["severity"] == "error"] == ["report_time.required"]
    held = (await client.get("/api/v1/quality/quarantine", headers=bearer(token),
                             params={"batch_id": receipt["batch_id"]})).json()["items"][0]
    assert held["fields"]["item_code"] and "report_time" not in held["fields"]
    refused = await client.patch(f"/api/v1/quality/quarantine/{held['id']}", headers=bearer(token),
                                 json={"fields": {"report_time": "2026-11-25 10:00:00"}})
    assert refused.status_code == 409 and refused.json()["code"] == "fix_at_source"


async def test_what_is_not_a_bundle_is_refused_in_chinese(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    for body, code in [(b"{not json", "bad_json"), (b'{"resourceType": "Patient"}', "not_a_bundle"),
                       (b'{"resourceType": "Bundle", "entry": []}', "empty_bundle"),
                       (b'{"resourceType": "Bundle", "entry": [{"resource": {}}]}', "bad_entry")]:
        response = await client.post("/api/v1/ingest/fhir", headers={**bearer(token),
                                                                      "Content-Type": "application/fhir+json"},
                                     content=body)
        assert response.status_code == 400 and response.json()["code"] == code and response.json()["detail"]
    doctor = await client.post("/api/v1/ingest/fhir", headers=bearer(await token_for("doctor")),
                               json={"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Flag"}}]})
    assert doctor.status_code == 403
