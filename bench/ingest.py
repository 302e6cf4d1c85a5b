"""Tabular ingest: rows/s through the quality rules, rows/s end to end (upload → FHIR via the MPI), and the
delay from receipt to searchable.

    .venv/bin/python bench/ingest.py [--rows 100000] [--upload-rows 20000] [--dataset CODE]

1. Rules only: the lab data set's compiled validator over generated rows (10 % spoiled), one process, then
   the same split over the machine's cores (the way a large upload could be checked).
4. HL7 v2 ORU^R01 over MLLP: bench/ingest_hl7.py (messages/s, ACK latency, send → searchable).
2. End to end: a real `jizuo serve` on a fresh database of the bench server (registry + catalogue seeded), a
   CSV uploaded over HTTP by an institution account; the receipt comes back when every row is a record and
   every accepted row is in FHIR, linked by the MPI.
3. Delay: one-row uploads, each followed by a FHIR search for its Observation; p50/p99 of upload → found.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from _common import BENCH_DIR, ROOT, bench_env, percentile, start_bench_postgres

from jizuo.core.clock import SHANGHAI
from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
from jizuo.platform.ingest.mapping import MRN_SYSTEM, NAMESPACE
from jizuo.platform.quality.engine import Context, References, Validator
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec, load_catalogue

ORGS = ["JC-H001", "JC-H002", "JC-H003", "JC-C001", "JC-C002"]


def lab_data_set(catalogue: CatalogueSpec, code: str | None) -> DataSetSpec:
    if code:
        return catalogue.data_sets[code]
    return next(d for d in catalogue.data_sets.values() if "检验" in d.name and d.resource == "Observation")


def make_rows(data_set: DataSetSpec, catalogue: CatalogueSpec, n: int, seed: int = 7,
              patients: int = 0) -> list[dict[str, str]]:
    """Rows of the data set, every tenth spoiled; `patients`: drawn from a pool that size (0: all new)."""
    context = RowContext(ORGS, [], datetime.now(SHANGHAI), patients=patients)
    generator = RowGenerator(data_set, catalogue, context, seed=seed)
    rows = []
    for i in range(n):
        row = generator.row()
        rows.append(generator.spoil(row)[0] if i % 10 == 9 else row)
    return rows


def check_all(args: tuple[str | None, list[dict[str, str]]]) -> int:
    code, rows = args
    catalogue = load_catalogue()
    validator = Validator(lab_data_set(catalogue, code), catalogue)
    ctx = Context(datetime.now(SHANGHAI), References(frozenset(ORGS)), set())
    return sum(validator.check(row, ctx).passed for row in rows)


def bench_rules(code: str | None, n: int) -> None:
    catalogue = load_catalogue()
    data_set = lab_data_set(catalogue, code)
    validator = Validator(data_set, catalogue)
    rows = make_rows(data_set, catalogue, n)
    began = time.perf_counter()
    passed = check_all((code, rows))
    one = time.perf_counter() - began
    cores = os.cpu_count() or 1
    parts = [rows[i::cores] for i in range(cores)]
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(check_all, [(code, p[:10]) for p in parts]))  # warm the workers (imports, catalogue)
        began = time.perf_counter()
        list(pool.map(check_all, [(code, p) for p in parts]))
        many = time.perf_counter() - began
    print(f"data set {data_set.code} {data_set.name}: {len(data_set.fields)} fields, "
          f"{validator.rule_count} rules ({len(data_set.rules)} cross-field)")
    print(f"rules only, 1 process:  {n:,} rows in {one:.2f} s = {n / one:,.0f} rows/s ({passed:,} passed)")
    print(f"rules only, {cores} processes: {n / many:,.0f} rows/s")


def to_csv(rows: list[dict[str, str]], data_set: DataSetSpec, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    names = [f.name for f in data_set.fields]
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**bench_env(database_url), "JIZUO_PORT": str(port), "JIZUO_LOG_LEVEL": "warning",
           "JIZUO_DEMO_HISTORY_RESIDENTS": "0"}
    jizuo = str(ROOT / ".venv/bin/jizuo")
    subprocess.run([jizuo, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([jizuo, "demo-seed", "--residents", "1000"], env=env, check=True, capture_output=True)
    return subprocess.Popen([jizuo, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_end_to_end(code: str | None, n: int) -> None:
    import httpx
    import psycopg

    base_url = start_bench_postgres()
    name = "jizuo_bench_ingest"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from urllib.parse import urlparse

    database_url = urlparse(base_url)._replace(path=f"/{name}").geturl()
    port = 8791
    server = start_server(database_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            token = client.post("/api/v1/auth/token", data={"username": "hosp_admin",
                                                             "password": "Jizuo@2026"}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            doctor = client.post("/api/v1/auth/token", data={"username": "doctor",
                                                              "password": "Jizuo@2026"}).json()["access_token"]
            reader = {"Authorization": f"Bearer {doctor}"}
            catalogue = load_catalogue()
            data_set = lab_data_set(catalogue, code)
            for label, patients, seed in (("~10 result rows per patient", n // 10, 11),
                                          ("every row a new patient", 0, 12)):
                rows = make_rows(data_set, catalogue, n, seed=seed, patients=patients)
                body = to_csv(rows, data_set, "gb18030")
                began = time.perf_counter()
                response = client.post(f"/api/v1/ingest/datasets/{data_set.code}", headers=headers,
                                       files={"file": ("lab.csv", body, "text/csv")})
                took = time.perf_counter() - began
                receipt = response.json()
                print(f"end to end, {label} (GB18030 CSV over HTTP → rules → FHIR via MPI): {n:,} rows in "
                      f"{took:.1f} s = {n / took:,.0f} rows/s; receipt: accepted {receipt.get('accepted')}, "
                      f"quarantined {receipt.get('quarantined')}, duplicates {receipt.get('duplicates')}")
            delays = []
            for i in range(30):
                one = make_rows(data_set, catalogue, 1, seed=1000 + i)
                began = time.perf_counter()
                answer = client.post(f"/api/v1/ingest/datasets/{data_set.code}", headers=headers,
                                     files={"file": ("one.csv", to_csv(one, data_set), "text/csv")}).json()
                record = client.get("/api/v1/quality/quarantine", headers=headers,
                                    params={"batch_id": answer["batch_id"]})
                assert record.status_code == 200
                # The Patient's id follows from the institution and MRN (ingest.mapping): search its results.
                mrn = next(one[0][f.name] for f in data_set.fields if f.fhir_system == MRN_SYSTEM)
                patient_id = uuid.uuid5(NAMESPACE, f"Patient|JC-H001|mrn:{mrn}")
                found = client.get("/fhir/Observation", headers=reader, params={"subject": f"Patient/{patient_id}"})
                if found.status_code == 200 and found.json().get("entry") and answer.get("accepted"):
                    delays.append((time.perf_counter() - began) * 1000)
                elif i == 0:
                    print("one-row upload not accepted:", answer, found.status_code)
            print(f"receipt → searchable (one-row upload, then FHIR search): p50 {percentile(delays, 50):.0f} ms, "
                  f"p99 {percentile(delays, 99):.0f} ms over {len(delays)} uploads")
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--upload-rows", type=int, default=20_000)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--hl7-messages", type=int, default=2000, help="ORU^R01 over MLLP (0: skip)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; bench data in {BENCH_DIR}")
    bench_rules(args.dataset, args.rows)
    if args.rules_only:
        return
    bench_end_to_end(args.dataset, args.upload_rows)
    if args.hl7_messages:
        print("\nHL7 v2 ORU^R01 over MLLP (bench/ingest_hl7.py):", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "ingest_hl7.py"), "--messages",
                        str(args.hl7_messages)], check=False)


if __name__ == "__main__":
    main()
