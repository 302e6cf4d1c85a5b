"""Repeat prescriptions (代配药): a signed resident (or a family member for them) asks for a repeat of a current
long-term MedicationRequest; their family doctor approves — a new MedicationRequest with the doctor as
requester — or rejects with a reason. Bad requests and other people's prescriptions are refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.apps.chronic.helpers import own_resident
from tests.conftest import TokenFor, bearer

API = "/api/v1/chronic"
FHIR = "application/fhir+json"


def _prescription(patient: uuid.UUID, days: int = 90, status: str = "active") -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "status": status, "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C08CA01",
                                                      "display": "氨氯地平片 5mg"}]},
            "subject": {"reference": f"Patient/{patient}"}, "authoredOn": "2026-09-01T09:00:00+08:00",
            "dosageInstruction": [{"text": "每日一次，每次 5mg"}],
            "dispenseRequest": {"expectedSupplyDuration": {"value": days, "unit": "天",
                                                           "system": "http://unitsofmeasure.org", "code": "d"}}}


async def _create(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = await client.post("/fhir/MedicationRequest", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_request_approve_and_reject(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    me, _ = await own_resident(db)
    long_term = await _create(client, doctor, _prescription(me.id))
    short = await _create(client, doctor, _prescription(me.id, days=5))
    resident = bearer(await token_for("resident"))
    meds = (await client.get(f"{API}/me/medications", headers=resident)).json()
    assert [m["id"] for m in meds] == [long_term] and meds[0]["medication"] == "氨氯地平片 5mg"

    asked = await client.post(f"{API}/me/medication-requests", headers=resident, json={
        "medication_request_id": long_term, "days": 60, "proxy_name": "王小明", "proxy_relation": "儿子"})
    assert asked.status_code == 201, asked.text
    refill = asked.json()
    assert refill["status"] == "pending" and refill["proxy_relation"] == "儿子"
    dup = await client.post(f"{API}/me/medication-requests", headers=resident,
                            json={"medication_request_id": long_term})
    assert dup.status_code == 409 and dup.json()["code"] == "refill_pending"
    not_long = await client.post(f"{API}/me/medication-requests", headers=resident,
                                 json={"medication_request_id": short})
    assert not_long.status_code == 422 and not_long.json()["code"] == "not_long_term"
    half_proxy = await client.post(f"{API}/me/medication-requests", headers=resident,
                                   json={"medication_request_id": long_term, "proxy_name": "王小明"})
    assert half_proxy.status_code == 422
    too_long = await client.post(f"{API}/me/medication-requests", headers=resident,
                                 json={"medication_request_id": long_term, "days": 120})
    assert too_long.status_code == 422

    family = bearer(await token_for("family_doctor"))
    pending = (await client.get(f"{API}/medication-requests", headers=family, params={"status": "pending"})).json()
    assert [p["id"] for p in pending] == [refill["id"]]
    approved = await client.post(f"{API}/medication-requests/{refill['id']}/approve", headers=family, json={})
    assert approved.status_code == 200, approved.text
    new_id = approved.json()["new_medication_request_id"]
    created = (await client.get(f"/fhir/MedicationRequest/{new_id}", headers=family)).json()
    assert created["status"] == "active" and created["requester"]["reference"].startswith("Practitioner/")
    assert created["priorPrescription"]["reference"] == f"MedicationRequest/{long_term}"
    assert created["dispenseRequest"]["expectedSupplyDuration"]["value"] == 60
    again = await client.post(f"{API}/medication-requests/{refill['id']}/approve", headers=family, json={})
    assert again.status_code == 409

    second = await client.post(f"{API}/me/medication-requests", headers=resident,
                               json={"medication_request_id": long_term})
    assert second.status_code == 201
    no_reason = await client.post(f"{API}/medication-requests/{second.json()['id']}/reject", headers=family, json={})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reject_reason_missing"
    rejected = await client.post(f"{API}/medication-requests/{second.json()['id']}/reject", headers=family,
                                 json={"note": "请先来门诊复查血压"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    mine = (await client.get(f"{API}/me/medication-requests", headers=resident)).json()
    assert {m["status"] for m in mine} == {"approved", "rejected"}


async def test_refused_for_others(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    me, _ = await own_resident(db)
    someone_else = await _create(client, doctor, _prescription(uuid.uuid4()))
    resident = bearer(await token_for("resident"))
    foreign = await client.post(f"{API}/me/medication-requests", headers=resident,
                                json={"medication_request_id": someone_else})
    assert foreign.status_code == 404
    family = bearer(await token_for("family_doctor"))
    assert (await client.get(f"{API}/me/medications", headers=family)).status_code == 403
    own = await _create(client, doctor, _prescription(me.id))
    asked = await client.post(f"{API}/me/medication-requests", headers=resident,
                              json={"medication_request_id": own})
    cancelled = await client.post(f"{API}/me/medication-requests/{asked.json()['id']}/cancel", headers=resident)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    late = await client.post(f"{API}/medication-requests/{asked.json()['id']}/approve", headers=family, json={})
    assert late.status_code == 409
    pharmacist = bearer(await token_for("pharmacist"))
    assert (await client.get(f"{API}/medication-requests", headers=pharmacist)).status_code == 403
