"""Two-way referral: throughput of create + accept, and inbox latency with 1 million historical referrals.

    .venv/bin/python bench/referral.py [--referrals 1000000] [--cycles 300] [--inbox 300] [--drop] [--data-dir D]

Uses its own database `jizuo_bench_referral` on the bench server (.jizuo-bench): migrated, a small demo district
(registry, users, residents), then historical referrals generated inside PostgreSQL (INSERT … SELECT
generate_series): sent by the ten community centres and the hospitals, spread over three years, mostly
completed, each with its candidate row and three timeline events; about one in six is addressed to
江川区中心医院 (JC-H001, the benchmark doctor's hospital). The historical rows have no FHIR resources behind them.

Measured through the real app in-process (httpx ASGITransport: routing, auth, MPI/register lookup by 身份证,
referral rows, events, FHIR ServiceRequest + Task written and validated, notifications, audit, commit):
one create (family doctor, JC-C001 → JC-H001) followed by one accept (hospital doctor) is one cycle; then the
hospital doctor's inbox (first page of 20, with the total) and the requested-only inbox.

Loop closing (`--visit-bundles`): transaction bundles of 200 Encounters of signed residents posted to /fhir by the
hospital doctor, with the referral app's visit listener and again without it (removed from the listener list
for that pass), so the difference is what capturing, resolving and notifying costs; plus single Encounter POSTs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, percentile, print_table, start_bench_postgres  # noqa: E402

DB = "jizuo_bench_referral"


def database_url(server: str) -> str:
    return server.replace("/jizuo_bench?", f"/{DB}?") if "?" in server else server.rsplit("/", 1)[0] + "/" + DB


HISTORY = """
INSERT INTO referral (id, status, version, direction, type, urgency, patient_id, patient_name, reason,
                      diagnosis_code, details, source_organization_id, source_user_id, accepted_organization_id,
                      outcome, created_at, requested_at, updated_at)
SELECT uuid_in(md5('r' || g)::cstring),
       (ARRAY['completed','completed','completed','completed','rejected','cancelled','expired','accepted'])[1 + g % 8],
       4, CASE WHEN g % 5 = 0 THEN 'down' ELSE 'up' END, 'normal', 'routine', 'hist' || (g % 200000), '历史患者',
       '历史转诊', 'I10', '{}',
       CASE WHEN g % 5 = 0 THEN hosp[1 + g % array_length(hosp, 1)] ELSE cent[1 + g % array_length(cent, 1)] END,
       :user,
       CASE WHEN (g % 8) IN (4, 5, 6) THEN NULL
            WHEN g % 5 = 0 THEN cent[1 + (g / 5) % array_length(cent, 1)]
            ELSE hosp[1 + (g / 7) % array_length(hosp, 1)] END,
       '好转', now() - (g % 1095) * interval '1 day', now() - (g % 1095) * interval '1 day',
       now() - (g % 1095) * interval '1 day'
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g,
     (SELECT array_agg(id ORDER BY code) AS hosp FROM organization WHERE code LIKE 'JC-H%') h,
     (SELECT array_agg(id ORDER BY code) AS cent FROM organization WHERE code LIKE 'JC-C%') c
"""
CANDIDATES = """
INSERT INTO referral_candidate (referral_id, organization_id, created_at, open)
SELECT r.id, coalesce(r.accepted_organization_id, h.hosp[1 + abs(hashtext(r.id::text)) % array_length(h.hosp, 1)]),
       r.created_at, r.accepted_organization_id IS NULL
FROM referral r, (SELECT array_agg(id ORDER BY code) AS hosp FROM organization WHERE code LIKE 'JC-H%') h
WHERE r.patient_id LIKE 'hist%' AND r.id NOT IN (SELECT referral_id FROM referral_candidate)
"""
EVENTS = """
INSERT INTO referral_event (id, referral_id, action, from_status, to_status, at, actor_username, data)
SELECT gen_random_uuid(), r.id, a.action, a.from_status, a.to_status, r.requested_at + a.after, 'history', '{}'
FROM referral r
CROSS JOIN (VALUES ('create', NULL, 'draft', interval '0'), ('submit', 'draft', 'requested', interval '1 second'),
                   ('accept', 'requested', 'accepted', interval '6 hours')) a(action, from_status, to_status, after)
WHERE r.patient_id LIKE 'hist%'
"""


async def prepare(url: str, referrals: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from jizuo.core.db import make_engine
    from jizuo.core.security import get_field_cipher
    from jizuo.platform.demo.seed import is_seeded, seed_demo_district

    engine = make_engine(url, pool_size=2)
    async with AsyncSession(engine) as db:
        if not await is_seeded(db):
            await seed_demo_district(db, get_field_cipher(), seed=20260101, residents=400)
            await db.commit()
        have = int(await db.scalar(text("SELECT count(*) FROM referral WHERE patient_id LIKE 'hist%'")) or 0)
        if have < referrals:
            started = time.perf_counter()
            user = await db.scalar(text("SELECT id FROM app_user WHERE username = 'family_doctor'"))
            step = 200_000
            for first in range(have + 1, referrals + 1, step):
                await db.execute(text(HISTORY), {"first": first, "last": min(first + step - 1, referrals),
                                                 "user": user})
                await db.commit()
            await db.execute(text("DELETE FROM referral_event WHERE actor_username = 'history'"))
            await db.execute(text(CANDIDATES))
            await db.execute(text(EVENTS))
            await db.commit()
            print(f"historical referrals: {referrals:,} ({time.perf_counter() - started:.0f}s)", flush=True)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE referral, referral_candidate, referral_event"))
    await engine.dispose()


async def measure_visits(client: Any, sessionmaker: Any, bundles: int, size: int = 200) -> dict[str, str]:
    """Encounters of signed residents through /fhir, with and without the visit listener."""
    from sqlalchemy import func, select

    from jizuo.apps.referral import loop
    from jizuo.platform.fhir_listeners import EXTRA_LISTENER_FACTORIES
    from jizuo.platform.notifications.models import Notification
    from jizuo.platform.residents.models import Resident

    async with sessionmaker() as db:
        signed = [str(r) for r in await db.scalars(select(Resident.id).where(Resident.signed_team_id.is_not(None))
                                                   .limit(size))]
    signed_in = await client.post("/api/v1/auth/token", data={"username": "doctor", "password": "Jizuo@2026"})
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}", "Content-Type": "application/fhir+json"}

    def encounter(patient: str) -> dict[str, Any]:
        return {"resourceType": "Encounter", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": {"reference": f"Patient/{patient}"}, "reasonCode": [{"text": "压测：头晕"}],
                "period": {"start": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}}

    async def post_bundles() -> float:
        started = time.perf_counter()
        for _ in range(bundles):
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": encounter(signed[i % len(signed)]), "request": {"method": "POST", "url": "Encounter"}}
                for i in range(size)]}
            response = await client.post("/fhir", json=bundle, headers=headers)
            assert response.status_code == 200, response.text[:300]
        return bundles * size / (time.perf_counter() - started)

    async def singles(n: int = 50) -> list[float]:
        latencies = []
        for i in range(n):
            started = time.perf_counter()
            response = await client.post("/fhir/Encounter", json=encounter(signed[i % len(signed)]), headers=headers)
            assert response.status_code == 201, response.text[:300]
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    async with sessionmaker() as db:
        notes_before = int(await db.scalar(select(func.count()).select_from(Notification)
                                           .where(Notification.kind == "referral.visit")) or 0)
    with_rate, with_single = await post_bundles(), await singles()
    async with sessionmaker() as db:
        notes = int(await db.scalar(select(func.count()).select_from(Notification)
                                    .where(Notification.kind == "referral.visit")) or 0) - notes_before
    EXTRA_LISTENER_FACTORIES.remove(loop.make_listener)
    try:
        without_rate, without_single = await post_bundles(), await singles()
    finally:
        EXTRA_LISTENER_FACTORIES.append(loop.make_listener)
    return {
        f"Encounters in bundles of {size}, with visit listener": f"{with_rate:.0f} /s ({notes:,} notifications)",
        f"Encounters in bundles of {size}, without": f"{without_rate:.0f} /s",
        "single Encounter POST p50, with / without": (f"{percentile(with_single, 50):.1f} / "
                                                      f"{percentile(without_single, 50):.1f} ms"),
    }


async def measure(url: str, cycles: int, inbox_reads: int, visit_bundles: int = 0) -> dict[str, str]:
    import httpx
    from sqlalchemy import select

    from jizuo.api.app import create_app
    from jizuo.core.config import get_settings
    from jizuo.core.db import make_engine, make_sessionmaker
    from jizuo.core.security import get_field_cipher
    from jizuo.platform.identity.models import User
    from jizuo.platform.residents.models import Resident

    engine = make_engine(url, pool_size=10)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        resident_id = await db.scalar(select(User.resident_id).where(User.username == "resident"))
        resident = await db.get(Resident, resident_id)
        assert resident is not None
        id_number = get_field_cipher().decrypt(resident.id_number_enc)
        hospital = str(await db.scalar(select(User.organization_id).where(User.username == "doctor")))
    app = create_app(get_settings(), sessionmaker=sessionmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async def sign_in(username: str) -> dict[str, str]:
            signed = await client.post("/api/v1/auth/token", data={"username": username, "password": "Jizuo@2026"})
            return {"Authorization": f"Bearer {signed.json()['access_token']}"}

        family, doctor = await sign_in("family_doctor"), await sign_in("doctor")
        body = {"id_number": id_number, "direction": "up", "urgency": "urgent", "reason": "压测：血压控制不佳",
                "target_organization_ids": [hospital]}

        async def cycle() -> tuple[float, float]:
            started = time.perf_counter()
            created = await client.post("/api/v1/referrals", json=body, headers=family)
            assert created.status_code == 201, created.text
            middle = time.perf_counter()
            accepted = await client.post(f"/api/v1/referrals/{created.json()['id']}/accept", json={}, headers=doctor)
            assert accepted.status_code == 200, accepted.text
            return (middle - started) * 1000, (time.perf_counter() - middle) * 1000

        for _ in range(10):
            await cycle()
        creates, accepts = [], []
        started = time.perf_counter()
        for _ in range(cycles):
            c, a = await cycle()
            creates.append(c)
            accepts.append(a)
        serial_rate = cycles / (time.perf_counter() - started)

        done = 0
        stop = time.perf_counter() + 15

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await cycle()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(4)))
        parallel_rate = done / (time.perf_counter() - started)

        async def inbox(params: dict[str, str]) -> list[float]:
            latencies = []
            for _ in range(inbox_reads):
                started = time.perf_counter()
                response = await client.get("/api/v1/referrals", params=params, headers=doctor)
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            return latencies

        whole = await inbox({"box": "inbox", "limit": "20"})
        waiting = await inbox({"box": "inbox", "status": "requested", "limit": "20"})
        total = (await client.get("/api/v1/referrals", params={"box": "inbox", "limit": "1"}, headers=doctor)).json()
        visits = await measure_visits(client, sessionmaker, visit_bundles) if visit_bundles else {}
    await engine.dispose()
    return {
        **visits,
        "create p50 / p99": f"{percentile(creates, 50):.1f} / {percentile(creates, 99):.1f} ms",
        "accept p50 / p99": f"{percentile(accepts, 50):.1f} / {percentile(accepts, 99):.1f} ms",
        "create+accept, 1 client": f"{serial_rate:.1f} cycles/s",
        "create+accept, 4 clients": f"{parallel_rate:.1f} cycles/s",
        "doctor's inbox size": f"{total['total']:,}",
        "inbox page 1 (+ total) p50 / p99": f"{percentile(whole, 50):.1f} / {percentile(whole, 99):.1f} ms",
        "inbox requested-only p50 / p99": f"{percentile(waiting, 50):.1f} / {percentile(waiting, 99):.1f} ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--inbox", type=int, default=300)
    parser.add_argument("--visit-bundles", type=int, default=10, help="bundles of 200 Encounters (0: skip)")
    parser.add_argument("--drop", action="store_true", help="drop the bench database afterwards")
    parser.add_argument("--data-dir", help="a private embedded server instead of the shared .jizuo-bench")
    args = parser.parse_args()
    if args.data_dir:
        from jizuo.core.embedded_pg import start_embedded_postgres

        os.environ["JIZUO_DATA_DIR"] = args.data_dir
        server = start_embedded_postgres(Path(args.data_dir) / "pg", "jizuo_bench")
    else:
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
    asyncio.run(prepare(url, args.referrals))
    figures = asyncio.run(measure(url, args.cycles, args.inbox, args.visit_bundles))
    print()
    print_table(["measure", "value"], [["machine", f"{os.cpu_count()} cores, load {load_average()}"],
                                       ["historical referrals", f"{args.referrals:,}"],
                                       *[[k, v] for k, v in figures.items()]])
    if args.drop:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{DB}" WITH (FORCE)')
        print(f"dropped {DB}")


if __name__ == "__main__":
    main()
