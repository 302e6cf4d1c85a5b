"""前置库 pulls from a second PostgreSQL database playing an institution's front-end database, and uploads to a
third playing the city platform: incremental, never splitting equal watermarks, idempotent on resend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import SHANGHAI
from jizuo.platform.city_upload import service as city
from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
from jizuo.platform.ingest.frontdb import fetch_page
from jizuo.platform.standards.spec import load_catalogue
from tests.conftest import TokenFor, bearer, fresh_database
from tests.platform.ingest.test_tabular import as_csv

pytestmark = pytest.mark.db
CATALOGUE = load_catalogue()
LAB = CATALOGUE.data_sets["EMR-LAB"]
NAMES = [f.name for f in LAB.fields]


@pytest.fixture(scope="module")
def frontdb(server_url: str) -> Iterator[str]:
    url = fresh_database(server_url, "jizuo_test_frontdb")
    columns = ", ".join(f'"{n}" text' for n in NAMES)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE lis_result (id serial, updated_at timestamptz NOT NULL, {columns})")
    yield url


@pytest.fixture(scope="module")
def city_url(server_url: str) -> str:
    return fresh_database(server_url, "jizuo_test_city")


def insert_rows(url: str, n: int, seed: int, at: datetime) -> list[dict[str, str]]:
    generator = RowGenerator(LAB, CATALOGUE, RowContext(["JC-H001"], [], datetime.now(SHANGHAI)), seed=seed)
    records = [generator.row() for _ in range(n)]
    placeholders = ", ".join(["%s"] * (len(NAMES) + 1))
    quoted = ", ".join(f'"{n}"' for n in NAMES)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.cursor().executemany(f"INSERT INTO lis_result (updated_at, {quoted}) VALUES ({placeholders})",
                                  [[at, *(r.get(n) for n in NAMES)] for r in records])
    return records


async def test_pages_never_split_a_run_of_equal_watermarks(frontdb: str) -> None:
    with psycopg.connect(frontdb, autocommit=True) as conn:
        conn.execute("CREATE TABLE wm (id int, at int)")
        conn.execute("INSERT INTO wm VALUES (1, 1), (2, 2), (3, 2), (4, 2), (5, 3)")
    names, first = await fetch_page(frontdb, "wm", "at", None, 3)
    assert [r[0] for r in first] == [1]               # cut before the run of "2"s that the page would split
    _, second = await fetch_page(frontdb, "wm", "at", "1", 2)
    assert [r[0] for r in second] == [2, 3, 4]        # a run that fills the page is taken whole
    _, rest = await fetch_page(frontdb, "wm", "at", "2", 10)
    assert [r[0] for r in rest] == [5] and names == ["id", "at"]


async def test_pull_is_incremental_and_bad_rows_are_held(client: httpx.AsyncClient, token_for: TokenFor,
                                                         frontdb: str) -> None:
    token = await token_for("hosp_admin")
    start = datetime(2026, 11, 24, 8, tzinfo=SHANGHAI)
    insert_rows(frontdb, 3, seed=21, at=start)
    created = await client.post("/api/v1/ingest/frontdb-sources", headers=bearer(token), json={
        "dataset_code": "EMR-LAB", "dsn": frontdb, "table_name": "lis_result", "watermark_column": "updated_at",
        "interval_seconds": 300, "batch_size": 100})
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["dsn_masked"] and source["table_name"] == "lis_result"
    first = (await client.post(f"/api/v1/ingest/frontdb-sources/{source['id']}/pull", headers=bearer(token))).json()
    assert first["source"] == "frontdb" and first["received"] == 3

    nothing = await client.post(f"/api/v1/ingest/frontdb-sources/{source['id']}/pull", headers=bearer(token))
    assert nothing.status_code == 200 and nothing.json() is None

    later = insert_rows(frontdb, 2, seed=22, at=start + timedelta(hours=1))
    with psycopg.connect(frontdb, autocommit=True) as conn:
        conn.execute("UPDATE lis_result SET patient_name = '' WHERE report_no = %s", [later[0]["report_no"]])
    second = (await client.post(f"/api/v1/ingest/frontdb-sources/{source['id']}/pull", headers=bearer(token))).json()
    assert (second["received"], second["quarantined"]) == (2, 1)
    listed = (await client.get("/api/v1/ingest/frontdb-sources", headers=bearer(token))).json()
    assert datetime.fromisoformat(listed[0]["watermark"]) == start + timedelta(hours=1)
    assert listed[0]["institution_code"] == "JC-H001"
    paused = await client.patch(f"/api/v1/ingest/frontdb-sources/{source['id']}", headers=bearer(token),
                                json={"enabled": False, "interval_seconds": 5})
    assert paused.status_code == 422  # at least 30 s between pulls
    paused = await client.patch(f"/api/v1/ingest/frontdb-sources/{source['id']}", headers=bearer(token),
                                json={"enabled": False})
    assert paused.json()["enabled"] is False
    gone = await client.delete(f"/api/v1/ingest/frontdb-sources/{source['id']}", headers=bearer(token))
    assert gone.status_code == 204
    assert (await client.get("/api/v1/ingest/frontdb-sources", headers=bearer(token))).json() == []


async def test_bad_source_configuration_is_refused(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    bad_table = await client.post("/api/v1/ingest/frontdb-sources", headers=bearer(token), json={
        "dataset_code": "EMR-LAB", "dsn": "postgresql://x@localhost/none", "table_name": "t; DROP TABLE x",
        "watermark_column": "id"})
    assert bad_table.status_code == 422 and "表名" in bad_table.json()["detail"]
    unknown_set = await client.post("/api/v1/ingest/frontdb-sources", headers=bearer(token), json={
        "dataset_code": "NOPE", "dsn": "postgresql://x@localhost/none", "table_name": "t",
        "watermark_column": "id"})
    assert unknown_set.status_code == 404
    unreachable = await client.post("/api/v1/ingest/frontdb-sources", headers=bearer(token), json={
        "dataset_code": "EMR-LAB", "dsn": "postgresql://x@127.0.0.1:1/none", "table_name": "t",
        "watermark_column": "id"})
    pulled = await client.post(f"/api/v1/ingest/frontdb-sources/{unreachable.json()['id']}/pull",
                               headers=bearer(token))
    assert pulled.status_code == 400 and "前置库采集失败" in pulled.json()["detail"]
    doctor = await client.get("/api/v1/ingest/frontdb-sources", headers=bearer(await token_for("doctor")))
    assert doctor.status_code == 403


async def test_city_upload_is_incremental_and_resend_is_idempotent(
        client: httpx.AsyncClient, token_for: TokenFor, sessionmaker: async_sessionmaker[AsyncSession],
        city_url: str) -> None:
    token = await token_for("hosp_admin")
    generator = RowGenerator(LAB, CATALOGUE, RowContext(["JC-H001"], [], datetime.now(SHANGHAI)), seed=31)
    body = as_csv([generator.row() for _ in range(3)])
    receipt = (await client.post("/api/v1/ingest/datasets/EMR-LAB", headers=bearer(token),
                                 files={"file": ("lab.csv", body, "text/csv")})).json()
    assert receipt["accepted"] == 3
    sent = await city.upload_pending(sessionmaker, ["EMR-LAB"], city_url, "admin", limit=2)
    assert [b.state for b in sent] and all(b.state == "sent" for b in sent)
    table = city.table_name("EMR-LAB")
    with psycopg.connect(city_url) as conn:
        count = conn.execute(f"SELECT count(*), count(DISTINCT jz_record_key) FROM {table}").fetchone()
        conn.execute(f"UPDATE {table} SET jz_upload_state = 'read'")
        conn.commit()
    assert count is not None and count[0] == count[1] >= 3
    assert await city.upload_pending(sessionmaker, ["EMR-LAB"], city_url, "admin") == []   # nothing new
    again = await city.send_batch(sessionmaker, sent[0].id, city_url)
    assert again.state == "sent" and again.attempts == 2
    with psycopg.connect(city_url) as conn:
        after = conn.execute(f"SELECT count(*), count(*) FILTER (WHERE jz_upload_state = 'new') FROM {table}"
                             ).fetchone()
    assert after is not None and after[0] == count[0] and after[1] == sent[0].rows


async def test_a_city_outage_keeps_the_batch_for_a_resend(sessionmaker: async_sessionmaker[AsyncSession],
                                                          client: httpx.AsyncClient, token_for: TokenFor) -> None:
    token = await token_for("hosp_admin")
    generator = RowGenerator(LAB, CATALOGUE, RowContext(["JC-H001"], [], datetime.now(SHANGHAI)), seed=32)
    sent = await client.post("/api/v1/ingest/datasets/EMR-LAB", headers=bearer(token),
                             files={"file": ("lab.csv", as_csv([generator.row()]), "text/csv")})
    assert sent.json()["accepted"] == 1, sent.json()
    down = await city.upload_pending(sessionmaker, ["EMR-LAB"], "postgresql://x@127.0.0.1:1/none", "admin")
    assert down and down[-1].state == "failed" and down[-1].error
    doctor = await client.post("/api/v1/city-upload/run", headers=bearer(await token_for("doctor")))
    assert doctor.status_code == 403


async def test_the_district_admin_runs_the_upload_over_http(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin = await token_for("admin")
    generator = RowGenerator(LAB, CATALOGUE, RowContext(["JC-H001"], [], datetime.now(SHANGHAI)), seed=33)
    await client.post("/api/v1/ingest/datasets/EMR-LAB", headers=bearer(admin), params={"institution": "JC-H001"},
                      files={"file": ("lab.csv", as_csv([generator.row()]), "text/csv")})
    run = await client.post("/api/v1/city-upload/run", headers=bearer(admin))
    assert run.status_code == 200, run.text
    assert any(b["dataset_code"] == "EMR-LAB" and b["state"] == "sent" for b in run.json())
    listed = (await client.get("/api/v1/city-upload/batches", headers=bearer(admin))).json()
    assert listed["total"] >= 1
    resent = await client.post(f"/api/v1/city-upload/batches/{listed['items'][0]['id']}/resend",
                               headers=bearer(admin))
    assert resent.status_code == 200 and resent.json()["attempts"] >= 2
