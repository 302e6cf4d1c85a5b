"""Bulk NDJSON/Bundle import and the async $export, against a database of their own.

Bulk import writes over its own connections and commits per batch, and export jobs run as background tasks
with their own sessions, so these tests cannot live in the rolled-back test transaction: they use a fresh
`jizuo_bulk_test` database, seeded with a small demo district for the accounts.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from jizuo.api.app import create_app
from jizuo.core.config import get_settings
from jizuo.core.db import make_engine, make_sessionmaker
from jizuo.core.security import get_field_cipher
from jizuo.fhir import service
from jizuo.fhir.access import SYSTEM_ACCESS
from jizuo.fhir.bulk import import_ndjson
from jizuo.fhir.bulk.api import build_bulk_router
from jizuo.fhir.service import FhirContext
from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.migrations import upgrade_to_head
from jizuo.platform.demo.clinical import generate_clinical_history
from jizuo.platform.demo.generator import build_structure, iter_residents
from jizuo.platform.demo.seed import seed_demo_district
from jizuo.platform.fhir_access import fhir_request
from tests.conftest import DEMO_PASSWORD, bearer, fresh_database

SEED = 20261125
pytestmark = pytest.mark.db


class NoAudit:
    def record(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
async def bulk_url(server_url: str) -> str:
    url = fresh_database(server_url, "jizuo_bulk_test")
    upgrade_to_head(url)
    engine = make_engine(url, pool_size=1)
    async with AsyncSession(engine) as db:
        await seed_demo_district(db, get_field_cipher(), seed=SEED, residents=60)
        await db.commit()
    await engine.dispose()
    return url


@pytest.fixture(scope="module")
async def bulk_engine(bulk_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(bulk_url, pool_size=4)
    yield engine
    await engine.dispose()


def sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def history(residents: int) -> list[dict[str, Any]]:
    organizations, _, practitioners, teams = build_structure(SEED)
    return list(generate_clinical_history(list(iter_residents(SEED, residents)), organizations, practitioners,
                                          SEED, teams=teams))


def write_ndjson(path: Path, resources: list[dict[str, Any]], extra: tuple[bytes, ...] = ()) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources) + b"".join(x + b"\n" for x in extra))
    return path


def with_bulk_routes(app: FastAPI) -> FastAPI:
    """Mount the bulk router ahead of /fhir/{type}/{id}, as the app must (until it does so itself)."""
    if not any(getattr(route, "path", "") == "/fhir/$export" for route in app.router.routes):
        router = build_bulk_router(fhir_request)
        before = len(app.router.routes)
        app.include_router(router)
        added = app.router.routes[before:]
        del app.router.routes[before:]
        app.router.routes[0:0] = added
    return app


@pytest.fixture
async def bulk_client(bulk_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = with_bulk_routes(create_app(get_settings(), sessionmaker=make_sessionmaker(bulk_engine)))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def login(bulk_client: httpx.AsyncClient) -> Callable[[str], Awaitable[dict[str, str]]]:
    async def headers(username: str) -> dict[str, str]:
        response = await bulk_client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        return bearer(response.json()["access_token"])

    return headers


# --- import -------------------------------------------------------------------------------------------------

async def test_ndjson_import_counts_index_rows_and_is_searchable(bulk_url: str, bulk_engine: AsyncEngine,
                                                                 tmp_path: Path) -> None:
    resources = history(3)
    report = await import_ndjson(bulk_url, write_ndjson(tmp_path / "h.ndjson", resources), workers=0, batch=50)
    assert report.rejected_count == 0
    assert report.created + report.unchanged == len(resources)
    patient = resources[0]
    assert patient["resourceType"] == "Patient"
    pid = patient["id"]
    rows = sql(bulk_url, "SELECT count(*) FROM fhir_idx_reference WHERE target_type = 'Patient' AND target_id = %s",
               pid)
    assert rows[0][0] > 0
    stored = sql(bulk_url, "SELECT resource FROM fhir_resource WHERE res_type = 'Patient' AND id = %s", pid)[0][0]
    assert stored["identifier"][0]["value"].startswith("enc:")  # 身份证 encrypted at rest, as on the REST path
    async with AsyncSession(bulk_engine) as db:
        ctx = FhirContext(db, SYSTEM_ACCESS, NoAudit(), get_field_cipher(), reveal_personal_data=True)
        own = [r for r in resources if r["resourceType"] == "Observation" and r["subject"]["reference"] ==
               f"Patient/{pid}"]
        found = await service.find(ctx, "Observation", [("subject", f"Patient/{pid}"), ("_count", "1000")])
        assert {s.id for s in found.matches} == {r["id"] for r in own}
        id_number = patient["identifier"][0]["value"]
        by_id_card = await service.find(ctx, "Patient", [("identifier", f"{ID_CARD_SYSTEM}|{id_number}")])
        assert [s.id for s in by_id_card.matches] == [pid]
        assert service.to_client(ctx, by_id_card.matches[0])["identifier"][0]["value"] == id_number


async def test_rejected_lines_are_kept_with_reasons(bulk_url: str, tmp_path: Path) -> None:
    patient = history(1)[0]
    bad_card = {**patient, "id": "bad-card", "identifier": [{"system": ID_CARD_SYSTEM, "value": "110105194912310021"}]}
    path = write_ndjson(tmp_path / "mixed.ndjson", [patient], (
        b"{not json", orjson.dumps({"resourceType": "Observation", "status": "final"}), orjson.dumps(bad_card)))
    report = await import_ndjson(bulk_url, path, workers=0)
    assert report.rejected_count == 3
    by_line = {r.line: r.reason for r in report.rejected}
    assert set(by_line) == {2, 3, 4}
    assert "JSON" in by_line[2]
    assert "Observation.code" in by_line[3]
    assert "身份证号无效" in by_line[4]
    kept = (tmp_path / "mixed.ndjson.rejected.ndjson").read_bytes().splitlines()
    assert kept == [b"{not json", orjson.dumps({"resourceType": "Observation", "status": "final"}),
                    orjson.dumps(bad_card)]
    assert (tmp_path / "mixed.ndjson.rejected.txt").read_text().splitlines()[0].startswith("2\t")


async def test_reimport_is_idempotent_and_changes_make_versions(bulk_url: str, tmp_path: Path) -> None:
    resources = [r for r in history(2) if r["resourceType"] in ("Patient", "Encounter", "Condition")]
    path = write_ndjson(tmp_path / "again.ndjson", resources)
    await import_ndjson(bulk_url, path, workers=0)
    before = sql(bulk_url, "SELECT count(*) FROM fhir_resource")[0][0]
    again = await import_ndjson(bulk_url, path, workers=0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(resources))
    assert sql(bulk_url, "SELECT count(*) FROM fhir_resource")[0][0] == before

    patient = {**resources[0], "gender": "other"}
    changed = await import_ndjson(bulk_url, write_ndjson(tmp_path / "changed.ndjson", [patient]), workers=0)
    assert changed.updated == 1
    version, gender, meta = sql(bulk_url, "SELECT version, resource->>'gender', resource->'meta' FROM fhir_resource "
                                          "WHERE res_type = 'Patient' AND id = %s", patient["id"])[0]
    assert (version, gender, meta["versionId"]) == (2, "other", "2")
    old = sql(bulk_url, "SELECT h.version, h.resource->>'gender' FROM fhir_history h JOIN fhir_resource f "
                        "USING (rid) WHERE f.id = %s", patient["id"])
    assert old == [(1, resources[0]["gender"])]
    tokens = sql(bulk_url, "SELECT t.code FROM fhir_idx_token t JOIN fhir_resource f USING (rid) "
                           "WHERE f.id = %s AND t.param = 'gender'", patient["id"])
    assert tokens == [("other",)]


async def test_resources_without_id_get_content_ids_so_reimport_does_not_duplicate(bulk_url: str,
                                                                                   tmp_path: Path) -> None:
    first_observation = next(r for r in history(3) if r["resourceType"] == "Observation")
    observation = {k: v for k, v in first_observation.items() if k != "id"}
    path = write_ndjson(tmp_path / "noid.ndjson", [observation])
    first = await import_ndjson(bulk_url, path, workers=0)
    second = await import_ndjson(bulk_url, path, workers=0)
    assert (first.created, second.created, second.unchanged) == (1, 0, 1)


async def test_transaction_bundle_file_with_urn_uuid_references(bulk_url: str, tmp_path: Path) -> None:
    patient_urn, encounter_urn = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient_urn, "resource": {"resourceType": "Patient", "gender": "female"},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": encounter_urn, "resource": {"resourceType": "Encounter", "status": "finished",
                                                "class": {"code": "AMB"}, "subject": {"reference": patient_urn}},
         "request": {"method": "POST", "url": "Encounter"}},
        {"request": {"method": "DELETE", "url": "Patient/x"}},
    ]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    report = await import_ndjson(bulk_url, tmp_path, workers=0)
    assert report.created == 2 and report.rejected_count == 1
    patient_id = patient_urn.removeprefix("urn:uuid:")
    subject = sql(bulk_url, "SELECT resource->'subject'->>'reference' FROM fhir_resource WHERE id = %s",
                  encounter_urn.removeprefix("urn:uuid:"))
    assert subject == [(f"Patient/{patient_id}",)]
    referring = sql(bulk_url, "SELECT count(DISTINCT rid) FROM fhir_idx_reference WHERE target_id = %s", patient_id)
    assert referring == [(1,)]


async def test_worker_processes_are_spawn_safe(bulk_url: str, tmp_path: Path) -> None:
    resources = history(4)[-40:]
    report = await import_ndjson(bulk_url, write_ndjson(tmp_path / "w.ndjson", resources), workers=2, batch=10)
    assert report.rejected_count == 0 and report.accepted == len(resources)


# --- HTTP ---------------------------------------------------------------------------------------------------

async def test_http_import_reports_counts_and_is_audited(bulk_client: httpx.AsyncClient, login: Any,
                                                         bulk_url: str) -> None:
    resources = history(5)[-30:]
    body = b"\n".join(orjson.dumps(r) for r in resources) + b"\n{oops\n"
    headers = {**await login("admin"), "Content-Type": "application/fhir+ndjson"}
    response = await bulk_client.post("/fhir/$import", content=body, headers=headers)
    assert response.status_code == 200, response.text
    issues = response.json()["issue"]
    assert issues[0]["severity"] == "information" and "拒绝 1" in issues[0]["diagnostics"]
    assert issues[1]["diagnostics"].startswith(f"第 {len(resources) + 1} 行")
    audited = sql(bulk_url, "SELECT detail FROM audit_event WHERE action = 'import' ORDER BY at DESC LIMIT 1")
    assert audited[0][0]["rejected"] == 1


async def test_http_import_refusals(bulk_client: httpx.AsyncClient, login: Any) -> None:
    ndjson = {"Content-Type": "application/fhir+ndjson"}
    restricted = await bulk_client.post("/fhir/$import", content=b"{}", headers={**await login("family_doctor"),
                                                                                 **ndjson})
    assert restricted.status_code == 403
    wrong_type = await bulk_client.post("/fhir/$import", content=b"{}", headers=await login("admin"))
    assert wrong_type.status_code == 415
    anonymous = await bulk_client.post("/fhir/$import", content=b"{}", headers=ndjson)
    assert anonymous.status_code == 401


# --- export -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def exported(bulk_url: str, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    resources = history(6)
    patient_id = resources[0]["id"]
    group = {"resourceType": "Group", "id": "bulk-group", "type": "person", "actual": True,
             "member": [{"entity": {"reference": f"Patient/{patient_id}"}}]}
    path = write_ndjson(tmp_path_factory.mktemp("export") / "data.ndjson", [*resources, group])
    await import_ndjson(bulk_url, path, workers=0)
    return resources


async def kick_off(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> str:
    response = await client.get(url, headers={**headers, "Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    return response.headers["Content-Location"]


async def finished(client: httpx.AsyncClient, headers: dict[str, str], status_url: str) -> httpx.Response:
    for _ in range(200):
        response = await client.get(status_url, headers=headers)
        if response.status_code != 202:
            return response
        assert response.headers["X-Progress"]
        await asyncio.sleep(0.05)
    raise AssertionError("export did not finish")


async def download(client: httpx.AsyncClient, headers: dict[str, str], manifest: dict[str, Any], res_type: str
                   ) -> list[dict[str, Any]]:
    url = next(o["url"] for o in manifest["output"] if o["type"] == res_type)
    response = await client.get(url, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+ndjson")
    return [orjson.loads(line) for line in response.content.splitlines()]


def id_card(patient: dict[str, Any]) -> str:
    return str(next(i["value"] for i in patient["identifier"] if i["system"] == ID_CARD_SYSTEM))


async def test_export_manifest_files_masking_and_owner_only(bulk_client: httpx.AsyncClient, login: Any,
                                                            bulk_url: str, exported: list[dict[str, Any]]) -> None:
    admin = await login("admin")
    status_url = await kick_off(bulk_client, admin, "/fhir/$export?_type=Patient,Observation")
    assert status_url.startswith("http://testserver/fhir/$export-status/")
    response = await finished(bulk_client, admin, status_url)
    assert response.status_code == 200, response.text
    manifest = response.json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == [] and manifest["transactionTime"]
    assert manifest["request"].endswith("/fhir/$export?_type=Patient,Observation")
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Observation"}
    patients = await download(bulk_client, admin, manifest, "Patient")
    stored = sql(bulk_url, "SELECT count(*) FROM fhir_resource WHERE res_type = 'Patient' AND NOT deleted")[0][0]
    assert len(patients) == stored == next(o["count"] for o in manifest["output"] if o["type"] == "Patient")
    mine = next(p for p in patients if p["id"] == exported[0]["id"])
    assert id_card(mine) != id_card(exported[0]) and "*" in id_card(mine)  # district admin: masked
    doctor = await login("doctor")
    file_url = manifest["output"][0]["url"]
    assert (await bulk_client.get(file_url, headers=doctor)).status_code == 404
    assert (await bulk_client.get(status_url, headers=doctor)).status_code == 404
    assert (await bulk_client.get(file_url)).status_code == 401


async def test_group_export_holds_members_and_their_records_unmasked_for_a_doctor(
        bulk_client: httpx.AsyncClient, login: Any, exported: list[dict[str, Any]]) -> None:
    doctor = await login("doctor")
    manifest = (await finished(bulk_client, doctor, await kick_off(bulk_client, doctor,
                                                                   "/fhir/Group/bulk-group/$export"))).json()
    patient = exported[0]
    patients = await download(bulk_client, doctor, manifest, "Patient")
    assert [p["id"] for p in patients] == [patient["id"]]
    assert id_card(patients[0]) == id_card(patient)  # a doctor sees 身份证 in full, as on a read
    encounters = await download(bulk_client, doctor, manifest, "Encounter")
    expected = {r["id"] for r in exported if r["resourceType"] == "Encounter"
                and r["subject"]["reference"] == f"Patient/{patient['id']}"}
    assert {e["id"] for e in encounters} == expected


async def test_export_refusals_cancel_and_interrupted_jobs(bulk_client: httpx.AsyncClient, login: Any,
                                                           bulk_url: str, exported: list[dict[str, Any]]) -> None:
    admin = await login("admin")
    assert (await bulk_client.get("/fhir/$export", headers=admin)).status_code == 400  # no Prefer: respond-async
    missing = await bulk_client.get("/fhir/Group/nope/$export", headers={**admin, "Prefer": "respond-async"})
    assert missing.status_code == 404
    restricted = await bulk_client.get("/fhir/$export", headers={**await login("family_doctor"),
                                                                 "Prefer": "respond-async"})
    assert restricted.status_code == 403
    status_url = await kick_off(bulk_client, admin, "/fhir/Patient/$export")
    assert (await bulk_client.delete(status_url, headers=admin)).status_code == 202
    assert (await bulk_client.get(status_url, headers=admin)).status_code == 404

    job = uuid.uuid4()
    sql(bulk_url, "INSERT INTO fhir_export_job (id, owner, request_url, level, reveal, status, progress, "
                  "transaction_time, output, error, heartbeat_at) VALUES (%s, 'admin', 'x', 'system', false, "
                  "'running', 'exporting', now(), '[]', '[]', now() - interval '1 hour') RETURNING id", job)
    response = await bulk_client.get(f"/fhir/$export-status/{job}", headers=admin)
    assert response.status_code == 500 and "中断" in response.json()["issue"][0]["diagnostics"]
