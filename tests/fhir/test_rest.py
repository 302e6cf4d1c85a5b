"""The FHIR REST API as a client uses it: interactions, versions, errors as OperationOutcome."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFor, bearer

ID_CARD = "urn:oid:2.16.156.10011.1.3"
FHIR = "application/fhir+json"


def patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": "王", "given": ["秀英"], "text": "王秀英"}],
        "gender": "female",
        "birthDate": "1956-03-08",
        "identifier": [{"system": ID_CARD, "value": "11010519491231002X"}],
        "telecom": [{"system": "phone", "value": "13912345678"}],
        **extra,
    }


def observation(
    patient_id: str, code: str = "718-7", value: float = 13.2, when: str = "2026-01-02T10:00:00+08:00"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": code}],
            "text": {"718-7": "血红蛋白", "1558-6": "空腹血糖"}.get(code, code),
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
    }


@pytest.fixture
async def doctor(token_for: TokenFor) -> dict[str, str]:
    return {**bearer(await token_for("doctor")), "Content-Type": FHIR}


async def create(client: httpx.AsyncClient, headers: dict[str, str], resource: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_read_update_vread_delete_history(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    created = await client.post("/fhir/Patient", json=patient(), headers=doctor)
    assert created.status_code == 201
    assert created.headers["content-type"].startswith(FHIR)
    body = created.json()
    pid = body["id"]
    assert created.headers["location"] == f"Patient/{pid}/_history/1"
    assert created.headers["etag"] == 'W/"1"' and body["meta"]["versionId"] == "1"
    read = await client.get(f"/fhir/Patient/{pid}", headers=doctor)
    assert read.status_code == 200 and read.json()["name"][0]["text"] == "王秀英"
    assert read.json()["identifier"][0]["value"] == "11010519491231002X"  # a doctor sees it in full
    updated = await client.put(
        f"/fhir/Patient/{pid}", json={**patient(gender="other"), "id": pid}, headers={**doctor, "If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200 and updated.json()["meta"]["versionId"] == "2"
    stale = await client.put(
        f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers={**doctor, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    v1 = await client.get(f"/fhir/Patient/{pid}/_history/1", headers=doctor)
    assert v1.status_code == 200 and v1.json()["gender"] == "female"
    deleted = await client.delete(f"/fhir/Patient/{pid}", headers=doctor)
    assert deleted.status_code == 204
    gone = await client.get(f"/fhir/Patient/{pid}", headers=doctor)
    assert gone.status_code == 410 and gone.json()["issue"][0]["code"] == "deleted"
    history = (await client.get(f"/fhir/Patient/{pid}/_history", headers=doctor)).json()
    assert history["type"] == "history" and [e["request"]["method"] for e in history["entry"]] == [
        "DELETE",
        "PUT",
        "POST",
    ]


async def test_update_as_create_and_json_patch(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    put = await client.put("/fhir/Patient/client-chosen-1", json={**patient(), "id": "client-chosen-1"}, headers=doctor)
    assert put.status_code == 201
    patch = [{"op": "replace", "path": "/gender", "value": "male"}]
    patched = await client.patch(
        "/fhir/Patient/client-chosen-1", json=patch, headers={**doctor, "Content-Type": "application/json-patch+json"}
    )
    assert patched.status_code == 200 and patched.json()["gender"] == "male"
    assert patched.json()["identifier"][0]["value"] == "11010519491231002X"
    bad = await client.patch(
        "/fhir/Patient/client-chosen-1",
        json=[{"op": "replace", "path": "/gender", "value": "x"}],
        headers={**doctor, "Content-Type": "application/json-patch+json"},
    )
    assert bad.status_code == 422 and "gender" in bad.json()["issue"][0]["diagnostics"]


async def test_invalid_resources_are_rejected_with_paths_and_nothing_is_stored(
    client: httpx.AsyncClient, doctor: dict[str, str]
) -> None:
    bad = patient(birthDate="1956-13-40", identifier=[{"system": ID_CARD, "value": "110105194912310021"}])
    response = await client.post("/fhir/Patient", json=bad, headers=doctor)
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    paths = {e for issue in outcome["issue"] for e in issue.get("expression", [])}
    assert {"Patient.birthDate", "Patient.identifier[0].value"} <= paths
    assert any("身份证" in issue["diagnostics"] for issue in outcome["issue"])
    search = (await client.get("/fhir/Patient", params={"birthdate": "1956-03-08"}, headers=doctor)).json()
    assert all(e["resource"].get("birthDate") != "1956-13-40" for e in search.get("entry", []))
    for body, status in ((b"{not json", 400), (b"", 400)):
        r = await client.post("/fhir/Patient", content=body, headers=doctor)
        assert r.status_code == status and r.json()["resourceType"] == "OperationOutcome"
    wrong_type = await client.post("/fhir/Patient", json={"resourceType": "Observation"}, headers=doctor)
    assert wrong_type.status_code == 400
    unknown = await client.get("/fhir/Unicorn/1", headers=doctor)
    assert unknown.status_code == 404 and unknown.json()["issue"][0]["code"] == "not-supported"
    missing = await client.get("/fhir/Patient/does-not-exist", headers=doctor)
    assert missing.status_code == 404 and missing.json()["issue"][0]["code"] == "not-found"


async def test_search_parameters_of_each_type(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    pid = (await create(client, doctor, patient()))["id"]
    await create(client, doctor, observation(pid, value=13.2, when="2026-01-02T10:00:00+08:00"))
    await create(client, doctor, observation(pid, value=9.1, when="2026-03-05T09:00:00+08:00"))
    await create(client, doctor, observation(pid, code="1558-6", value=7.9, when="2026-02-01"))

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/fhir/{query}", headers=doctor)
        assert response.status_code == 200, response.text
        return [e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"]

    assert await ids(f"Patient?identifier={ID_CARD}|11010519491231002X") == [pid]
    assert await ids("Patient?identifier=1101051949") == []  # partial ID numbers find nothing
    assert pid in await ids("Patient?name=王秀英") and pid in await ids("Patient?name=王")
    assert pid in await ids("Patient?family:exact=王") and pid not in await ids("Patient?family:exact=王秀")
    assert pid in await ids("Patient?birthdate=1956") and pid not in await ids("Patient?birthdate=gt1960")
    assert len(await ids(f"Observation?subject=Patient/{pid}&code=http://loinc.org|718-7")) == 2
    assert len(await ids(f"Observation?patient={pid}&value-quantity=lt9")) == 1
    assert len(await ids(f"Observation?patient={pid}&date=ge2026-02-01")) == 2
    assert len(await ids(f"Observation?patient={pid}&date=2026-01")) == 1
    assert len(await ids(f"Observation?patient={pid}&code:not=718-7")) == 1
    assert len(await ids(f"Observation?patient={pid}&code:text=血红")) == 2
    assert len(await ids(f"Observation?patient={pid}&code=718-7,1558-6")) == 3
    assert pid in await ids("Patient?_has:Observation:patient:code=1558-6")
    assert len(await ids("Observation?subject:Patient.identifier=" + f"{ID_CARD}|11010519491231002X")) == 3
    assert len(await ids(f"Observation?patient={pid}&_lastUpdated=gt2020-01-01")) == 3
    assert len(await ids(f"Observation?patient={pid}&status:missing=false")) == 3


async def test_sort_paging_include_total_summary(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    pid = (await create(client, doctor, patient()))["id"]
    for day in range(1, 8):
        await create(client, doctor, observation(pid, value=10 + day, when=f"2026-01-0{day}T08:00:00+08:00"))
    first = (
        await client.get(
            "/fhir/Observation",
            params={
                "patient": pid,
                "_sort": "-date",
                "_count": "3",
                "_total": "accurate",
                "_include": "Observation:patient",
            },
            headers=doctor,
        )
    ).json()
    assert first["total"] == 7
    matches = [e["resource"] for e in first["entry"] if e["search"]["mode"] == "match"]
    assert [m["effectiveDateTime"][:10] for m in matches] == ["2026-01-07", "2026-01-06", "2026-01-05"]
    assert [e["resource"]["resourceType"] for e in first["entry"] if e["search"]["mode"] == "include"] == ["Patient"]
    seen = [m["id"] for m in matches]
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while next_url:
        page = (await client.get(next_url.replace("http://testserver", ""), headers=doctor)).json()
        seen += [e["resource"]["id"] for e in page["entry"] if e["search"]["mode"] == "match"]
        next_url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)) == 7
    counted = (
        await client.get("/fhir/Observation", params={"patient": pid, "_summary": "count"}, headers=doctor)
    ).json()
    assert counted["total"] == 7 and not counted["entry"]
    assert [link["relation"] for link in counted["link"]] == ["self"]  # a count has no next page
    summary = (await client.get("/fhir/Patient", params={"_id": pid, "_elements": "gender"}, headers=doctor)).json()
    shaped = summary["entry"][0]["resource"]
    assert set(shaped) == {"resourceType", "id", "meta", "gender"} and shaped["meta"]["tag"][0]["code"] == "SUBSETTED"
    revinclude = (
        await client.get("/fhir/Patient", params={"_id": pid, "_revinclude": "Observation:patient"}, headers=doctor)
    ).json()
    assert sum(e["search"]["mode"] == "include" for e in revinclude["entry"]) == 7


async def test_bad_search_input_is_explained(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    bad_date = await client.get("/fhir/Observation", params={"date": "2026-13"}, headers=doctor)
    assert bad_date.status_code == 400 and "日期" in bad_date.json()["issue"][0]["diagnostics"]
    bad_sort = await client.get("/fhir/Observation", params={"_sort": "nonsense"}, headers=doctor)
    assert bad_sort.status_code == 400
    bad_cursor = await client.get("/fhir/Observation", params={"_cursor": "garbage"}, headers=doctor)
    assert bad_cursor.status_code == 400
    unknown = (await client.get("/fhir/Observation", params={"colour": "blue"}, headers=doctor)).json()
    assert unknown["entry"][-1]["search"]["mode"] == "outcome"
    assert "colour" in unknown["entry"][-1]["resource"]["issue"][0]["diagnostics"]
    # defined by R4 but not answered here: refused, rather than silently matching nothing
    full_text = await client.get("/fhir/Observation", params={"_content": "血压"}, headers=doctor)
    assert full_text.status_code == 400 and full_text.json()["issue"][0]["code"] == "not-supported"


async def test_conditional_create_update_delete(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    condition = f"identifier={ID_CARD}|11010519491231002X"
    first = await client.post("/fhir/Patient", json=patient(), headers={**doctor, "If-None-Exist": condition})
    again = await client.post("/fhir/Patient", json=patient(), headers={**doctor, "If-None-Exist": condition})
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    updated = await client.put(f"/fhir/Patient?{condition}", json=patient(gender="other"), headers=doctor)
    assert updated.status_code == 200 and updated.json()["id"] == first.json()["id"]
    assert (await client.delete(f"/fhir/Patient?{condition}", headers=doctor)).status_code == 204
    assert (await client.get(f"/fhir/Patient/{first.json()['id']}", headers=doctor)).status_code == 410


async def test_transaction_rewrites_urn_uuid_and_is_atomic(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": observation("placeholder")
                | {"subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}},
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = await client.post("/fhir", json=bundle, headers=doctor)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    pid = result["entry"][0]["resource"]["id"]
    assert result["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{pid}"
    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(name=[{"family": "原子"}]), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation"}, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    failed = await client.post("/fhir", json=failing, headers=doctor)
    assert failed.status_code == 422 and "entry[1]" in failed.json()["issue"][0]["diagnostics"]
    assert not (await client.get("/fhir/Patient", params={"family": "原子"}, headers=doctor)).json()["entry"]


async def test_batch_entries_succeed_or_fail_alone(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": patient(name=[{"family": "批量"}]), "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Patient", "gender": "x"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/nope"}},
        ],
    }
    result = (await client.post("/fhir", json=batch, headers=doctor)).json()
    assert [e["response"]["status"][:3] for e in result["entry"]] == ["201", "422", "404"]
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert (await client.get("/fhir/Patient", params={"family": "批量"}, headers=doctor)).json()["entry"]


async def test_everything_and_metadata(client: httpx.AsyncClient, doctor: dict[str, str]) -> None:
    pid = (await create(client, doctor, patient()))["id"]
    await create(client, doctor, observation(pid))
    everything = (await client.get(f"/fhir/Patient/{pid}/$everything", headers=doctor)).json()
    assert {e["resource"]["resourceType"] for e in everything["entry"]} == {"Patient", "Observation"}
    metadata = (await client.get("/fhir/metadata")).json()
    assert metadata["resourceType"] == "CapabilityStatement" and metadata["fhirVersion"] == "4.0.1"
    observation_caps = next(r for r in metadata["rest"][0]["resource"] if r["type"] == "Observation")
    names = {p["name"] for p in observation_caps["searchParam"]}
    assert {"code", "patient", "date", "value-quantity"} <= names
    assert "code-value-quantity" in names and "_content" not in names  # only what is implemented is claimed
    valid = await client.post("/fhir/Patient/$validate", json=patient(), headers=doctor)
    assert valid.status_code == 200
    invalid = await client.post("/fhir/Patient/$validate", json=patient(gender="x"), headers=doctor)
    assert invalid.status_code == 422
