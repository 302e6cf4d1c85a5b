"""MPI stewardship: the `mpi:steward` permission and who sees what, the person search, `link-pending` for
Patients that arrived without the listener, and concurrent registrations of one newcomer."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.core.db import make_engine, make_sessionmaker
from jizuo.core.security import get_field_cipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir.access import SYSTEM_ACCESS
from jizuo.fhir.bulk import import_ndjson
from jizuo.fhir.bulk.importer import IMPORT_LISTENERS, add_import_listener
from jizuo.fhir.bulk.prepare import prepare_batch
from jizuo.fhir.bulk.writer import write_batch
from jizuo.fhir.service import FhirContext
from jizuo.migrations import upgrade_to_head
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.demo.generator import generate_district
from jizuo.platform.demo.seed import seed_demo_district
from jizuo.platform.mpi.demo import hard_duplicate, registration_patient
from jizuo.platform.mpi.listener import MpiListener
from jizuo.platform.mpi.pending import link_after_bulk_import, link_pending
from tests.conftest import ROOT, TokenFor, bearer, fresh_database
from tests.platform.mpi_helpers import (
    CENTRE,
    CENTRE_2,
    HOSPITAL,
    borderline,
    id_number,
    open_review_of,
    patient,
    person_of,
    post_patient,
    put_patient,
)

# --- who may steward, and what they see --------------------------------------------------------------


async def test_doctor_is_refused_stewardship_and_the_district_admin_has_it(client: httpx.AsyncClient,
                                                                          token_for: TokenFor) -> None:
    doctor, admin, hosp_admin = await token_for("doctor"), await token_for("admin"), await token_for("hosp_admin")
    number = id_number(date(1981, 1, 21), 121)
    first = await post_patient(client, doctor, patient("韩立", "male", "1981-01-21", id_card=number))
    await post_patient(client, doctor, patient("韩立", "male", "1981-01-21", id_card=number, org=CENTRE))
    for method, url, body in (("get", "/api/v1/mpi/reviews", None),
                              ("post", f"/api/v1/mpi/patients/{first}/unlink", {"reason": "测试"})):
        refused = await client.request(method, url, headers=bearer(doctor), json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "mpi_steward_forbidden"
        assert "无权执行主索引管理操作" in refused.json()["detail"]
    assert (await client.get("/api/v1/mpi/reviews", headers=bearer(admin))).status_code == 200
    unlinked = await client.post(f"/api/v1/mpi/patients/{first}/unlink", json={"reason": "测试"}, headers=bearer(admin))
    assert unlinked.status_code == 200, unlinked.text
    me = {name: (await client.get("/api/v1/auth/me", headers=bearer(token))).json()["permissions"]
          for name, token in (("admin", admin), ("hosp_admin", hosp_admin), ("doctor", doctor))}
    assert "mpi:steward" in me["admin"] and "mpi:steward" in me["hosp_admin"] and "mpi:steward" not in me["doctor"]


async def test_institution_admin_stewards_only_duplicates_among_own_registrations(
        client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, admin, hosp_admin = await token_for("doctor"), await token_for("admin"), await token_for("hosp_admin")
    own_a, own_b = borderline("钱立新", "钱利民", "1965-04-12", "13842481111", second_org=HOSPITAL, seq=411)
    cross_a, cross_b = borderline("李国强", "李国祥", "1959-10-30", "13842482222", second_org=CENTRE_2, seq=412)
    own = [await post_patient(client, doctor, r) for r in (own_a, own_b)]
    cross = [await post_patient(client, doctor, r) for r in (cross_a, cross_b)]
    own_review = await open_review_of(client, admin, own[1])
    cross_review = await open_review_of(client, admin, cross[1])
    assert own_review and cross_review, "the district steward sees both review items"
    assert await open_review_of(client, hosp_admin, own[1]) is not None
    assert await open_review_of(client, hosp_admin, cross[1]) is None  # one record is 江川区第二社区's
    refused = await client.get(f"/api/v1/mpi/reviews/{cross_review['id']}", headers=bearer(hosp_admin))
    assert refused.status_code == 403 and refused.json()["code"] == "mpi_outside_reach"
    assert "不在您的主索引可见范围内" in refused.json()["detail"]
    decided = await client.post(f"/api/v1/mpi/reviews/{cross_review['id']}/decision", json={"decision": "link"},
                                headers=bearer(hosp_admin))
    assert decided.status_code == 403
    # the own-institution pair: decided by the institution's steward
    decided = await client.post(f"/api/v1/mpi/reviews/{own_review['id']}/decision",
                                json={"decision": "link", "note": "同一人，两个病案号"}, headers=bearer(hosp_admin))
    assert decided.status_code == 200, decided.text
    joined = {(await person_of(client, doctor, record))["person_id"] for record in own}
    assert len(joined) == 1
    # another institution's record cannot be moved by them, and a person shows only their records
    moved = await client.post(f"/api/v1/mpi/patients/{cross[1]}/unlink", json={}, headers=bearer(hosp_admin))
    assert moved.status_code == 403 and moved.json()["code"] == "mpi_outside_reach"
    linked = await client.post("/api/v1/mpi/reviews/" + cross_review["id"] + "/decision",
                               json={"decision": "link"}, headers=bearer(admin))
    assert linked.status_code == 200, linked.text
    person_id = (await person_of(client, doctor, cross[0]))["person_id"]
    seen = (await client.get(f"/api/v1/mpi/persons/{person_id}", headers=bearer(hosp_admin))).json()
    assert [r["source_patient_id"] for r in seen["records"]] == [cross[0]] and seen["hidden_records"] == 1
    assert set(seen["golden"]["sources"].values()) <= {cross[0]}
    whole = (await client.get(f"/api/v1/mpi/persons/{person_id}", headers=bearer(admin))).json()
    assert {r["source_patient_id"] for r in whole["records"]} == set(cross) and whole["hidden_records"] == 0


async def test_family_doctor_matches_and_finds_only_persons_of_signed_residents(
        client: httpx.AsyncClient, token_for: TokenFor) -> None:
    doctor, family_doctor = await token_for("doctor"), await token_for("family_doctor")
    signed = (await client.get("/api/v1/residents", params={"page_size": 1}, headers=bearer(family_doctor))).json()
    assert signed["scope"] == "team" and signed["items"]
    resident_id = str(signed["items"][0]["id"])
    mine_number, other_number = id_number(date(1950, 5, 5), 505), id_number(date(1950, 5, 5), 507)
    await put_patient(client, doctor, resident_id, patient("马秀兰", "female", "1950-05-05", id_card=mine_number,
                                                           phone="13611112222", org=CENTRE))
    hospital_record = await post_patient(client, doctor, patient("马秀兰", "female", "1950-05-05",
                                                                 id_card=mine_number, org=HOSPITAL))
    stranger = await post_patient(client, doctor, patient("马秀英", "female", "1950-05-05", id_card=other_number,
                                                          phone="13633334444", address="白鹤镇白鹤村2组8号"))

    async def match(token: str, probe: dict[str, Any]) -> set[str]:
        response = await client.post("/fhir/Patient/$match", headers=bearer(token), json={
            "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": probe}]})
        assert response.status_code == 200, response.text
        return {e["resource"]["id"] for e in response.json().get("entry", [])}

    probe = patient("马秀兰", "female", "1950-05-05", phone="13611112222", org=CENTRE_2)
    assert stranger not in await match(family_doctor, patient("马秀英", "female", "1950-05-05", phone="13633334444"))
    assert stranger in await match(doctor, patient("马秀英", "female", "1950-05-05", phone="13633334444"))
    assert (await match(family_doctor, probe)) & {resident_id, hospital_record}  # their resident's person
    found = (await client.get("/api/v1/mpi/persons", params={"q": other_number}, headers=bearer(family_doctor)))
    assert found.status_code == 200 and found.json() == []
    mine = (await client.get("/api/v1/mpi/persons", params={"q": mine_number}, headers=bearer(family_doctor))).json()
    assert len(mine) == 1 and mine[0]["record_count"] == 2  # the whole person: also the hospital's record
    outside = await client.get(f"/api/v1/mpi/patients/{stranger}", headers=bearer(family_doctor))
    assert outside.status_code == 403 and outside.json()["code"] == "mpi_outside_reach"
    feed = await client.get("/api/v1/mpi/events", headers=bearer(family_doctor))
    assert feed.status_code == 403  # the district-wide outbox is not theirs


async def test_person_search_by_id_number_record_mrn_and_person_id(client: httpx.AsyncClient, db: AsyncSession,
                                                                  token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    number = id_number(date(1968, 8, 18), 818, "female")
    first = await post_patient(client, doctor, patient("许丽华", "female", "1968-08-18", id_card=number, mrn="H-818"))
    await post_patient(client, doctor, patient("许丽华", "female", "1968-08-18", id_card=number, org=CENTRE,
                                               mrn="C-818"))
    person_id = (await person_of(client, doctor, first))["person_id"]

    async def search(q: str) -> list[dict[str, Any]]:
        response = await client.get("/api/v1/mpi/persons", params={"q": q}, headers=bearer(admin))
        assert response.status_code == 200, response.text
        return list(response.json())

    by_number = await search(number)
    assert [p["id"] for p in by_number] == [person_id] and by_number[0]["record_count"] == 2
    assert by_number[0]["name"] == "许丽华" and "*" in by_number[0]["id_number"]  # masked for the steward
    assert [p["id"] for p in await search(first)] == [person_id]
    assert [p["id"] for p in await search("C-818")] == [person_id]
    assert [p["id"] for p in await search(person_id)] == [person_id]
    assert await search("no-such-record") == []
    empty = await client.get("/api/v1/mpi/persons", params={"q": ""}, headers=bearer(admin))
    assert empty.status_code == 422
    blank = await client.get("/api/v1/mpi/persons", params={"q": "   "}, headers=bearer(admin))
    assert blank.status_code == 400 and blank.json()["code"] == "mpi_search_empty"
    assert "请输入" in blank.json()["detail"]
    audit = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "mpi_search"))).all()
    assert audit and all(number not in orjson.dumps(a.detail).decode() for a in audit)
    assert {(a.detail or {}).get("by") for a in audit} >= {"id_number", "record", "person_or_record"}


# --- link-pending: Patients written by the bulk pipeline, without the listener ------------------------


async def bulk_write(db: AsyncSession, resources: list[dict[str, Any]]) -> None:
    """What a bulk import does (prepare + COPY) in the test's transaction: no FhirContext, no listener."""
    now, cipher = utcnow(), get_field_cipher()
    prepared = prepare_batch([("test", i, orjson.dumps(r)) for i, r in enumerate(resources, 1)], now, cipher)
    assert not prepared.rejected, prepared.rejected[:3]
    raw = (await (await db.connection()).get_raw_connection()).driver_connection
    await write_batch(raw, [item for _, _, item in prepared.items], now, cipher)


def with_id(resource: dict[str, Any]) -> dict[str, Any]:
    return {**resource, "id": str(uuid.uuid4())}


async def test_link_pending_links_bulk_written_patients_and_is_idempotent(
        client: httpx.AsyncClient, db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        token_for: TokenFor) -> None:
    doctor, admin = await token_for("doctor"), await token_for("admin")
    number = id_number(date(1973, 3, 13), 313)
    records = [with_id(patient("邓建军", "male", "1973-03-13", id_card=number, org=org, mrn=f"B-{i}"))
               for i, org in enumerate((HOSPITAL, CENTRE))]
    records.append(with_id(patient("邓建軍", "male", "1973-03-13", phone="13755556666", org=CENTRE_2, mrn="B-2")))
    stranger_number = id_number(date(2004, 4, 4), 44, "female")
    records.append(with_id(patient("彭小雨", "female", "2004-04-04", id_card=stranger_number)))
    await bulk_write(db, records)
    ids = [r["id"] for r in records]
    assert (await client.get(f"/api/v1/mpi/patients/{ids[0]}", headers=bearer(doctor))).status_code == 404

    first = await link_pending(sessionmaker, chunk=2)  # two chunks: chunk boundaries change nothing
    assert first.processed == 4 and first.failed == 0 and first.chunks == 2
    persons = [(await person_of(client, doctor, i))["person_id"] for i in ids]
    assert persons[0] == persons[1] == persons[2] != persons[3]
    assert (await person_of(client, doctor, ids[1]))["method"] == "deterministic:id_card"
    # 建軍 = 建军 (traditional), same birth date and address
    assert (await person_of(client, doctor, ids[2]))["method"] == "probabilistic"
    assert first.outcomes == {"new": 2, "link:deterministic:id_card": 1, "link:probabilistic": 1}
    again = await link_pending(sessionmaker)
    assert again.processed == 0, "idempotent: nothing is pending any more"

    # a re-import that changes a Patient makes it pending again; a steward's decision then stands
    unlinked = await client.post(f"/api/v1/mpi/patients/{ids[2]}/unlink", json={"reason": "不是同一人"},
                                 headers=bearer(admin))
    assert unlinked.status_code == 200, unlinked.text
    await bulk_write(db, [{**records[2], "telecom": [{"system": "phone", "value": "13755557777"}]}])
    changed = await link_pending(sessionmaker)
    assert changed.processed == 1 and changed.outcomes == {"kept": 1}
    alone = await person_of(client, doctor, ids[2])
    assert alone["method"] == "manual" and alone["person_id"] != persons[0]
    assert (await link_pending(sessionmaker)).processed == 0
    events = (await client.get("/api/v1/mpi/events", params={"person_id": persons[3]}, headers=bearer(admin))).json()
    assert events[0]["action"] == "new_person" and events[0]["actor"] == "system:mpi-link-pending"


async def _partition(db: AsyncSession) -> tuple[set[frozenset[str]], dict[str, Any], set[tuple[str, str, float]]]:
    links = (await db.execute(text("SELECT patient_id, person_id, method, score FROM mpi_link "
                                   "WHERE status = 'active'"))).all()
    groups: dict[Any, set[str]] = defaultdict(set)
    for patient_id, person_id, *_ in links:
        groups[person_id].add(patient_id)
    reviews = (await db.execute(text("SELECT patient_id, candidate_patient_id, score FROM mpi_review "
                                     "WHERE status = 'open'"))).all()
    return ({frozenset(g) for g in groups.values()}, {r[0]: (r[2], round(r[3] or 0, 9)) for r in links},
            {(r[0], r[1], round(r[2], 9)) for r in reviews})


async def test_a_chunk_is_linked_exactly_as_the_listener_links_one_by_one(
        db: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    district = generate_district(seed=7, residents=150, duplicates_pct=30)
    orgs = {o.code: o for o in district.organizations}
    records = district.source_records + [hard_duplicate(random.Random(n), resident, n)
                                         for n, resident in enumerate(district.residents[:6])]
    resources = [registration_patient(r, orgs[r.institution_code]) for r in records]
    await bulk_write(db, resources)
    one_by_one = await link_pending(sessionmaker, together=False)
    assert one_by_one.processed == len(resources) and one_by_one.failed == 0
    expected = await _partition(db)
    for table in ("mpi_review", "mpi_link", "mpi_event", "mpi_source_record", "mpi_person"):
        await db.execute(text(f"DELETE FROM {table}"))
    await db.commit()
    together = await link_pending(sessionmaker, chunk=80)
    assert together.outcomes == one_by_one.outcomes
    assert await _partition(db) == expected
    # the comparison means something: every kind of outcome occurred
    assert {"new", "review", "link:deterministic:id_card", "link:probabilistic"} <= set(together.outcomes)


# --- a database of its own: bulk file import, the CLI, concurrent sessions ----------------------------

MPI_DATABASE = "jizuo_mpi_test"


@pytest.fixture(scope="module")
async def mpi_url(server_url: str) -> str:
    url = fresh_database(server_url, MPI_DATABASE)
    upgrade_to_head(url)
    engine = make_engine(url, pool_size=1)
    async with AsyncSession(engine) as db:
        await seed_demo_district(db, get_field_cipher(), seed=20261125, residents=40)
        await db.commit()
    await engine.dispose()
    return url


@pytest.fixture
async def mpi_sessions(mpi_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(mpi_url, pool_size=4)
    yield make_sessionmaker(engine)
    await engine.dispose()


def sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def active_persons(url: str, patient_ids: list[str]) -> dict[str, str]:
    rows = sql(url, "SELECT patient_id, person_id::text FROM mpi_link WHERE status = 'active' "
                    "AND patient_id = ANY(%s)", patient_ids)
    return dict(rows)


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "JIZUO_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, "-m", "jizuo.cli", *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


async def test_bulk_file_import_links_its_patients_and_the_cli_catches_up(mpi_url: str, tmp_path: Path) -> None:
    number = id_number(date(1962, 6, 26), 626)
    resources = [with_id(patient("蒋卫国", "male", "1962-06-26", id_card=number, org=org, mrn=f"F-{org}"))
                 for org in (HOSPITAL, CENTRE)]
    path = tmp_path / "patients.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    add_import_listener(link_after_bulk_import)  # what `jizuo` registers (jizuo/cli.py)
    try:
        report = await import_ndjson(mpi_url, path, workers=0)
    finally:
        IMPORT_LISTENERS.remove(link_after_bulk_import)
    assert report.created == 2
    persons = active_persons(mpi_url, [r["id"] for r in resources])
    assert len(persons) == 2 and len(set(persons.values())) == 1, "linked after the import, as one person"

    # without the hook (e.g. an import run by another program): `jizuo mpi link-pending` links them
    later = with_id(patient("蒋衛国", "male", "1962-06-26", id_card=number, org=CENTRE_2, mrn="F-late"))
    path.write_bytes(orjson.dumps(later) + b"\n")
    await import_ndjson(mpi_url, path, workers=0)
    assert active_persons(mpi_url, [later["id"]]) == {}
    done = cli(mpi_url, "mpi", "link-pending")
    assert done.returncode == 0, done.stderr
    assert "处理 1 条患者记录" in done.stdout and "失败 0" in done.stdout
    assert active_persons(mpi_url, [later["id"]])[later["id"]] == next(iter(persons.values()))
    again = cli(mpi_url, "mpi", "link-pending")
    assert again.returncode == 0 and "处理 0 条患者记录" in again.stdout


@pytest.mark.parametrize("with_id_card", [True, False], ids=["same-id-card", "no-id-card-same-name-birth-phone"])
async def test_two_concurrent_registrations_of_one_newcomer_make_one_person(
        mpi_url: str, mpi_sessions: async_sessionmaker[AsyncSession], with_id_card: bool) -> None:
    """Two hospitals register the same newcomer at the same moment, each in its own transaction."""
    seq = 901 if with_id_card else 903
    number = id_number(date(1999, 9, 9), seq) if with_id_card else None
    name = "卢晓东" if with_id_card else "卢晓南"
    phone = "13912340000" if with_id_card else "13912349999"

    class NoAudit:
        def record(self, *args: Any, **kwargs: Any) -> None:
            return None

    async with mpi_sessions() as first_db, mpi_sessions() as second_db:
        def context(db: AsyncSession) -> FhirContext:
            return FhirContext(db=db, access=SYSTEM_ACCESS, audit=NoAudit(), cipher=get_field_cipher(),
                               listeners=[MpiListener()])

        first, _ = await fhir_service.create(context(first_db), "Patient", patient(
            name, "male", "1999-09-09", id_card=number, phone=phone, org=HOSPITAL, mrn=f"X-{seq}"))
        second = asyncio.create_task(fhir_service.create(context(second_db), "Patient", patient(
            name, "male", "1999-09-09", id_card=number, phone=phone, org=CENTRE, mrn=f"Y-{seq}")))
        await asyncio.sleep(1.0)
        assert not second.done(), "the second registration waits for the first one's transaction"
        await first_db.commit()
        stored, _ = await asyncio.wait_for(second, 30)
        await second_db.commit()
    persons = active_persons(mpi_url, [first.id, stored.id])
    assert len(persons) == 2 and len(set(persons.values())) == 1


async def test_concurrent_http_registrations_with_one_id_card_end_as_one_person(live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as http:
        login = await http.post("/api/v1/auth/token", data={"username": "doctor", "password": "Jizuo@2026"})
        headers = bearer(login.json()["access_token"])
        numbers = [id_number(date(1944, 4, 4 + k), 440 + k) for k in range(6)]
        bodies = [patient("祁同伟", "male", f"1944-04-{4 + k:02d}", id_card=number, org=org, mrn=f"L-{k}-{org}")
                  for k, number in enumerate(numbers) for org in (HOSPITAL, CENTRE)]
        created = await asyncio.gather(*[http.post("/fhir/Patient", json=body, headers=headers) for body in bodies])
        assert all(r.status_code == 201 for r in created), [r.text for r in created if r.status_code != 201]
        ids = [r.json()["id"] for r in created]
        persons = []
        for patient_id in ids:
            response = await http.get(f"/api/v1/mpi/patients/{patient_id}", headers=headers)
            assert response.status_code == 200, response.text
            persons.append(response.json()["person_id"])
    for k in range(len(numbers)):
        assert persons[2 * k] == persons[2 * k + 1], f"pair {k} became two persons"
    assert len(set(persons)) == len(numbers)
