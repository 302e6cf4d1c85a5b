"""A real FHIR client library (fhirpy) against the running server: create, search with includes, page,
transaction — what an HIS vendor's integration would do."""

from __future__ import annotations

import httpx
import pytest
from fhirpy import AsyncFHIRClient

pytestmark = pytest.mark.live


@pytest.fixture
async def fhir(live_server: str) -> AsyncFHIRClient:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{live_server}/api/v1/auth/token",
                                   data={"username": "doctor", "password": "Jizuo@2026"})
    token = response.json()["access_token"]
    return AsyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {token}")


async def test_fhirpy_round_trip(fhir: AsyncFHIRClient) -> None:
    patient = fhir.resource(
        "Patient", name=[{"family": "赵", "given": ["客户端"]}], gender="male", birthDate="1970-05-06"
    )
    await patient.save()
    assert patient["id"] and patient["meta"]["versionId"] == "1"
    for day in range(1, 6):
        observation = fhir.resource(
            "Observation",
            status="final",
            subject=patient.to_reference(),
            code={"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            effectiveDateTime=f"2026-02-0{day}T08:00:00+08:00",
            valueQuantity={"value": 130 + day, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        )
        await observation.save()
    search = fhir.resources("Observation").search(subject=f"Patient/{patient['id']}").sort("-date").limit(2)
    first_page = await search.fetch()
    assert [o["valueQuantity"]["value"] for o in first_page] == [135, 134]
    everything = await search.fetch_all()
    assert len(everything) == 5
    with_patient = (
        await fhir.resources("Observation")
        .search(subject=f"Patient/{patient['id']}")
        .include("Observation", "subject")
        .fetch_raw()
    )
    assert any(e["resource"]["resourceType"] == "Patient" for e in with_patient["entry"])
    patient["gender"] = "female"
    await patient.save()
    assert patient["meta"]["versionId"] == "2"
    fetched = await fhir.reference("Patient", patient["id"]).to_resource()
    assert fetched["gender"] == "female"


async def test_fhirpy_transaction(fhir: AsyncFHIRClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6f1b0d4e-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "name": [{"family": "钱"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:6f1b0d4e-0000-4000-8000-000000000001"},
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}]},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }
    result = await fhir.execute("", method="post", data=bundle)
    assert result["type"] == "transaction-response"
    condition_subject = result["entry"][1]["resource"]["subject"]["reference"]
    assert condition_subject == f"Patient/{result['entry'][0]['resource']['id']}"
    conditions = await fhir.resources("Condition").search(code="I10", subject=condition_subject).fetch_all()
    assert len(conditions) == 1
