"""Patients as institutions send them, for the MPI tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from jizuo.core.idcard import make_id_number
from jizuo.fhir.demo.codes import INSURANCE_SYSTEM
from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.demo.seed import stable_id
from tests.conftest import bearer

HOSPITAL = "JC-H001"  # 江川区中心医院, 三级甲等
CENTRE = "JC-C001"  # a community health service centre
CENTRE_2 = "JC-C002"
ADDRESS = "申江市江川区新华街道新华路123弄4号501室"


def id_number(birth: date, seq: int, sex: str = "male") -> str:
    return make_id_number("310199", birth, seq, sex)


def patient(name: str, gender: str, birth: str, *, org: str = HOSPITAL, mrn: str = "MRN-1",
            id_card: str | None = None, phone: str | None = None, address: str | None = ADDRESS,
            insurance: str | None = None) -> dict[str, Any]:
    org_id = str(stable_id("org", org))
    identifiers: list[dict[str, Any]] = [{
        "use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                             "code": "MR"}]},
        "system": f"https://jizuo.dev/fhir/NamingSystem/mrn/{org}", "value": mrn,
        "assigner": {"reference": f"Organization/{org_id}"}}]
    if id_card:
        identifiers.append({"use": "official", "system": ID_CARD_SYSTEM, "value": id_card})
    if insurance:
        identifiers.append({"use": "secondary", "system": INSURANCE_SYSTEM, "value": insurance})
    resource: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers,
                                "name": [{"use": "official", "text": name}], "gender": gender, "birthDate": birth,
                                "managingOrganization": {"reference": f"Organization/{org_id}"}}
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    if address:
        resource["address"] = [{"use": "home", "text": address}]
    return resource


async def post_patient(client: httpx.AsyncClient, token: str, resource: dict[str, Any]) -> str:
    response = await client.post("/fhir/Patient", json=resource, headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def person_of(client: httpx.AsyncClient, token: str, patient_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/mpi/patients/{patient_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def put_patient(client: httpx.AsyncClient, token: str, patient_id: str, resource: dict[str, Any]) -> str:
    response = await client.put(f"/fhir/Patient/{patient_id}", json={**resource, "id": patient_id},
                                headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    return patient_id


async def open_review_of(client: httpx.AsyncClient, token: str, patient_id: str) -> dict[str, Any] | None:
    """The caller's open review item for this incoming record, if their queue shows it."""
    response = await client.get("/api/v1/mpi/reviews", params={"page_size": 100}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return next((r for r in response.json()["items"] if r["source_patient_id"] == patient_id), None)


def borderline(first: str, second: str, birth: str, phone: str, *, org: str = HOSPITAL, second_org: str = CENTRE_2,
               seq: int = 401) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two registrations a matcher should not decide alone: the second has a different character in the
    given name, no 身份证 and another phone (model probability between 0.5 and 0.99)."""
    year, month, day = map(int, birth.split("-"))
    return (patient(first, "male", birth, id_card=id_number(date(year, month, day), seq), phone=phone, org=org,
                    mrn=f"{org}-{seq}"),
            patient(second, "male", birth, phone="139" + phone[3:], org=second_org, mrn=f"{second_org}-{seq}b"))
