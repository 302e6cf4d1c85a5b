"""Result mutual recognition: check-API latency for a 5-item order with 10 million stored results.

    .venv/bin/python bench/recognition.py [--results 10000000] [--persons 1000000] [--checks 2000] [--seconds 20]

Uses its own database `jizuo_bench_recognition` on the bench server (.jizuo-bench; the FHIR bench database
`jizuo_bench` is not touched): migrated, a small demo district (registry, users), the shipped catalogue, then
persons and projection rows generated inside PostgreSQL (INSERT … SELECT generate_series — the fastest bulk
path, no client round trip). Every person has a record at 江川区中心医院 (the benchmark doctor's hospital) and
one in three a second record at a community centre; results are spread over both records, 14 items, 90 days
and all institutions. The projection rows have no FHIR resources behind them, so a match shows its value from
the projection only (reports' analyte lists are one primary-key read more per matched report in production).

Measured through the real app in-process (httpx ASGITransport: routing, auth, MPI lookup, projection query,
prompt rows written and committed, audit row), one client: p50/p99; then sustained checks/s with 8 concurrent
clients in one process. `--drop` drops the database at the end (about 2.5 GB at 10 M rows).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, percentile, print_table, start_bench_postgres  # noqa: E402

DB = "jizuo_bench_recognition"
ITEMS = ["CBC", "LFT", "RFT", "CHEM", "ALT", "AST", "CREA", "GLU", "HBA1C", "HGB", "WBC", "PLT", "CT_CHEST",
         "US_ABD"]


def database_url(server: str) -> str:
    return server.replace("/jizuo_bench?", f"/{DB}?") if "?" in server else server.rsplit("/", 1)[0] + "/" + DB


async def prepare(url: str, results: int, persons: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from jizuo.apps.recognition.tasks import seed_catalogue
    from jizuo.core.db import make_engine
    from jizuo.core.security import get_field_cipher
    from jizuo.platform.demo.seed import is_seeded, seed_demo_district

    engine = make_engine(url, pool_size=2)
    async with AsyncSession(engine) as db:
        if not await is_seeded(db):
            await seed_demo_district(db, get_field_cipher(), seed=20260101, residents=200)
        await seed_catalogue(db)
        await db.commit()
        have = await db.scalar(text("SELECT count(*) FROM mpi_source_record WHERE patient_id LIKE 'bp%'"))
        if have < persons:
            started = time.perf_counter()
            await db.execute(text("DELETE FROM mpi_source_record WHERE patient_id LIKE 'b%'"))
            await db.execute(text("DELETE FROM mpi_person WHERE golden ? 'bench'"))
            await db.execute(text(
                "INSERT INTO mpi_person (id, status, golden, version, created_at, updated_at) "
                "SELECT uuid_in(md5('p' || g)::cstring), 'active', '{\"bench\": true}', 1, now(), now() "
                "FROM generate_series(1, :n) g"), {"n": persons})
            orgs = (await db.execute(text("SELECT id::text, code FROM organization WHERE code IN ('JC-H001', "
                                          "'JC-C001') ORDER BY code DESC"))).all()
            hospital, centre = orgs[0], orgs[1]
            await db.execute(text(
                "INSERT INTO mpi_source_record (patient_id, person_id, institution_id, institution_code, "
                "institution_rank, mrn, deleted, record_updated_at, snapshot, id_valid) "
                "SELECT 'bp' || g, uuid_in(md5('p' || g)::cstring), :hid, :hcode, 6, 'M' || g, false, now(), '{}', "
                "false FROM generate_series(1, :n) g"), {"n": persons, "hid": hospital[0], "hcode": hospital[1]})
            await db.execute(text(
                "INSERT INTO mpi_source_record (patient_id, person_id, institution_id, institution_code, "
                "institution_rank, deleted, record_updated_at, snapshot, id_valid) "
                "SELECT 'bc' || g, uuid_in(md5('p' || g)::cstring), :cid, :ccode, 2, false, now(), '{}', false "
                "FROM generate_series(3, :n, 3) g"), {"n": persons, "cid": centre[0], "ccode": centre[1]})
            await db.commit()
            print(f"persons: {persons:,} ({time.perf_counter() - started:.0f}s)", flush=True)
        rows = await db.scalar(text("SELECT count(*) FROM recognition_result"))
        if rows < results:
            started = time.perf_counter()
            await db.execute(text("TRUNCATE recognition_result"))
            await db.execute(text("DROP INDEX IF EXISTS ix_recognition_result_lookup"))
            await db.execute(text("DROP INDEX IF EXISTS ix_recognition_result_resource"))
            org_rows = (await db.execute(text(
                "SELECT id::text, level FROM organization WHERE type <> 'admin' ORDER BY code"))).all()
            from jizuo.platform.registry.codes import LEVEL_RANK

            await db.execute(text(
                "INSERT INTO recognition_result (patient_id, item_code, effective_at, organization_id, level_rank, "
                "resource_type, resource_id, value, unit) "
                "SELECT CASE WHEN p % 3 = 0 AND g % 2 = 0 THEN 'bc' ELSE 'bp' END || p, "
                "(CAST(:items AS text[]))[1 + g % :ni], "
                "now() - (g % 90) * interval '1 day' - (g % 1440) * interval '1 minute', "
                "CAST((CAST(:orgs AS text[]))[1 + (g / 7) % :no] AS uuid), "
                "(CAST(:ranks AS int[]))[1 + (g / 7) % :no], 'Observation', 'bo' || g, "
                "round((g % 100) / 10.0, 1)::text, 'mmol/L' "
                "FROM generate_series(1, :n) g, LATERAL (SELECT 1 + ((g::bigint * 7919) % :np)::int AS p) x"),
                {"items": ITEMS, "ni": len(ITEMS), "orgs": [o[0] for o in org_rows], "no": len(org_rows),
                 "ranks": [LEVEL_RANK.get(o[1], 0) for o in org_rows], "n": results, "np": persons})
            await db.commit()
            print(f"results: {results:,} rows ({time.perf_counter() - started:.0f}s); indexing…", flush=True)
            await db.execute(text("CREATE INDEX ix_recognition_result_lookup ON recognition_result "
                                  "(patient_id, item_code, effective_at DESC)"))
            await db.execute(text("CREATE INDEX ix_recognition_result_resource ON recognition_result "
                                  "(resource_type, resource_id)"))
            await db.commit()
        await db.execute(text("ANALYZE recognition_result"))
        await db.commit()
        size = await db.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        print(f"database {DB}: {size}", flush=True)
    await engine.dispose()


async def measure(url: str, persons: int, checks: int, seconds: float) -> None:
    import httpx
    from sqlalchemy import text

    from jizuo.api.app import create_app
    from jizuo.core.config import get_settings
    from jizuo.core.db import make_engine, make_sessionmaker

    engine = make_engine(url, pool_size=10)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        hospital = await db.scalar(text("SELECT id::text FROM organization WHERE code = 'JC-H001'"))
        person_ids = [str(p) for p in await db.scalars(text(
            "SELECT person_id FROM mpi_source_record WHERE patient_id LIKE 'bp%' ORDER BY random() LIMIT 5000"))]
    app = create_app(get_settings(), sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app)
    rng = random.Random(7)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        signed = await client.post("/api/v1/auth/token", data={"username": "doctor", "password": "Jizuo@2026"})
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}

        def body() -> dict[str, object]:
            items = rng.sample(ITEMS, 5)
            return {"patient": {"person_id": rng.choice(person_ids)}, "ordering_organization": hospital,
                    "items": [{"system": "https://jizuo.dev/fhir/CodeSystem/lab-item", "code": c} for c in items]}

        for _ in range(50):  # warm up
            await client.post("/api/v1/recognition/check", json=body(), headers=headers)
        latencies, prompted = [], 0
        for _ in range(checks):
            started = time.perf_counter()
            response = await client.post("/api/v1/recognition/check", json=body(), headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            prompted += bool(response.json()["popup_url"])
        done = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                response = await client.post("/api/v1/recognition/check", json=body(), headers=headers)
                assert response.status_code == 200
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        rate = done / (time.perf_counter() - started)
    await engine.dispose()
    print()
    print_table(["measure", "value"], [
        ["machine", f"{os.cpu_count()} cores, load {load_average()}"],
        ["stored results / persons", f"{await_count(url)} / {persons:,}"],
        ["5-item checks (1 client)", f"{checks:,} ({prompted / checks:.0%} with a prompt)"],
        ["p50 latency", f"{percentile(latencies, 50):.1f} ms"],
        ["p99 latency", f"{percentile(latencies, 99):.1f} ms"],
        ["sustained (8 clients, 1 process)", f"{rate:.0f} checks/s"],
    ])


def await_count(url: str) -> str:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'recognition_result'").fetchone()
    return f"{row[0]:,}" if row else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--drop", action="store_true", help="drop the bench database afterwards")
    args = parser.parse_args()
    server = start_bench_postgres()
    import psycopg

    admin_url = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')
    url = database_url(server)
    os.environ["DATABASE_URL"] = url
    from jizuo.migrations import upgrade_to_head

    upgrade_to_head(url)
    asyncio.run(prepare(url, args.results, args.persons))
    asyncio.run(measure(url, args.persons, args.checks, args.seconds))
    if args.drop:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{DB}" WITH (FORCE)')
        print(f"dropped {DB}")


if __name__ == "__main__":
    main()
