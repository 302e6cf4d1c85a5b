"""The master patient index, through the API as institutions and stewards use it."""

from __future__ import annotations

from datetime import date

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.mpi.models import MpiSourceRecord
from tests.conftest import TokenFor, bearer
from tests.platform.mpi_helpers import CENTRE, CENTRE_2, HOSPITAL, id_number, patient, person_of, post_patient


async def test_same_id_card_at_two_institutions_is_one_person(client: httpx.AsyncClient, db: AsyncSession,
                                                              token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    number = id_number(date(1980, 5, 17), 101)
    first = await post_patient(client, doctor, patient("林志远", "male", "1980-05-17", id_card=number,
                                                       phone="13812345678", org=HOSPITAL, mrn="H-1"))
    second = await post_patient(client, doctor, patient("林志远", "male", "1980-05-17", id_card=number,
                                                        phone="13998765432", org=CENTRE, mrn="C-9",
                                                        address="新华街道新华路123弄4号"))
    a, b = await person_of(client, doctor, first), await person_of(client, doctor, second)
    assert a["person_id"] == b["person_id"]
    assert b["method"] == "deterministic:id_card" and b["score"] == 1.0 and b["matched_patient_id"] == first
    assert b["institution_code"] == CENTRE and b["mrn"] == "C-9"
    assert "phone" in b["agreement"]["disagreed"] and b["model_version"]
    # no plaintext 身份证 anywhere in the MPI's own table
    row = await db.get(MpiSourceRecord, second)
    assert row is not None and number not in orjson.dumps(row.snapshot).decode() and row.id_valid
    audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "mpi_link",
                                                       AuditEvent.resource_id == second))).all()
    assert len(audit) == 1 and (audit[0].detail or {})["method"] == "deterministic:id_card"


async def test_homophone_name_and_swapped_birth_date_link_automatically(client: httpx.AsyncClient,
                                                                       token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    original = await post_patient(client, doctor, patient(
        "王建國", "male", "1975-03-08", id_card=id_number(date(1975, 3, 8), 202), phone="13842486823"))
    duplicate = await post_patient(client, doctor, patient(
        "王剑国", "male", "1975-08-03", phone="13842486823", org=CENTRE, mrn="C-77",
        address="申江市江川区新华街新华路123弄4号"))
    a, b = await person_of(client, doctor, original), await person_of(client, doctor, duplicate)
    assert a["person_id"] == b["person_id"] and b["method"] == "probabilistic" and b["score"] >= 0.99
    levels = b["agreement"]["comparisons"]
    assert levels["name"]["level"].startswith("同音") and levels["birth"]["level"].startswith("月日颠倒")
    assert levels["id_card"]["agreement"] == "missing"


async def test_stranger_becomes_a_new_person(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    one = await post_patient(client, doctor, patient("欧阳晓峰", "male", "1990-01-02",
                                                     id_card=id_number(date(1990, 1, 2), 303)))
    other = await post_patient(client, doctor, patient("欧阳晓峰", "male", "1991-06-12",
                                                       id_card=id_number(date(1991, 6, 12), 305), phone="13511112222",
                                                       address="申江市江川区兴隆镇兴隆村3组45号"))
    a, b = await person_of(client, doctor, one), await person_of(client, doctor, other)
    assert a["person_id"] != b["person_id"] and b["method"] == "new_person"


async def _borderline_pair(client: httpx.AsyncClient, token: str) -> tuple[str, str]:
    first = await post_patient(client, token, patient("赵海涛", "male", "1972-11-24",
                                                      id_card=id_number(date(1972, 11, 24), 443),
                                                      phone="13842480000"))
    second = await post_patient(client, token, patient("赵河涛", "male", "1972-11-24", phone="13900001111",
                                                       org=CENTRE_2, mrn="C2-5"))
    return first, second


async def test_borderline_pair_waits_for_a_steward_whose_link_is_audited_and_reversible(
        client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    first, second = await _borderline_pair(client, doctor)
    a, b = await person_of(client, doctor, first), await person_of(client, doctor, second)
    assert a["person_id"] != b["person_id"] and b["method"] == "new_person"
    queue = (await client.get("/api/v1/mpi/reviews", headers=bearer(admin))).json()
    item = next(r for r in queue["items"] if r["source_patient_id"] == second)
    assert 0.5 <= item["score"] < 0.99 and item["candidate_person_id"] == a["person_id"]
    review = (await client.get(f"/api/v1/mpi/reviews/{item['id']}", headers=bearer(admin))).json()
    assert review["incoming"]["name"] == "赵河涛" and review["candidate"]["name"] == "赵海涛"
    assert "*" in review["candidate"]["id_number"]  # the steward sees masks
    decided = await client.post(f"/api/v1/mpi/reviews/{item['id']}/decision",
                                json={"decision": "link", "note": "同一人"}, headers=bearer(admin))
    assert decided.status_code == 200, decided.text
    linked = await person_of(client, doctor, second)
    assert linked["person_id"] == a["person_id"] and linked["method"] == "manual" and linked["created_by"] == "admin"
    seq = decided.json()["event"]["seq"]
    audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "mpi_review_link"))).all()
    assert audit and audit[-1].actor_username == "admin"
    # the decision is reversible: revert puts the record back on its own person
    reverted = await client.post(f"/api/v1/mpi/events/{seq}/revert", json={"reason": "误判"}, headers=bearer(admin))
    assert reverted.status_code == 200, reverted.text
    assert (await person_of(client, doctor, second))["person_id"] == b["person_id"]
    again = await client.post(f"/api/v1/mpi/events/{seq}/revert", json={}, headers=bearer(admin))
    assert again.status_code == 409 and again.json()["code"] == "mpi_event_already_reverted"
    closed = (await client.get("/api/v1/mpi/reviews", params={"status": "linked"}, headers=bearer(admin))).json()
    assert any(r["id"] == item["id"] for r in closed["items"])


async def test_wrong_auto_link_is_fixed_by_unlink_and_unlink_by_revert(client: httpx.AsyncClient,
                                                                       token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    number = id_number(date(1966, 9, 9), 515, "female")
    first = await post_patient(client, doctor, patient("陈秀英", "female", "1966-09-09", id_card=number))
    second = await post_patient(client, doctor, patient("陈秀英", "female", "1966-09-09", id_card=number, org=CENTRE))
    person = (await person_of(client, doctor, first))["person_id"]
    unlinked = await client.post(f"/api/v1/mpi/patients/{second}/unlink", json={"reason": "不是同一人"},
                                 headers=bearer(admin))
    assert unlinked.status_code == 200, unlinked.text
    alone = await person_of(client, doctor, second)
    assert alone["person_id"] != person and alone["method"] == "manual"
    records = (await client.get(f"/api/v1/mpi/persons/{person}/records", headers=bearer(doctor))).json()
    assert [r["source_patient_id"] for r in records] == [first]
    only = await client.post(f"/api/v1/mpi/patients/{first}/unlink", json={}, headers=bearer(admin))
    assert only.status_code == 409 and only.json()["code"] == "mpi_only_record"
    back = await client.post(f"/api/v1/mpi/events/{unlinked.json()['seq']}/revert", json={}, headers=bearer(admin))
    assert back.status_code == 200 and (await person_of(client, doctor, second))["person_id"] == person
    retired = (await client.get(f"/api/v1/mpi/persons/{alone['person_id']}", headers=bearer(admin))).json()
    assert retired["status"] == "retired" and retired["records"] == []


async def test_merge_and_unmerge_tell_subscribers_and_restore_everything(client: httpx.AsyncClient,
                                                                         token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    a = await post_patient(client, doctor, patient("周明", "male", "1958-02-03",
                                                   id_card=id_number(date(1958, 2, 3), 11)))
    b = await post_patient(client, doctor, patient("周铭", "male", "1958-03-02", org=CENTRE, phone="13700000001",
                                                   address="申江市江川区白鹤镇白鹤村2组8号"))
    pa, pb = (await person_of(client, doctor, a))["person_id"], (await person_of(client, doctor, b))["person_id"]
    assert pa != pb
    merged = await client.post(f"/api/v1/mpi/persons/{pb}/merge", json={"into_person_id": pa}, headers=bearer(admin))
    assert merged.status_code == 200, merged.text
    assert (await person_of(client, doctor, b))["person_id"] == pa
    loser = (await client.get(f"/api/v1/mpi/persons/{pb}/fhir", headers=bearer(admin))).json()
    assert loser["active"] is False and loser["link"][0]["type"] == "replaced-by"
    feed = (await client.get("/api/v1/mpi/events", params={"person_id": pb}, headers=bearer(admin))).json()
    assert [e["action"] for e in feed][-1] == "merge"
    unmerged = await client.post(f"/api/v1/mpi/persons/{pb}/unmerge", json={}, headers=bearer(admin))
    assert unmerged.status_code == 200, unmerged.text
    assert (await person_of(client, doctor, b))["person_id"] == pb
    assert (await client.get(f"/api/v1/mpi/persons/{pb}", headers=bearer(admin))).json()["status"] == "active"
    feed = (await client.get("/api/v1/mpi/events", params={"person_id": pb}, headers=bearer(admin))).json()
    assert feed[-1]["action"] == "revert" and feed[-1]["reverts_seq"] == merged.json()["seq"]


async def test_split_moves_records_to_a_new_person(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    number = id_number(date(2001, 7, 7), 77)
    orgs = (HOSPITAL, CENTRE, CENTRE_2)
    ids = [await post_patient(client, doctor, patient("孙悦", "female", "2001-07-07", id_card=number, org=org,
                                                      mrn=f"M{i}")) for i, org in enumerate(orgs)]
    person = (await person_of(client, doctor, ids[0]))["person_id"]
    split = await client.post(f"/api/v1/mpi/persons/{person}/split", json={"source_patient_ids": ids[1:]},
                              headers=bearer(admin))
    assert split.status_code == 200, split.text
    moved = {(await person_of(client, doctor, i))["person_id"] for i in ids[1:]}
    assert len(moved) == 1 and person not in moved
    bad = await client.post(f"/api/v1/mpi/persons/{person}/split", json={"source_patient_ids": ids[1:]},
                            headers=bearer(admin))
    assert bad.status_code == 400 and bad.json()["code"] == "mpi_split_foreign_records"


async def test_golden_record_prefers_higher_level_institution_and_the_newest_phone(
        client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    number = id_number(date(1988, 12, 1), 188, "female")
    hospital = await post_patient(client, doctor, patient("张晓燕", "female", "1988-12-01", id_card=number,
                                                          phone="13600000001", org=HOSPITAL))
    centre = await post_patient(client, doctor, patient("张晓艳", "female", "1988-12-01", id_card=number,
                                                        phone="13600000002", org=CENTRE, address="新华街道新华路1号"))
    person_id = (await person_of(client, doctor, centre))["person_id"]
    person = (await client.get(f"/api/v1/mpi/persons/{person_id}", headers=bearer(doctor))).json()
    golden = person["golden"]
    assert golden["name"] == "张晓燕" and golden["sources"]["name"] == hospital  # 三甲 beats 社区
    assert golden["phone"] == "13600000002" and golden["sources"]["phone"] == centre  # newest phone
    assert golden["id_number"] == number and golden["rules"]["phone"] == "most_recent"
    fhir = (await client.get(f"/api/v1/mpi/persons/{person_id}/fhir", headers=bearer(admin))).json()
    assert fhir["resourceType"] == "Patient" and fhir["name"][0]["text"] == "张晓燕"
    assert {link["other"]["reference"] for link in fhir["link"]} == {f"Patient/{hospital}", f"Patient/{centre}"}
    assert fhir["identifier"][0]["value"].startswith(number[:4]) and "*" in fhir["identifier"][0]["value"]


async def test_patient_match_operation_scores_and_grades(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    number = id_number(date(1970, 4, 5), 405)
    stored = await post_patient(client, doctor, patient("刘德明", "male", "1970-04-05", id_card=number,
                                                        phone="13312341234"))
    probe = patient("刘德明", "male", "1970-05-04", phone="13312341234")
    response = await client.post("/fhir/Patient/$match", headers=bearer(doctor), json={
        "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": probe}]})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    entry = bundle["entry"][0]
    assert entry["resource"]["id"] == stored and entry["search"]["score"] > 0.99
    assert entry["search"]["extension"][0] == {"url": "http://hl7.org/fhir/StructureDefinition/match-grade",
                                               "valueCode": "certain"}
    stranger = patient("钱多多", "female", "2010-10-10", phone="18800000000", address="申江市江川区柳湾镇柳湾村1组1号")
    none = (await client.post("/fhir/Patient/$match", headers=bearer(doctor), json={
        "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": stranger},
                                                    {"name": "onlyCertainMatches", "valueBoolean": True}]})).json()
    assert none["total"] == 0
    bad = await client.post("/fhir/Patient/$match", headers=bearer(doctor), json={"resourceType": "Parameters"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


async def test_links_export_is_ndjson(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    created = await post_patient(client, doctor, patient("吴桂兰", "female", "1949-10-01",
                                                         id_card=id_number(date(1949, 10, 1), 490, "female")))
    response = await client.get("/api/v1/mpi/links", headers=bearer(doctor))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.text.splitlines() if line]
    mine = next(line for line in lines if line["source_patient_id"] == created)
    assert set(mine) >= {"source_patient_id", "person_id", "score", "method"} and mine["method"] == "new_person"


async def test_nurse_may_look_up_but_not_steward(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, nurse = await token_for("doctor"), await token_for("nurse")
    number = id_number(date(1995, 3, 3), 33)
    first = await post_patient(client, doctor, patient("郑爽", "female", "1995-03-03", id_card=number))
    await post_patient(client, doctor, patient("郑爽", "female", "1995-03-03", id_card=number, org=CENTRE))
    assert (await client.get(f"/api/v1/mpi/patients/{first}", headers=bearer(nurse))).status_code == 200
    for method, url in (("post", f"/api/v1/mpi/patients/{first}/unlink"), ("get", "/api/v1/mpi/reviews")):
        response = await client.request(method, url, headers=bearer(nurse), json={} if method == "post" else None)
        assert response.status_code == 403 and response.json()["code"] == "mpi_steward_forbidden"
        assert "无权" in response.json()["detail"]
    regulator = await token_for("weijianwei")
    assert (await client.get(f"/api/v1/mpi/patients/{first}", headers=bearer(regulator))).status_code == 403


async def test_unknown_record_is_a_chinese_404(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    response = await client.get("/api/v1/mpi/patients/no-such-patient", headers=bearer(doctor))
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "mpi_record_not_found" and "不在主索引中" in response.json()["detail"]
    person = await client.get("/api/v1/mpi/persons/00000000-0000-4000-8000-000000000000", headers=bearer(doctor))
    assert person.status_code == 404 and person.json()["code"] == "mpi_person_not_found"
    revert = await client.post("/api/v1/mpi/events/999999999/revert", json={}, headers=bearer(admin))
    assert revert.status_code == 404 and "不存在" in revert.json()["detail"]


async def test_deleting_a_patient_retires_its_link(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor = await token_for("doctor")
    created = await post_patient(client, doctor, patient("冯小刚", "male", "1960-06-06",
                                                         id_card=id_number(date(1960, 6, 6), 66)))
    person = (await person_of(client, doctor, created))["person_id"]
    assert (await client.delete(f"/fhir/Patient/{created}", headers=bearer(doctor))).status_code in (200, 204)
    assert (await client.get(f"/api/v1/mpi/patients/{created}", headers=bearer(doctor))).status_code == 404
    gone = (await client.get(f"/api/v1/mpi/persons/{person}", headers=bearer(doctor))).json()
    assert gone["status"] == "retired"


async def test_patients_of_one_transaction_bundle_are_linked_together(client: httpx.AsyncClient, db: AsyncSession,
                                                                      token_for: TokenFor) -> None:
    """A bundle's Patients are linked at its end, set-wise: two records of one person inside the bundle and a
    record of a person registered before it all find their person, as one by one."""
    doctor = await token_for("doctor")
    known = id_number(date(1975, 3, 2), 301)
    earlier = await post_patient(client, doctor, patient("沈国华", "male", "1975-03-02", id_card=known, mrn="H-3"))
    twice = id_number(date(1990, 8, 9), 302, "female")
    records = [patient("许丽娟", "female", "1990-08-09", id_card=twice, org=HOSPITAL, mrn="H-4"),
               patient("许丽娟", "female", "1990-08-09", id_card=twice, org=CENTRE, mrn="C-4"),
               patient("沈国华", "male", "1975-03-02", id_card=known, org=CENTRE_2, mrn="C2-3")]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}", "resource": r,
         "request": {"method": "POST", "url": "Patient"}} for i, r in enumerate(records)]}
    done = await client.post("/fhir", json=bundle, headers=bearer(doctor))
    assert done.status_code == 200, done.text
    ids = [entry["response"]["location"].split("/")[1] for entry in done.json()["entry"]]
    people = [await person_of(client, doctor, i) for i in ids]
    assert people[0]["person_id"] == people[1]["person_id"] != people[2]["person_id"]
    assert people[1]["method"] == "deterministic:id_card" and people[1]["matched_patient_id"] == ids[0]
    assert people[2]["person_id"] == (await person_of(client, doctor, earlier))["person_id"]
    audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "mpi_link",
                                                       AuditEvent.resource_id.in_(ids)))).all()
    assert sorted(a.resource_id for a in audit) == sorted(ids)
