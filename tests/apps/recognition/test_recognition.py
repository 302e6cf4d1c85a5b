"""Result mutual recognition, as a HIS and a doctor use it: check an order, see prior results, decide."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition.catalogue import DISTRICT_LAB, LOINC, local_system
from jizuo.apps.recognition.models import RecognitionPrompt, RecognitionResult
from jizuo.apps.recognition.service import LOCAL_TZ
from jizuo.apps.recognition.tasks import rebuild, seed_catalogue
from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.demo.seed import stable_id
from tests.conftest import TokenFor, bearer
from tests.platform.mpi_helpers import CENTRE, HOSPITAL, id_number, patient, post_patient

TCM_HOSPITAL = "JC-H002"  # 三级甲等
SECOND_HOSPITAL = "JC-H003"  # 二级甲等
CHECK = "/api/v1/recognition/check"


@pytest.fixture(autouse=True)
async def catalogue(db: AsyncSession) -> None:
    await seed_catalogue(db)
    await db.commit()


def org_id(code: str) -> str:
    return str(stable_id("org", code))


def days_ago(days: int) -> str:
    moment = datetime.combine(datetime.now(LOCAL_TZ).date() - timedelta(days=days), time(10, 0), LOCAL_TZ)
    return moment.isoformat()


async def glucose(client: httpx.AsyncClient, token: str, patient_id: str, org: str, days: int, value: float,
                  coding: dict[str, str] | None = None) -> str:
    resource = {"resourceType": "Observation", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "laboratory"}]}],
                "code": {"coding": [coding or {"system": LOINC, "code": "1558-6", "display": "空腹血糖"}]},
                "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": days_ago(days),
                "performer": [{"reference": f"Organization/{org_id(org)}"}],
                "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                                  "code": "mmol/L"},
                "referenceRange": [{"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 6.1, "unit": "mmol/L"}}]}
    response = await client.post("/fhir/Observation", json=resource, headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def person_at_two_places(client: httpx.AsyncClient, token: str, seq: int) -> tuple[str, str, str]:
    """One person registered at the central hospital (MRN) and at a community centre; same 身份证."""
    number = id_number(date(1962, 4, 9), seq)
    at_hospital = await post_patient(client, token, patient("周建华", "male", "1962-04-09", id_card=number,
                                                            org=HOSPITAL, mrn=f"H-{seq}"))
    at_centre = await post_patient(client, token, patient("周建华", "male", "1962-04-09", id_card=number,
                                                          org=CENTRE, mrn=f"C-{seq}"))
    return number, at_hospital, at_centre


async def check(client: httpx.AsyncClient, token: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await client.post(CHECK, json=body, headers=bearer(token))
    assert response.status_code == status, response.text
    return dict(response.json())


def order(patient_ref: dict[str, Any], org: str, *codes: tuple[str | None, str]) -> dict[str, Any]:
    return {"patient": patient_ref, "ordering_organization": org_id(org), "practitioner": "D-001",
            "department": "NEI", "items": [{"system": s, "code": c} for s, c in codes]}


async def test_window_edges_and_patient_found_through_the_mpi(client: httpx.AsyncClient, db: AsyncSession,
                                                              token_for: TokenFor) -> None:
    doctor = await token_for("doctor")  # 江川区中心医院 (JC-H001, 三甲)
    number, _, at_centre = await person_at_two_places(client, doctor, 501)
    # results filed under the person's *community centre* record, performed at another 三甲 hospital
    for days, value in ((13, 5.1), (14, 5.4), (15, 5.9)):
        await glucose(client, doctor, at_centre, TCM_HOSPITAL, days, value)
    body = await check(client, doctor, order({"identifier": {"system": ID_CARD_SYSTEM, "value": number}}, HOSPITAL,
                                             (DISTRICT_LAB, "GLU")))
    [item] = body["items"]
    assert item["item"] == "GLU" and item["recognisable"] and item["window_days"] == 14
    assert [m["value"] for m in item["matches"]] == ["5.1", "5.4"]  # 13 and 14 days: yes; 15: no
    match = item["matches"][0]
    assert match["unit"] == "mmol/L" and match["organization"] == f"Organization/{org_id(TCM_HOSPITAL)}"
    assert match["level"] == "3A" and match["organization_name"] == "江川区中医医院"
    assert match["observations"][0]["reference_range"] == "3.9-6.1"
    assert body["popup_url"] == f"/ui/recognition/popup?check={body['check_id']}" and item["prompt_id"]
    # the check and the reports shown are audited
    audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "recognition_check"))).all()
    assert audit and audit[-1].detail and len(audit[-1].detail["shown"]) == 2


async def test_lower_level_prior_result_gives_no_prompt(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    number, at_hospital, at_centre = await person_at_two_places(client, doctor, 502)
    await glucose(client, doctor, at_centre, SECOND_HOSPITAL, 3, 6.8)  # 二级甲等 hospital
    body = await check(client, doctor, order({"patient_id": at_hospital}, HOSPITAL, (LOINC, "1558-6")))
    assert body["items"][0]["recognisable"] is False and body["items"][0]["matches"] == []
    assert body["popup_url"] is None
    # a community centre orders: the 二级 result is of a higher level there
    family_doctor = await token_for("family_doctor")
    body = await check(client, family_doctor, order({"identifier": {"system": ID_CARD_SYSTEM, "value": number}},
                                                    CENTRE, (LOINC, "1558-6")))
    assert body["items"][0]["recognisable"] and body["items"][0]["matches"][0]["level"] == "2A"


async def test_local_codes_map_both_ways(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    _, at_hospital, at_centre = await person_at_two_places(client, doctor, 503)
    # the result came by HL7 v2 from JC-H002 with that lab's own code for 空腹血糖
    await glucose(client, doctor, at_centre, TCM_HOSPITAL, 1, 5.2,
                  {"system": local_system(TCM_HOSPITAL), "code": "2001"})
    # ordered with the central hospital's own HIS code, with and without its local system
    body = await check(client, doctor, order({"identifier": {"system": "mrn", "value": "H-503"}}, HOSPITAL,
                                             (local_system(HOSPITAL), "KFXT"), (None, "KFXT"), (None, "NOPE-1")))
    first, second, unknown = body["items"]
    assert first["item"] == second["item"] == "GLU" and first["recognisable"] and second["recognisable"]
    assert unknown["item"] is None and not unknown["recognisable"] and unknown["note"]
    assert at_hospital


async def test_decisions_are_recorded_with_national_reasons(client: httpx.AsyncClient, db: AsyncSession,
                                                            token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    _, at_hospital, at_centre = await person_at_two_places(client, doctor, 504)
    await glucose(client, doctor, at_centre, TCM_HOSPITAL, 2, 5.0)
    await glucose(client, doctor, at_centre, TCM_HOSPITAL, 2, 44.0, {"system": LOINC, "code": "1742-6"})  # ALT
    body = await check(client, doctor, order({"patient_id": at_hospital}, HOSPITAL, (DISTRICT_LAB, "GLU"),
                                             (DISTRICT_LAB, "ALT")))
    glu, alt = body["items"]
    view = (await client.get(f"/api/v1/recognition/checks/{body['check_id']}", headers=bearer(doctor))).json()
    assert {p["item_code"] for p in view["prompts"]} == {"GLU", "ALT"}
    url = "/api/v1/recognition/prompts/{}/decision"
    report = glu["matches"][0]["report"]
    response = await client.post(url.format(glu["prompt_id"]), json={"decision": "recognised", "report": report},
                                 headers=bearer(doctor))
    assert response.status_code == 200 and response.json()["recognised_report"] == report
    again = await client.post(url.format(glu["prompt_id"]), json={"decision": "retested", "reason": "emergency"},
                              headers=bearer(doctor))
    assert again.status_code == 409
    no_reason = await client.post(url.format(alt["prompt_id"]), json={"decision": "retested"}, headers=bearer(doctor))
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "retest_reason_required"
    bad_reason = await client.post(url.format(alt["prompt_id"]), json={"decision": "retested", "reason": "bored"},
                                   headers=bearer(doctor))
    assert bad_reason.status_code == 400
    other = await client.post(url.format(alt["prompt_id"]), json={"decision": "retested", "reason": "other_clinical"},
                              headers=bearer(doctor))
    assert other.status_code == 400 and other.json()["code"] == "retest_note_required"
    done = await client.post(url.format(alt["prompt_id"]), json={"decision": "retested", "reason": "condition_changed",
                                                                 "note": "转氨酶升高，复查"}, headers=bearer(doctor))
    assert done.status_code == 200 and done.json()["reason"] == "condition_changed"
    rows = {p.item_code: p for p in (await db.scalars(select(RecognitionPrompt).where(
        RecognitionPrompt.check_id == body["check_id"]))).all()}
    assert rows["GLU"].decision == "recognised" and rows["ALT"].decision == "retested"
    assert rows["GLU"].decided_by == "doctor" and float(rows["GLU"].price) == 4
    # the commission sees counts, never patients
    regulator = await token_for("weijianwei")
    stats = (await client.get("/api/v1/recognition/statistics", params={"group": "reason"},
                              headers=bearer(regulator))).json()
    assert any(r["key"] == "condition_changed" and r["retested"] >= 1 for r in stats["rows"])
    assert stats["totals"]["recognised"] >= 1 and stats["totals"]["saved"] >= 4
    excel = await client.get("/api/v1/recognition/statistics.xlsx", headers=bearer(regulator))
    assert excel.status_code == 200 and excel.content[:2] == b"PK"
    # the regulator cannot check or open a prompt
    denied = await client.get(f"/api/v1/recognition/checks/{body['check_id']}", headers=bearer(regulator))
    assert denied.status_code == 403


async def test_bad_requests(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    number, _, at_centre = await person_at_two_places(client, doctor, 505)
    by_card = {"identifier": {"system": ID_CARD_SYSTEM, "value": number}}
    assert (await check(client, doctor, {"patient": by_card, "ordering_organization": "nowhere",
                                         "items": [{"code": "GLU"}]}, 400))["code"] == "unknown_organization"
    await check(client, doctor, {"patient": by_card, "ordering_organization": org_id(HOSPITAL), "items": []}, 422)
    await check(client, doctor, {"ordering_organization": org_id(HOSPITAL), "items": [{"code": "GLU"}]}, 422)
    assert (await check(client, doctor, order({}, HOSPITAL, (None, "GLU")), 400))["code"] == "patient_missing"
    unknown = {"identifier": {"system": ID_CARD_SYSTEM, "value": id_number(date(1999, 1, 1), 999)}}
    assert (await check(client, doctor, order(unknown, HOSPITAL, (None, "GLU")), 404))["code"] == "patient_not_found"
    # another institution's order: not this doctor's to place
    assert (await check(client, doctor, order(by_card, TCM_HOSPITAL, (None, "GLU")), 403))["code"] == \
        "not_ordering_institution"
    # a nurse has no recognition permission
    nurse = await token_for("nurse")
    await check(client, nurse, order(by_card, HOSPITAL, (None, "GLU")), 403)
    # a patient not registered at the ordering institution: no treatment context, no foreign results
    lone = await post_patient(client, doctor, patient("吴小梅", "female", "1990-02-03", org=CENTRE, mrn="C-lone",
                                                      id_card=id_number(date(1990, 2, 3), 506, "female")))
    assert (await check(client, doctor, order({"patient_id": lone}, HOSPITAL, (None, "GLU")), 403))["code"] == \
        "not_treating"
    assert at_centre


async def test_fhir_operation_and_rebuild(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    _, at_hospital, at_centre = await person_at_two_places(client, doctor, 507)
    observation = await glucose(client, doctor, at_centre, TCM_HOSPITAL, 5, 5.3)
    request = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
               "subject": {"reference": f"Patient/{at_hospital}"},
               "requester": {"reference": f"Organization/{org_id(HOSPITAL)}"},
               "code": {"coding": [{"system": LOINC, "code": "1558-6"}]}}
    response = await client.post("/fhir/ServiceRequest/$recognition-check", json=request, headers=bearer(doctor))
    assert response.status_code == 200, response.text
    parts = {p["name"]: p for p in response.json()["parameter"]}
    item = {p["name"]: p for p in parts["item"]["part"]}
    assert item["recognisable"]["valueBoolean"] is True and item["item"]["valueString"] == "GLU"
    # the backfill derives the same projection row from the store
    await rebuild(db)
    rows = (await db.scalars(select(RecognitionResult).where(RecognitionResult.resource_id == observation))).all()
    assert [(r.item_code, r.level_rank) for r in rows] == [("GLU", 6)]
    script = await client.get("/api/v1/recognition/popup.js")
    assert script.status_code == 200 and "JizuoRecognition" in script.text
