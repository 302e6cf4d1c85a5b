"""Tabular ingest over HTTP: CSV (UTF-8, GB18030) and XLSX uploads of the lab data set, receipts, duplicates,
the quarantine (fix → release, discard), restart in the middle of a batch, scorecards, and who may do what."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import SHANGHAI
from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.models import IngestRecord
from jizuo.platform.ingest.pipeline import process_batch, resume_pending
from jizuo.platform.standards.spec import load_catalogue
from tests.conftest import TokenFor, bearer

pytestmark = pytest.mark.db
LAB = "EMR-LAB"
CATALOGUE = load_catalogue()
DATA_SET = CATALOGUE.data_sets[LAB]
NAMES = [f.name for f in DATA_SET.fields]


def generator(seed: int) -> RowGenerator:
    return RowGenerator(DATA_SET, CATALOGUE, RowContext(["JC-H001"], [], datetime.now(SHANGHAI)), seed=seed)


def rows(n: int, seed: int) -> list[dict[str, str]]:
    g = generator(seed)
    return [g.row() for _ in range(n)]


def as_csv(records: list[dict[str, str]], encoding: str = "utf-8", headers: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers or NAMES)
    writer.writerows([r.get(n, "") for n in NAMES] for r in records)
    return out.getvalue().encode(encoding)


async def upload(client: httpx.AsyncClient, token: str, body: bytes, name: str = "lab.csv",
                 params: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(f"/api/v1/ingest/datasets/{LAB}", headers=bearer(token), params=params or {},
                             files={"file": (name, body, "text/csv")})


async def test_good_rows_are_accepted_into_fhir_and_a_bad_row_is_held_with_its_reason(
        client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    good = rows(3, seed=1)
    bad = dict(rows(1, seed=2)[0], birth_date="19601301")
    response = await upload(client, token, as_csv([*good, bad]))
    assert response.status_code == 200, response.text
    receipt = response.json()
    counts = (receipt["received"], receipt["accepted"], receipt["quarantined"], receipt["duplicates"])
    assert counts == (4, 3, 1, 0), [e["message"] for e in receipt["errors"]]
    assert receipt["status"] == "done" and receipt["notes"]["encoding"] == "utf-8"
    assert receipt["notes"]["rules"] >= 20
    errors = [e for e in receipt["errors"] if e["severity"] == "error"]
    assert {(e["row"], e["field"], e["rule"]) for e in errors} >= {(4, "birth_date", "birth_date.format")}
    assert "出生日期" in errors[0]["message"]
    later = (await client.get(f"/api/v1/ingest/batches/{receipt['batch_id']}", headers=bearer(token))).json()
    assert later["accepted"] == 3 and later["errors"] == receipt["errors"]

    held = (await client.get("/api/v1/quality/quarantine", headers=bearer(token),
                             params={"batch_id": receipt["batch_id"]})).json()
    assert held["total"] == 1 and held["items"][0]["row"] == 4
    assert held["items"][0]["institution_name"] == receipt["institution_name"] == "江川区中心医院"
    batches = (await client.get("/api/v1/ingest/batches", headers=bearer(token))).json()
    assert any(b["batch_id"] == receipt["batch_id"] and b["institution_code"] == "JC-H001" for b in batches["items"])


async def test_accepted_records_are_readable_as_fhir_and_linked_in_the_mpi(
        client: httpx.AsyncClient, token_for: TokenFor, db: AsyncSession) -> None:
    token = await token_for("hosp_admin")
    receipt = (await upload(client, token, as_csv(rows(2, seed=3)))).json()
    assert receipt["accepted"] == 2
    refs = (await db.scalars(select(IngestRecord.resources).where(
        IngestRecord.batch_id == uuid.UUID(receipt["batch_id"])))).all()
    observation = next(r for refs_ in refs for r in refs_ if r.startswith("Observation/"))
    patient = next(r for refs_ in refs for r in refs_ if r.startswith("Patient/"))
    doctor = await token_for("doctor")
    found = (await client.get(f"/fhir/{observation}", headers=bearer(doctor))).json()
    assert found["status"] == "final" and found["subject"]["reference"] == patient
    assert found["performer"][0]["reference"].startswith("Organization/")
    assert found["category"][0]["coding"][0]["code"] == "laboratory"
    linked = await client.get(f"/api/v1/mpi/patients/{patient.removeprefix('Patient/')}",
                              headers=bearer(await token_for("admin")))
    assert linked.status_code == 200 and linked.json()["person_id"]


async def test_gb18030_csv_with_chinese_element_names_as_headers(client: httpx.AsyncClient,
                                                                 token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    headers = [f.label or CATALOGUE.elements[f.element].name for f in DATA_SET.fields]
    body = as_csv(rows(2, seed=4), "gb18030", headers=headers)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    receipt = (await upload(client, token, body)).json()
    assert receipt["notes"]["encoding"] == "gb18030" and receipt["notes"]["ignored_columns"] == []
    assert receipt["accepted"] == 2, receipt["errors"]


async def test_xlsx_upload(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(NAMES)
    for record in rows(2, seed=5):
        sheet.append([record.get(n, "") for n in NAMES])
    out = io.BytesIO()
    book.save(out)
    response = await client.post(f"/api/v1/ingest/datasets/{LAB}", headers=bearer(await token_for("hosp_admin")),
                                 files={"file": ("lab.xlsx", out.getvalue(),
                                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    receipt = response.json()
    assert receipt["source"] == "xlsx" and receipt["accepted"] == 2, receipt


async def test_resending_the_same_file_counts_duplicates_and_writes_nothing_new(
        client: httpx.AsyncClient, token_for: TokenFor, db: AsyncSession) -> None:
    token = await token_for("hosp_admin")
    body = as_csv(rows(3, seed=6))
    first = (await upload(client, token, body)).json()
    versions_before = await db.scalar(select(func.count()).select_from(IngestRecord))
    second = (await upload(client, token, body)).json()
    assert (second["accepted"], second["duplicates"]) == (0, 3)
    assert first["batch_id"] != second["batch_id"]
    assert await db.scalar(select(func.count()).select_from(IngestRecord)) == (versions_before or 0) + 3


async def test_missing_required_column_is_reported_and_every_row_held(client: httpx.AsyncClient,
                                                                      token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    without = [n for n in NAMES if n != "report_time"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*without, "备注"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows(2, seed=7))
    receipt = (await upload(client, token, out.getvalue().encode())).json()
    assert receipt["notes"]["missing_required"] == ["report_time"] and receipt["notes"]["ignored_columns"] == ["备注"]
    assert receipt["quarantined"] == 2


async def test_fix_in_quarantine_releases_the_record_into_fhir(client: httpx.AsyncClient,
                                                               token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    good = rows(1, seed=8)[0]
    receipt = (await upload(client, token, as_csv([dict(good, patient_name="")]))).json()
    held = (await client.get("/api/v1/quality/quarantine", headers=bearer(token),
                             params={"batch_id": receipt["batch_id"]})).json()["items"][0]
    assert held["fields"]["id_number"] == good["id_number"]
    assert [f["rule"] for f in held["failures"]] == ["patient_name.required"]

    still_bad = await client.patch(f"/api/v1/quality/quarantine/{held['id']}", headers=bearer(token),
                                   json={"fields": {"patient_name": "", "sex_code": "7"}})
    assert still_bad.status_code == 200 and still_bad.json()["status"] == "quarantined"
    assert {f["rule"] for f in still_bad.json()["failures"]} >= {"patient_name.required", "sex_code.domain"}

    fixed = await client.patch(f"/api/v1/quality/quarantine/{held['id']}", headers=bearer(token),
                               json={"fields": {"patient_name": "张三", "sex_code": good["sex_code"]}})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "released" and any(r.startswith("Observation/") for r in fixed.json()["resources"])
    again = await client.patch(f"/api/v1/quality/quarantine/{held['id']}", headers=bearer(token),
                               json={"fields": {"patient_name": "李四"}})
    assert again.status_code == 409 and again.json()["detail"]


async def test_unknown_field_in_a_fix_is_refused_and_discard_keeps_the_record(client: httpx.AsyncClient,
                                                                              token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    receipt = (await upload(client, token, as_csv([dict(rows(1, seed=9)[0], sex_code="")]))).json()
    held = (await client.get("/api/v1/quality/quarantine", headers=bearer(token),
                             params={"batch_id": receipt["batch_id"]})).json()["items"][0]
    unknown = await client.patch(f"/api/v1/quality/quarantine/{held['id']}", headers=bearer(token),
                                 json={"fields": {"no_such_field": "x"}})
    assert unknown.status_code == 422 and "no_such_field" in unknown.json()["detail"]
    short = await client.post(f"/api/v1/quality/quarantine/{held['id']}/discard", headers=bearer(token),
                              json={"reason": ""})
    assert short.status_code == 422
    discarded = await client.post(f"/api/v1/quality/quarantine/{held['id']}/discard", headers=bearer(token),
                                  json={"reason": "重复的测试数据"})
    assert discarded.json()["status"] == "discarded" and discarded.json()["resolution_note"] == "重复的测试数据"


async def test_a_corrected_resend_supersedes_the_held_record(client: httpx.AsyncClient, token_for: TokenFor,
                                                             db: AsyncSession) -> None:
    token = await token_for("hosp_admin")
    good = rows(1, seed=10)[0]
    first = (await upload(client, token, as_csv([dict(good, specimen_type="")]))).json()
    assert first["quarantined"] == 1
    second = (await upload(client, token, as_csv([good]))).json()
    assert second["accepted"] == 1
    statuses = (await db.scalars(select(IngestRecord.status).where(
        IngestRecord.batch_id == uuid.UUID(first["batch_id"])))).all()
    assert statuses == ["superseded"]


async def test_a_stop_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
        client: httpx.AsyncClient, token_for: TokenFor, sessionmaker: async_sessionmaker[AsyncSession],
        db: AsyncSession) -> None:
    records = rows(7, seed=11)
    records[4] = dict(records[4], item_name="")
    async with sessionmaker() as session:
        organization = await repo.organization_by_code(session, "JC-H001")
        assert organization is not None
        batch = await repo.create_batch(session, source="csv", dataset_code=LAB, institution_id=organization.id,
                                        filename="lab.csv", submitted_by="hosp_admin", status="received",
                                        payload=as_csv(records), notes={})
        batch_id = batch.id
        await session.commit()
    await process_batch(sessionmaker, batch_id, max_chunks=2, chunk_size=2)   # the "crash" after 4 rows
    async with sessionmaker() as session:
        half = await repo.get_batch(session, batch_id)
        assert half is not None and (half.status, half.cursor, half.received) == ("processing", 4, 4)
    assert await resume_pending(sessionmaker) >= 1                            # the restart
    await process_batch(sessionmaker, batch_id)                               # a second resume does nothing
    receipt = (await client.get(f"/api/v1/ingest/batches/{batch_id}",
                                headers=bearer(await token_for("hosp_admin")))).json()
    assert (receipt["status"], receipt["received"], receipt["accepted"], receipt["quarantined"]) == ("done", 7, 6, 1)
    seqs = (await db.scalars(select(IngestRecord.seq).where(IngestRecord.batch_id == batch_id)
                             .order_by(IngestRecord.seq))).all()
    assert seqs == [1, 2, 3, 4, 5, 6, 7]


async def test_who_may_upload_and_read(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    body = as_csv(rows(1, seed=12))
    doctor = await upload(client, await token_for("doctor"), body)
    assert doctor.status_code == 403 and doctor.json()["detail"]
    other = await upload(client, await token_for("hosp_admin"), body, params={"institution": "JC-H002"})
    assert other.status_code == 403 and other.json()["code"] == "other_institution"
    admin = await token_for("admin")
    no_institution = await upload(client, admin, body)
    assert no_institution.status_code in (200, 422)
    for_h002 = await upload(client, admin, body, params={"institution": "JC-H002"})
    assert for_h002.status_code == 200 and for_h002.json()["accepted"] == 1
    unknown = await client.post("/api/v1/ingest/datasets/NO-SUCH", headers=bearer(admin),
                                params={"institution": "JC-H001"}, files={"file": ("x.csv", body, "text/csv")})
    assert unknown.status_code == 404 and unknown.json()["detail"]
    empty = await upload(client, await token_for("hosp_admin"), b"")
    assert empty.status_code == 400 and "空" in empty.json()["detail"]
    regulator = await token_for("weijianwei")
    held = await client.get("/api/v1/quality/quarantine", headers=bearer(regulator))
    assert held.status_code == 403
    receipt = await client.get(f"/api/v1/ingest/batches/{for_h002.json()['batch_id']}",
                               headers=bearer(await token_for("hosp_admin")))
    assert receipt.status_code == 404  # another institution's batch


async def test_scorecards_and_the_monthly_report(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    records = rows(4, seed=13)
    await upload(client, token, as_csv([*records[:3], dict(records[3], patient_name="")]))
    regulator = await token_for("weijianwei")
    cards = (await client.get("/api/v1/quality/scorecards", headers=bearer(regulator),
                              params={"group_by": "institution_dataset"})).json()
    row = next(i for i in cards["items"] if i["code"] == "JC-H001" and i["dataset_code"] == LAB)
    assert row["records"] >= 4 and 0 < row["completeness"] < 1 and row["error_rate"] > 0
    assert 0 <= row["score"] <= 100
    by_day = (await client.get("/api/v1/quality/scorecards", headers=bearer(regulator),
                               params={"group_by": "day"})).json()
    assert by_day["items"] and "day" in by_day["items"][-1]
    bad_period = await client.get("/api/v1/quality/scorecards", headers=bearer(regulator),
                                  params={"from": "2026-02-01", "to": "2026-01-01"})
    assert bad_period.status_code == 422
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    report = await client.get("/api/v1/quality/report.xlsx", headers=bearer(regulator), params={"month": month})
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(report.content))
    assert book.sheetnames == ["机构汇总", "机构×数据集", "每日趋势"]
    assert any(r[0] == "JC-H001" for r in book["机构汇总"].iter_rows(min_row=3, values_only=True))
    resident = await client.get("/api/v1/quality/scorecards", headers=bearer(await token_for("resident")))
    assert resident.status_code == 403
