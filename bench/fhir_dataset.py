"""Build a large synthetic FHIR dataset (Patients + lab Observations) directly in PostgreSQL, set-based.

    .venv/bin/python bench/fhir_dataset.py --patients 1000000 --per-patient 9 --database-url URL [--rebuild]
    .venv/bin/python bench/fhir_dataset.py --embedded ...      # the bench server in .jizuo-bench/pg

Not the Python write path: resources and their search-index rows are produced with `INSERT ... SELECT` over
`generate_series`, `hashint8extended` (deterministic pseudo-random numbers) and `jsonb_build_object`. Only the
per-patient personal data is made in Python: 身份证 numbers (valid check digit, unique), SM4-encrypted values
and the `bidx:` blind-index tokens from `jizuo.fhir.personal_data.blind_token`, with the same keys the server
will use (JIZUO_DATA_DIR=.jizuo-bench), so `Patient?identifier=urn:oid:2.16.156.10011.1.3|<number>` goes
through the real search path. The index rows are exactly the rows `jizuo.fhir.store.index_rows` (that is
`extract_index` plus the blind-token replacement) gives for the stored JSON; `--verify N` re-checks a sample.

Load order: stage tables (unlogged) → drop the secondary indexes of the store tables → insert resources and
index rows (two connections in parallel, rows in `rid` order, observations' `rid` in time order as a live
feed would give them) → recreate the indexes from the SQLAlchemy metadata (the definitions the migrations
create) → VACUUM ANALYZE. Each step commits with a marker in `bench_dataset_step`, so an interrupted build
resumes where it stopped; a finished build with the same parameters is skipped unless `--rebuild`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import random
import shutil
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from _common import BENCH_DIR, ROOT, field_cipher, start_bench_postgres  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from jizuo.core.embedded_pg import to_sync_url  # noqa: E402
from jizuo.fhir.models import INDEX_TABLES, FhirResource  # noqa: E402

ID_CARD_SYSTEM = "urn:oid:2.16.156.10011.1.3"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MASK = "9223372036854775807"  # & with this keeps hashint8extended() non-negative
# Observations are spread over three years ending a few days before the machine's clock of this build.
OBS_START = datetime(2023, 11, 20, tzinfo=UTC)
OBS_SPAN_SECONDS = 3 * 365 * 86400
PATIENT_REG_START = datetime(2023, 1, 1, tzinfo=UTC)

# 20 common LOINC lab tests as a Chinese lab reports them (SI units), Zipf-skewed (s=1): the first is ~28 %,
# the last ~1.4 % of observations. (code, display, 中文名, UCUM unit, mean, sd, decimals, low, high)
LAB_CODES: list[tuple[str, str, str, str, float, float, int, float, float]] = [
    ("15074-8", "Glucose [Moles/volume] in Blood", "血糖", "mmol/L", 5.8, 1.6, 1, 3.9, 6.1),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "血红蛋白", "g/L", 135, 16, 0, 115, 175),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "白细胞计数", "10*9/L", 6.5, 2.0, 2, 3.5, 9.5),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "血小板计数", "10*9/L", 230, 60, 0, 125, 350),
    ("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "总胆固醇", "mmol/L", 4.9, 1.0, 2, 2.8, 5.2),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "糖化血红蛋白", "%", 6.1, 1.1, 1, 4.0, 6.0),
    ("14927-8", "Triglyceride [Moles/volume] in Serum or Plasma", "甘油三酯", "mmol/L", 1.7, 0.8, 2, 0.56, 1.7),
    ("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "红细胞计数", "10*12/L", 4.6, 0.5, 2, 3.8, 5.8),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "丙氨酸氨基转移酶",
     "U/L", 26, 13, 0, 9, 50),
    ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "肌酐", "umol/L", 76, 20, 0, 57, 111),
    ("22748-8", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "低密度脂蛋白胆固醇", "mmol/L",
     3.0, 0.8, 2, 0, 3.4),
    ("14646-4", "Cholesterol in HDL [Moles/volume] in Serum or Plasma", "高密度脂蛋白胆固醇", "mmol/L",
     1.3, 0.3, 2, 1.04, 2.0),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "天门冬氨酸氨基转移酶",
     "U/L", 25, 10, 0, 15, 40),
    ("14933-6", "Urate [Moles/volume] in Serum or Plasma", "尿酸", "umol/L", 340, 85, 0, 208, 428),
    ("22664-7", "Urea [Moles/volume] in Serum or Plasma", "尿素", "mmol/L", 5.3, 1.5, 1, 3.1, 8.0),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "钾", "mmol/L", 4.2, 0.4, 2, 3.5, 5.3),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "钠", "mmol/L", 140, 3, 0, 137, 147),
    ("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma", "总胆红素", "umol/L", 12, 5, 1, 0, 21),
    ("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "促甲状腺激素", "m[IU]/L", 2.3, 1.1, 2, 0.27, 4.2),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "C反应蛋白", "mg/L", 4.0, 4.0, 1, 0, 10),
]
CODE_WEIGHTS = [1 / (i + 1) for i in range(len(LAB_CODES))]
# 6-digit administrative division codes of Shanghai's districts: the first six digits of a 身份证 number.
AREA_CODES = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
              "310114", "310115", "310116", "310117", "310118", "310120", "310151"]
BIRTH_FIRST = date(1935, 1, 1)
BIRTH_DAYS = 33000  # → 2025-05-07
SEQ_PER_SEX = 500
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
INDEX_OWNERS = [FhirResource.__table__, *INDEX_TABLES.values()]


def u(expr: str, salt: int) -> str:
    """SQL: a deterministic uniform number in [0, 1) from an integer expression."""
    return f"(((hashint8extended(({expr})::bigint, {salt}) & {MASK}) % 1000000) / 1000000.0)"


def pick(expr: str, salt: int, n: int) -> str:
    """SQL: a deterministic integer in [0, n)."""
    return f"((hashint8extended(({expr})::bigint, {salt}) & {MASK}) % {n})"


def patient_uuid(n: int) -> str:
    return str(uuid.UUID(hashlib.md5(f"jizuo-bench-patient:{n}".encode()).hexdigest()))


def id_number(n: int, rng: random.Random) -> tuple[str, date, str]:
    """A unique, valid 18-digit 身份证 number for patient n (a bijection of n over area × birthday × sequence)."""
    space = len(AREA_CODES) * BIRTH_DAYS * SEQ_PER_SEX
    i = (n * 1_000_003) % space
    area = AREA_CODES[i % len(AREA_CODES)]
    i //= len(AREA_CODES)
    birth = BIRTH_FIRST + timedelta(days=i % BIRTH_DAYS)
    seq_index = i // BIRTH_DAYS
    male = rng.random() < 0.5
    seq = seq_index * 2 + (1 if male else 0)  # the 17th digit is odd for men
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    return body + check, birth, "male" if male else "female"


def _patient_chunk(args: tuple[int, int, list[tuple[str, str]]]) -> list[tuple[Any, ...]]:
    """Rows of bench_patient_stage for patients first..last (runs in a worker process)."""
    from jizuo.fhir.personal_data import blind_token
    from jizuo.platform.demo.addresses import ADDRESS_PREFIX, STREETS, mobile_phone
    from jizuo.platform.demo.names import pick_given_name, pick_surname

    first, last, orgs = args
    cipher = field_cipher()
    rng = random.Random(first)
    rows = []
    for n in range(first, last + 1):
        number, birth, sex = id_number(n, rng)
        family = pick_surname(rng)
        given = pick_given_name(rng, sex, birth.year)
        phone = mobile_phone(rng)
        area = STREETS[int(rng.random() * len(STREETS))]
        community = int(rng.random() * len(area.communities))
        road = area.roads[community % len(area.roads)]
        room = rng.randint(1, 18) * 100 + rng.randint(1, 4)
        line = f"{area.name}{road}{rng.randint(1, 999)}弄{rng.randint(1, 40)}号{room}室"
        org_id, org_code = orgs[int(rng.random() * len(orgs))]
        registered = PATIENT_REG_START + timedelta(microseconds=int(rng.random() * 320 * 86400 * 1e6))
        id_enc = "enc:" + base64.b64encode(cipher.encrypt(number)).decode()
        phone_enc = "enc:" + base64.b64encode(cipher.encrypt(phone)).decode()
        rows.append((n, patient_uuid(n), family, given, sex, birth, number, id_enc, blind_token(cipher, number),
                     phone_enc, blind_token(cipher, phone), line, ADDRESS_PREFIX + line, org_id, org_code,
                     f"MRN{n:09d}", registered))
    return rows


# --- SQL of the steps ----------------------------------------------------------------------------------------

def sql_stage_obs(p: dict[str, Any], performers: list[str]) -> str:
    n, k, base = p["patients"], p["per_patient"], p["base"]
    cum, acc = [], 0.0
    total = sum(CODE_WEIGHTS)
    table = []
    for w in CODE_WEIGHTS:
        acc += w
        cum.append(acc / total)
    for slot in range(10000):
        x = (slot + 0.5) / 10000
        table.append(next(i for i, c in enumerate(cum) if x <= c))
    code_map = "ARRAY[" + ",".join(str(i) for i in table) + "]"
    org_map = "ARRAY[" + ",".join(f"'{o}'" for o in performers) + "]::text[]"
    t0 = OBS_START.isoformat()
    return f"""
    DROP TABLE IF EXISTS bench_obs_stage;
    CREATE UNLOGGED TABLE bench_obs_stage AS
    WITH g AS (
        SELECT j, ((j - 1) / {k} + 1)::int AS n,
               ({code_map})[1 + {pick('j', 1, 10000)}] AS ci,
               timestamptz '{t0}' + make_interval(secs => {pick('j', 2, OBS_SPAN_SECONDS)}) AS eff,
               ({u('j', 3)} + {u('j', 4)} + {u('j', 5)} - 1.5) * 2 AS z,
               make_interval(secs => 1800 + {pick('j', 6, 2 * 86400)}) + make_interval(
                   secs => {pick('j', 7, 1000000)} / 1000000.0) AS lag,
               ({org_map})[1 + {pick('j', 8, len(performers))}] AS org_id
        FROM generate_series(1, {n * k}) AS j
    )
    SELECT ({base} + {n} + row_number() OVER (ORDER BY g.eff, g.j))::bigint AS rid,
           g.j, g.n, g.ci, g.eff, g.eff + g.lag AS lu,
           md5('jizuo-bench-obs:' || g.j)::uuid::text AS oid,
           md5('jizuo-bench-patient:' || g.n)::uuid::text AS pid,
           round(greatest(c.mean + c.sd * g.z, c.mean * 0.1)::numeric, c.decimals) AS value,
           g.org_id
    FROM g JOIN bench_codes c ON c.ci = g.ci
    ORDER BY 1;
    """


def iso_utc(col: str) -> str:
    return f"""(to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z')"""


def sql_resources_patient(p: dict[str, Any]) -> str:
    return f"""
    INSERT INTO fhir_resource (rid, res_type, id, version, last_updated, deleted, resource)
    SELECT {p['base']} + s.n, 'Patient', s.pid, 1, s.lu, false, jsonb_build_object(
        'resourceType', 'Patient', 'id', s.pid,
        'meta', jsonb_build_object('versionId', '1', 'lastUpdated', {iso_utc('s.lu')}),
        'identifier', jsonb_build_array(
            jsonb_build_object('use', 'official', 'system', '{ID_CARD_SYSTEM}', 'value', s.id_enc),
            jsonb_build_object('use', 'usual', 'system', 'urn:jizuo:mrn:' || s.org_code, 'value', s.mrn)),
        'active', true,
        'name', jsonb_build_array(jsonb_build_object('use', 'official', 'text', s.family || s.given,
                                                     'family', s.family, 'given', jsonb_build_array(s.given))),
        'telecom', jsonb_build_array(jsonb_build_object('system', 'phone', 'value', s.phone_enc, 'use', 'mobile')),
        'gender', s.gender,
        'birthDate', to_char(s.birth, 'YYYY-MM-DD'),
        'address', jsonb_build_array(jsonb_build_object('use', 'home', 'text', s.address_text,
                                                        'line', jsonb_build_array(s.line),
                                                        'city', '申江市', 'district', '江川区')),
        'managingOrganization', jsonb_build_object('reference', 'Organization/' || s.org_id))
    FROM bench_patient_stage s ORDER BY s.n;
    """


def sql_resources_obs(p: dict[str, Any]) -> str:
    eff_local = """(to_char(s.eff AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00')"""
    return f"""
    INSERT INTO fhir_resource (rid, res_type, id, version, last_updated, deleted, resource)
    SELECT s.rid, 'Observation', s.oid, 1, s.lu, false, jsonb_build_object(
        'resourceType', 'Observation', 'id', s.oid,
        'meta', jsonb_build_object('versionId', '1', 'lastUpdated', {iso_utc('s.lu')}),
        'status', 'final',
        'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
            'system', '{CATEGORY_SYSTEM}', 'code', 'laboratory', 'display', 'Laboratory')))),
        'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
            'system', '{LOINC}', 'code', c.code, 'display', c.display)), 'text', c.zh),
        'subject', jsonb_build_object('reference', 'Patient/' || s.pid),
        'effectiveDateTime', {eff_local},
        'issued', {iso_utc('s.lu')},
        'performer', jsonb_build_array(jsonb_build_object('reference', 'Organization/' || s.org_id)),
        'valueQuantity', jsonb_build_object('value', s.value, 'unit', c.unit, 'system', '{UCUM}', 'code', c.unit),
        'interpretation', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
            'system', 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
            'code', CASE WHEN s.value < c.low THEN 'L' WHEN s.value > c.high THEN 'H' ELSE 'N' END)))),
        'referenceRange', jsonb_build_array(jsonb_build_object(
            'low', jsonb_build_object('value', c.low, 'unit', c.unit, 'system', '{UCUM}', 'code', c.unit),
            'high', jsonb_build_object('value', c.high, 'unit', c.unit, 'system', '{UCUM}', 'code', c.unit))))
    FROM bench_obs_stage s JOIN bench_codes c ON c.ci = s.ci;
    """


def sql_tokens(p: dict[str, Any]) -> str:
    return f"""
    INSERT INTO fhir_idx_token (rid, res_type, param, system, code, display)
    SELECT {p['base']} + s.n, 'Patient', v.param, v.system, v.code, NULL
    FROM bench_patient_stage s CROSS JOIN LATERAL (VALUES
        ('_id', NULL, s.pid), ('identifier', '{ID_CARD_SYSTEM}', s.id_bidx),
        ('identifier', 'urn:jizuo:mrn:' || s.org_code, s.mrn), ('active', NULL, 'true'),
        ('phone', 'phone', s.phone_bidx), ('telecom', 'phone', s.phone_bidx), ('gender', NULL, s.gender),
        ('address-use', NULL, 'home'), ('deceased', NULL, 'false')) AS v(param, system, code)
    ORDER BY s.n;
    INSERT INTO fhir_idx_token (rid, res_type, param, system, code, display)
    SELECT s.rid, 'Observation', v.param, v.system, v.code, v.display
    FROM bench_obs_stage s JOIN bench_codes c ON c.ci = s.ci CROSS JOIN LATERAL (VALUES
        ('_id', NULL, s.oid, NULL), ('status', NULL, 'final', NULL),
        ('category', '{CATEGORY_SYSTEM}', 'laboratory', 'Laboratory'),
        ('code', '{LOINC}', c.code, c.display), ('code', NULL, NULL, c.zh),
        ('combo-code', '{LOINC}', c.code, c.display), ('combo-code', NULL, NULL, c.zh)
    ) AS v(param, system, code, display);
    """


def sql_strings(p: dict[str, Any]) -> str:
    # Names: family, given and the whole name (text == family + given); the given name only once when it is
    # the same character as the family name (extract_index de-duplicates rows).
    return f"""
    INSERT INTO fhir_idx_string (rid, res_type, param, value_norm, value_exact)
    SELECT {p['base']} + s.n, 'Patient', v.param, v.value, v.value
    FROM bench_patient_stage s CROSS JOIN LATERAL (VALUES
        ('family', s.family), ('given', s.given),
        ('name', s.family), ('name', CASE WHEN s.given <> s.family THEN s.given END), ('name', s.family || s.given),
        ('phonetic', s.family), ('phonetic', CASE WHEN s.given <> s.family THEN s.given END),
        ('phonetic', s.family || s.given),
        ('address', s.line), ('address', '申江市'), ('address', '江川区'), ('address', s.address_text),
        ('address-city', '申江市')) AS v(param, value)
    WHERE v.value IS NOT NULL
    ORDER BY s.n;
    """


def sql_dates(p: dict[str, Any]) -> str:
    day = "(s.birth::timestamp AT TIME ZONE 'Asia/Shanghai')"
    next_day = "((s.birth + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')"
    return f"""
    INSERT INTO fhir_idx_date (rid, res_type, param, low, high)
    SELECT {p['base']} + s.n, 'Patient', v.param, v.low, v.high
    FROM bench_patient_stage s CROSS JOIN LATERAL (VALUES
        ('_lastUpdated', s.lu, s.lu + interval '1 microsecond'), ('birthdate', {day}, {next_day})
    ) AS v(param, low, high)
    ORDER BY s.n;
    INSERT INTO fhir_idx_date (rid, res_type, param, low, high)
    SELECT s.rid, 'Observation', v.param, v.low, v.high
    FROM bench_obs_stage s CROSS JOIN LATERAL (VALUES
        ('_lastUpdated', s.lu, s.lu + interval '1 microsecond'), ('date', s.eff, s.eff + interval '1 second')
    ) AS v(param, low, high);
    """


def sql_references(p: dict[str, Any]) -> str:
    return f"""
    INSERT INTO fhir_idx_reference (rid, res_type, param, target_type, target_id, url)
    SELECT {p['base']} + s.n, 'Patient', 'organization', 'Organization', s.org_id, 'Organization/' || s.org_id
    FROM bench_patient_stage s ORDER BY s.n;
    INSERT INTO fhir_idx_reference (rid, res_type, param, target_type, target_id, url)
    SELECT s.rid, 'Observation', v.param, v.target_type, v.target_id, v.target_type || '/' || v.target_id
    FROM bench_obs_stage s CROSS JOIN LATERAL (VALUES
        ('patient', 'Patient', s.pid), ('subject', 'Patient', s.pid), ('performer', 'Organization', s.org_id)
    ) AS v(param, target_type, target_id);
    """


def sql_quantities(p: dict[str, Any]) -> str:
    return f"""
    INSERT INTO fhir_idx_quantity (rid, res_type, param, value, system, code)
    SELECT s.rid, 'Observation', v.param, s.value, '{UCUM}', c.unit
    FROM bench_obs_stage s JOIN bench_codes c ON c.ci = s.ci
         CROSS JOIN (VALUES ('value-quantity'), ('combo-value-quantity')) AS v(param);
    """


# --- build ------------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self.url = to_sync_url(url)
        self.args = args
        self.timings: dict[str, float] = {}

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=False)
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET jit = off")
        conn.commit()
        return conn

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    # markers --------------------------------------------------------------------------------------------
    def setup_meta(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, value jsonb NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_dataset_step (step text PRIMARY KEY, seconds float8 NOT NULL,"
                     " finished timestamptz NOT NULL DEFAULT now())")
        conn.commit()

    def done(self, conn: psycopg.Connection[Any]) -> set[str]:
        return {r[0] for r in conn.execute("SELECT step FROM bench_dataset_step")}

    def run_step(self, name: str, sql: str | None = None, fn: Any = None) -> None:
        with self.connect() as conn:
            if name in self.done(conn):
                return
            self.log(f"{name} ...")
            started = time.perf_counter()
            if sql is not None:
                conn.execute(sql)
            if fn is not None:
                fn(conn)
            seconds = time.perf_counter() - started
            conn.execute("INSERT INTO bench_dataset_step (step, seconds) VALUES (%s, %s)", (name, seconds))
            conn.commit()
            self.log(f"{name} done in {seconds:.1f}s")

    def run_parallel(self, steps: list[tuple[str, str]], jobs: int) -> None:
        queue = list(steps)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    name, sql = queue.pop(0)
                try:
                    self.run_step(name, sql)
                except BaseException as exc:  # report after the other thread stops
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=worker) for _ in range(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    # the build ------------------------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        args = self.args
        with self.connect() as conn:
            self.setup_meta(conn)
            row = conn.execute("SELECT value FROM bench_dataset WHERE key = 'params'").fetchone()
            wanted = {"patients": args.patients, "per_patient": args.per_patient}
            if row and (args.rebuild or {k: row[0][k] for k in wanted} != wanted):
                self.log(f"removing the earlier dataset {row[0]}")
                self.remove(conn, row[0])
                row = None
            if row is None:
                base = conn.execute("SELECT coalesce(max(rid), 0) FROM fhir_resource").fetchone()[0] + 1000
                params = {**wanted, "base": base}
                conn.execute("DELETE FROM bench_dataset_step")
                conn.execute("INSERT INTO bench_dataset VALUES ('params', %s)", (json.dumps(params),))
                conn.commit()
            else:
                params = row[0]
            if "complete" in self.done(conn):
                self.log(f"dataset already built {params}; --rebuild to build it again")
                staged = conn.execute("SELECT to_regclass('bench_patient_stage') IS NOT NULL AND EXISTS "
                                      "(SELECT 1 FROM bench_patient_stage)").fetchone()
                if not (staged and staged[0]):
                    # An UNLOGGED table is emptied by crash recovery; the benches sample patients from it.
                    # Its rows are deterministic, so staging again gives the same patients as stored.
                    self.log("bench_patient_stage is empty (crash recovery empties unlogged tables): staging again")
                    conn.commit()
                    self.stage_patients(conn, params)
                    conn.commit()
                return params
        self.check_disk(params)
        started = time.perf_counter()
        self.run_step("stage_codes", fn=lambda c: self.stage_codes(c))
        self.run_step("stage_patients", fn=lambda c: self.stage_patients(c, params))
        with self.connect() as conn:
            performers = [r[0] for r in conn.execute("SELECT org_id FROM bench_performers ORDER BY slot")]
        self.run_step("stage_observations", sql_stage_obs(params, performers))
        self.run_step("drop_indexes", fn=self.drop_indexes)
        self.run_parallel([
            ("insert_observations", sql_resources_obs(params)),
            ("insert_tokens", sql_tokens(params)),
            ("insert_dates", sql_dates(params)),
            ("insert_references", sql_references(params)),
            ("insert_quantities", sql_quantities(params)),
            ("insert_patients", sql_resources_patient(params)),
            ("insert_strings", sql_strings(params)),
        ], args.jobs)
        self.run_parallel([(f"index_{ix.name}", ddl) for ix, ddl in self.index_ddl()], args.jobs)
        self.vacuum()
        self.run_step("sequence", "SELECT setval(pg_get_serial_sequence('fhir_resource', 'rid'),"
                                  " (SELECT max(rid) FROM fhir_resource))")
        self.run_step("complete", "SELECT 1")
        self.log(f"build finished in {time.perf_counter() - started:.0f}s (this run)")
        return params

    def check_disk(self, params: dict[str, Any]) -> None:
        free = shutil.disk_usage(BENCH_DIR if BENCH_DIR.exists() else ROOT).free
        resources = params["patients"] * (1 + params["per_patient"])
        need = resources * 4600  # measured at 1M resources: 4.4 KB per resource with all indexes
        self.log(f"free disk {free / 1e9:.1f} GB, estimated need {need / 1e9:.1f} GB for {resources:,} resources")
        if need > free * 0.9:
            raise SystemExit("not enough disk space for this size: use fewer --patients")

    def stage_codes(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("DROP TABLE IF EXISTS bench_codes")
        conn.execute("CREATE TABLE bench_codes (ci int PRIMARY KEY, code text, display text, zh text, unit text,"
                     " mean float8, sd float8, decimals int, low numeric, high numeric, weight float8)")
        with conn.cursor().copy("COPY bench_codes FROM STDIN") as copy:
            for i, (code, display, zh, unit, mean, sd, decimals, low, high) in enumerate(LAB_CODES):
                copy.write_row((i, code, display, zh, unit, mean, sd, decimals, Decimal(str(low)),
                                Decimal(str(high)), CODE_WEIGHTS[i] / sum(CODE_WEIGHTS)))
        # Lab results come from hospitals and community centres, weighted towards the big hospitals.
        orgs = conn.execute("SELECT id::text, type FROM organization WHERE type IN "
                            "('general_hospital', 'tcm_hospital', 'mch_hospital', 'community_centre') "
                            "ORDER BY code").fetchall()
        if not orgs:
            orgs = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"jizuo-bench-org:{i}")), "general_hospital")
                    for i in range(10)]
        weights = [8 if t == "general_hospital" else 3 if t != "community_centre" else 1 for _, t in orgs]
        conn.execute("DROP TABLE IF EXISTS bench_performers")
        conn.execute("CREATE TABLE bench_performers (slot int PRIMARY KEY, org_id text)")
        slots = [org_id for (org_id, _), w in zip(orgs, weights, strict=True) for _ in range(w)]
        for slot, org_id in enumerate(slots):
            conn.execute("INSERT INTO bench_performers VALUES (%s, %s)", (slot, org_id))

    def stage_patients(self, conn: psycopg.Connection[Any], params: dict[str, Any]) -> None:
        orgs = conn.execute("SELECT id::text, code FROM organization WHERE type = 'community_centre' "
                            "ORDER BY code").fetchall()
        if not orgs:
            orgs = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"jizuo-bench-org:{i}")), f"C{i:03d}") for i in range(10)]
        conn.execute("DROP TABLE IF EXISTS bench_patient_stage")
        conn.execute("""CREATE UNLOGGED TABLE bench_patient_stage (n int PRIMARY KEY, pid text, family text,
            given text, gender text, birth date, id_number text, id_enc text, id_bidx text, phone_enc text,
            phone_bidx text, line text, address_text text, org_id text, org_code text, mrn text,
            lu timestamptz)""")
        total, chunk = params["patients"], 20000
        chunks = [(a, min(a + chunk - 1, total), orgs) for a in range(1, total + 1, chunk)]
        with multiprocessing.get_context("fork").Pool(self.args.jobs) as pool, \
                conn.cursor().copy("COPY bench_patient_stage FROM STDIN") as copy:
            for rows in pool.imap(_patient_chunk, chunks):
                for r in rows:
                    copy.write_row(r)
        conn.execute("ANALYZE bench_patient_stage")

    def index_ddl(self) -> list[tuple[Any, str]]:
        dialect = postgresql.dialect()
        return [(ix, str(CreateIndex(ix).compile(dialect=dialect))) for t in INDEX_OWNERS
                for ix in sorted(t.indexes, key=lambda i: i.name)]

    def drop_indexes(self, conn: psycopg.Connection[Any]) -> None:
        for ix, _ in self.index_ddl():
            conn.execute(f"DROP INDEX IF EXISTS {ix.name}")

    def vacuum(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM bench_dataset_step WHERE step = 'vacuum'").fetchone():
                return
            started = time.perf_counter()
            conn.execute("SET maintenance_work_mem = '1GB'")
            for t in INDEX_OWNERS:
                self.log(f"VACUUM ANALYZE {t.name} ...")
                conn.execute(f"VACUUM (ANALYZE) {t.name}")
            conn.execute("INSERT INTO bench_dataset_step (step, seconds) VALUES ('vacuum', %s)",
                         (time.perf_counter() - started,))
            self.log(f"vacuum done in {time.perf_counter() - started:.1f}s")

    def remove(self, conn: psycopg.Connection[Any], params: dict[str, Any]) -> None:
        """Delete the dataset (and whatever the benchmarks wrote after it): rows with rid >= base."""
        base = params["base"]
        for t in ["fhir_history", *[t.name for t in INDEX_OWNERS]]:
            conn.execute(f"CREATE TEMP TABLE keep AS SELECT * FROM {t} WHERE rid < %s", (base,))
            conn.execute(f"TRUNCATE {t}")
            conn.execute(f"INSERT INTO {t} SELECT * FROM keep")
            conn.execute("DROP TABLE keep")
        conn.execute("DELETE FROM bench_dataset")
        conn.execute("DELETE FROM bench_dataset_step")
        conn.execute("DROP TABLE IF EXISTS bench_obs_stage")
        conn.commit()

    # verification ------------------------------------------------------------------------------------------
    def verify(self, sample: int) -> bool:
        from jizuo.fhir.personal_data import ENCRYPTED_PREFIX, blind_token
        from jizuo.fhir.store import index_rows

        cipher = field_cipher()
        with psycopg.connect(self.url) as conn:
            params = conn.execute("SELECT value FROM bench_dataset WHERE key = 'params'").fetchone()[0]
            lo = params["base"] + 1
            hi = lo + params["patients"] * (1 + params["per_patient"]) - 1
            rng = random.Random(7)
            half = sample // 2
            rids = [lo + rng.randrange(params["patients"]) for _ in range(half)]
            rids += [lo + params["patients"] + rng.randrange(hi - lo + 1 - params["patients"])
                     for _ in range(sample - half)]
            mismatches: Counter[str] = Counter()
            compared: Counter[str] = Counter()
            for rid in rids:
                resource = conn.execute("SELECT resource FROM fhir_resource WHERE rid = %s", (rid,)).fetchone()[0]
                replacements = {}
                for element in [*(resource.get("identifier") or []), *(resource.get("telecom") or [])]:
                    value = element.get("value", "")
                    if value.startswith(ENCRYPTED_PREFIX):
                        plain = cipher.decrypt(base64.b64decode(value[len(ENCRYPTED_PREFIX):]))
                        replacements[value] = blind_token(cipher, plain)
                expected = index_rows(rid, resource, replacements)
                for name, table in INDEX_TABLES.items():
                    columns = [c.name for c in table.columns][2:]  # param and the value columns
                    got = Counter(tuple(r) for r in conn.execute(
                        f"SELECT {', '.join(columns)} FROM {table.name} WHERE rid = %s", (rid,)))
                    want = Counter(getattr(expected, name))
                    for key in set(got) | set(want):
                        param = f"{resource['resourceType']}.{key[0]}"
                        compared[param] += 1
                        if got[key] != want[key]:
                            mismatches[param] += 1
                            if mismatches[param] <= 2:
                                self.log(f"MISMATCH rid {rid} {name} {key}: generated {got[key]}, "
                                         f"extract_index {want[key]}")
            self.log(f"verified {len(rids)} resources against jizuo.fhir.store.index_rows/extract_index: "
                     f"{sum(compared.values())} (param, row) keys over {len(compared)} params, "
                     f"{sum(mismatches.values())} mismatches")
            self.log("params compared: " + ", ".join(sorted(compared)))
            return not mismatches

    def report_sizes(self) -> None:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("""
                SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid)
                FROM pg_class c WHERE c.relname = ANY(%s) ORDER BY c.relname""",
                ([t.name for t in INDEX_OWNERS],)).fetchall()
            steps = conn.execute("SELECT step, seconds FROM bench_dataset_step ORDER BY finished").fetchall()
            db_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        from _common import print_table

        print("\nbuild steps (seconds):")
        print_table(["step", "s"], [(s, f"{sec:.1f}") for s, sec in steps])
        print(f"total load time: {sum(sec for _, sec in steps):.0f}s (sum of steps; two ran in parallel)")
        print("\ntable sizes:")
        print_table(["table", "rows (est.)", "table", "indexes"],
                    [(n, f"{t:,}", f"{s / 2**30:.2f} GiB", f"{i / 2**30:.2f} GiB") for n, t, s, i in rows])
        print(f"database size: {db_size / 2**30:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--per-patient", type=int, default=9)
    parser.add_argument("--database-url")
    parser.add_argument("--embedded", action="store_true", help="use (start) the bench server in .jizuo-bench/pg")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--verify", type=int, default=50, help="resources to re-check with extract_index (0: no)")
    args = parser.parse_args()
    if not args.database_url and not args.embedded:
        parser.error("--database-url or --embedded")
    url = args.database_url or start_bench_postgres()
    builder = Builder(url, args)
    builder.build()
    builder.report_sizes()
    if args.verify and not builder.verify(args.verify):
        sys.exit(1)


if __name__ == "__main__":
    main()
