"""Composite search parameters: all components must match in the same element (the same component of a blood
pressure panel), not anywhere in the resource."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFor, bearer
from tests.fhir.test_rest import FHIR, create, observation, patient

LOINC = "http://loinc.org"


@pytest.fixture
async def doctor(token_for: TokenFor) -> dict[str, str]:
    return {**bearer(await token_for("doctor")), "Content-Type": FHIR}


def blood_pressure(patient_id: str, systolic: float, diastolic: float) -> dict[str, Any]:
    def component(code: str, value: float) -> dict[str, Any]:
        return {"code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"}}
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}], "text": "血压"},
            "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": "2026-03-01T08:00:00+08:00",
            "component": [component("8480-6", systolic), component("8462-4", diastolic)]}


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], patient_id: str, **params: str) -> set[str]:
    response = await client.get("/fhir/Observation", params={"subject": f"Patient/{patient_id}", **params},
                                headers=headers)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"}


async def test_components_must_match_in_the_same_element(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    person = await create(client, doctor, patient(identifier=[]))
    high = await create(client, doctor, blood_pressure(person["id"], 182, 96))
    # systolic normal, diastolic 150: "some component > 140" is true, "systolic > 140" is not
    crossed = await create(client, doctor, blood_pressure(person["id"], 130, 150))
    glucose = await create(client, doctor, observation(person["id"], "1558-6", 7.4))
    pid = person["id"]

    systolic_over_140 = {"component-code-value-quantity": f"{LOINC}|8480-6$gt140"}
    assert await _ids(client, doctor, pid, **systolic_over_140) == {high["id"]}
    assert await _ids(client, doctor, pid, **{"component-code-value-quantity": "8462-4$ge150"}) == {crossed["id"]}
    either = {"component-code-value-quantity": f"{LOINC}|8480-6$gt180,{LOINC}|8480-6$lt135"}
    assert await _ids(client, doctor, pid, **either) == {high["id"], crossed["id"]}
    # the resource-level composite and the one over both levels
    assert await _ids(client, doctor, pid, **{"code-value-quantity": f"{LOINC}|1558-6$gt7"}) == {glucose["id"]}
    assert await _ids(client, doctor, pid, **{"code-value-quantity": f"{LOINC}|1558-6$lt7"}) == set()
    combo = {"combo-code-value-quantity": f"{LOINC}|8462-4$150|http://unitsofmeasure.org|mm[Hg]"}
    assert await _ids(client, doctor, pid, **combo) == {crossed["id"]}


async def test_bad_composite_values_are_explained(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    wrong_parts = await client.get("/fhir/Observation", params={"component-code-value-quantity": "8480-6"},
                                   headers=doctor)
    assert wrong_parts.status_code == 400
    outcome = wrong_parts.json()
    assert outcome["resourceType"] == "OperationOutcome" and "$" in outcome["issue"][0]["diagnostics"]
    not_a_number = await client.get("/fhir/Observation", params={"code-value-quantity": "8480-6$high"},
                                    headers=doctor)
    assert not_a_number.status_code == 400 and "数值" in not_a_number.json()["issue"][0]["diagnostics"]
    # the R4 definition of this one names its components the wrong way round: refused, not guessed
    unsupported = await client.get("/fhir/DocumentReference", params={"relationship": "replaces$DocumentReference/1"},
                                   headers=doctor)
    assert unsupported.status_code == 400 and unsupported.json()["issue"][0]["code"] == "not-supported"


async def test_the_capability_statement_lists_the_composites_it_answers(client: httpx.AsyncClient) -> None:
    statement = (await client.get("/fhir/metadata")).json()
    observation_type = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Observation")
    names = {p["name"]: p["type"] for p in observation_type["searchParam"]}
    assert names["component-code-value-quantity"] == "composite" and names["code-value-quantity"] == "composite"
    document = next(r for r in statement["rest"][0]["resource"] if r["type"] == "DocumentReference")
    assert "relationship" not in {p["name"] for p in document["searchParam"]}
