"""FHIR search, read and CRUD figures over HTTP against the dataset of bench/fhir_dataset.py.

    .venv/bin/python bench/fhir_search.py --database-url URL [--requests 500] [--crud-seconds 45]

Starts `jizuo serve --workers 2` on a free loopback port against URL (JIZUO_DATA_DIR=.jizuo-bench, so the
server has the cipher keys the dataset's blind-index tokens were made with), signs in as `doctor`, and
measures with httpx, one request at a time after a warm-up, on random patients / codes / ids:

  (a) Observation?patient=X&code=Y&_sort=-date&_count=20   (Y: one of the LOINC codes patient X has)
  (b) Patient?identifier=urn:oid:2.16.156.10011.1.3|<身份证>  (through the blind index, as in production)
  (c) first pages of broad searches: Observation?code=Y, Patient?name=<surname>, Observation?date=ge2026-01-01
  (d) GET Observation/{id}
  (e) CRUD mix with N concurrent clients (60 % read, 20 % search, 10 % create, 10 % update) for a bounded time
  (f) search-only throughput with the same concurrency (for the comparison with published search figures)

and EXPLAIN (ANALYZE, BUFFERS) of the SQL the engine builds for (a)/(b)/(c) (compiled from
jizuo.fhir.search.engine.search with a capturing session), to separate database time from HTTP + Python.
Prints a table against the issue's targets and the published HAPI FHIR figures it could find (HAPI could not
be run here: no Docker daemon, no Maven Central access), and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from _common import ROOT, bench_env, field_cipher, load_average, percentile, print_table  # noqa: E402

from jizuo.core.embedded_pg import to_sync_url  # noqa: E402

ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
LOINC = "http://loinc.org"
USERNAME, PASSWORD = "doctor", "Jizuo@2026"

# Published figures (see docs/benchmarks-fhir-search.md for the sources and what they measured).
HAPI_SOURCE = ("Health Samurai FHIR server benchmark, run of 2026-06-28/29 (health-samurai.io/articles/"
               "performance-at-scale-baseline; figures as quoted by aftermontaigne.org and persquaremetre.com): "
               "HAPI FHIR (hapiproject/hapi) with 8 vCPU / 24 GB, PostgreSQL 18, 1,000 Synthea patients "
               "(~2M resources), k6")
HAPI_CRUD_RPS = 3058.0
HAPI_SEARCH_RPS = 1005.0
HAPI_VCPU = 8


@dataclass
class Series:
    name: str
    target: str = ""
    latencies: list[float] = field(default_factory=list)  # ms
    errors: int = 0
    hits: list[int] = field(default_factory=list)
    wrong: int = 0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


# --- test cases from the database ------------------------------------------------------------------------

def load_cases(url: str, n: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with psycopg.connect(to_sync_url(url)) as conn:
        params = conn.execute("SELECT value FROM bench_dataset WHERE key = 'params'").fetchone()[0]
        patients, base = params["patients"], params["base"]
        ns = rng.sample(range(1, patients + 1), min(patients, 4 * n))
        # Only patients whose staged 身份证 is the one stored: a stage rebuilt after crash recovery can differ
        # from the load for some patients, and a lookup of a number nobody has measures nothing.
        rows = conn.execute("""
                SELECT s.n, s.pid, s.id_number, s.family FROM bench_patient_stage s
                WHERE s.n = ANY(%s) AND EXISTS (
                    SELECT 1 FROM fhir_idx_token t JOIN fhir_resource f ON f.rid = t.rid
                    WHERE t.res_type = 'Patient' AND t.param = 'identifier' AND t.code = s.id_bidx
                      AND f.id = s.pid)""", (ns,)).fetchall()
        rng.shuffle(rows)
        pids = [r[1] for r in rows]
        codes_of: dict[str, list[str]] = {}
        for pid, code in conn.execute("""
                SELECT r.target_id, t.code FROM fhir_idx_reference r
                JOIN fhir_idx_token t ON t.rid = r.rid AND t.param = 'code' AND t.system = %s
                WHERE r.res_type = 'Observation' AND r.param = 'patient' AND r.target_type = 'Patient'
                  AND r.target_id = ANY(%s)""", (LOINC, pids[: 2 * n])):
            codes_of.setdefault(pid, []).append(code)
        obs_total = patients * params["per_patient"]
        obs_rids = [base + patients + 1 + rng.randrange(obs_total) for _ in range(3 * n)]
        obs = conn.execute("""
                SELECT f.id, r.target_id, f.resource->'code'->'coding'->0->>'code',
                       f.resource->'code'->>'text', f.resource->>'effectiveDateTime' FROM fhir_resource f
                JOIN fhir_idx_reference r ON r.rid = f.rid AND r.param = 'subject'
                WHERE f.rid = ANY(%s) AND NOT f.deleted""", (obs_rids,)).fetchall()
        codes = [r[0] for r in conn.execute("SELECT code FROM bench_codes ORDER BY ci")]
        weights = [r[0] for r in conn.execute("SELECT weight FROM bench_codes ORDER BY ci")]
        surnames = [r[0] for r in conn.execute(
            "SELECT family FROM bench_patient_stage TABLESAMPLE SYSTEM (1) LIMIT 2000")]
    a_cases = [(pid, rng.choice(codes_of[pid])) for pid in pids[: 2 * n] if pid in codes_of]
    return {"params": params, "a": a_cases, "b": [(r[2], r[1]) for r in rows],  # (id_number, pid)
            "obs": obs, "codes": codes, "weights": weights, "surnames": surnames, "pids": pids}


# --- server -----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("w")
        env = bench_env(url)
        env["JIZUO_LOG_LEVEL"] = "warning"
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/jizuo"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"{self.base}/fhir/metadata", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit(f"server did not start; see {log_path}")

    def processes(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: the server and its workers only
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def postgres_processes(url: str) -> list[psutil.Process]:
    """Backends of the bench database only (other databases on the same cluster belong to other work)."""
    host = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&")).get("host") if "?" in url else None
    database = url.split("?", 1)[0].rsplit("/", 1)[-1]
    if not host:
        return []
    try:
        pid = int((Path(host) / "postmaster.pid").read_text().split()[0])
        children = psutil.Process(pid).children(recursive=True)
    except (OSError, ValueError, psutil.NoSuchProcess):
        return []
    found = []
    for p in children:
        try:
            if f" {database} " in " ".join(p.cmdline()) + " ":
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_by_pid(procs: list[psutil.Process]) -> dict[int, float]:
    found = {}
    for p in procs:
        try:
            t = p.cpu_times()
            found[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; processes started in between count from zero."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


# --- sequential latency ---------------------------------------------------------------------------------

def sign_in(base: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def measure(client: httpx.Client, series: Series, requests: list[tuple[str, Any]], warmup: int,
            budget_s: float) -> Series:
    """requests: (path, expectation); the first `warmup` are sent but not recorded; stops after budget_s."""
    deadline = time.perf_counter() + budget_s
    for i, (path, expect) in enumerate(requests):
        if time.perf_counter() > deadline and len(series.latencies) + series.errors >= 3:
            break  # over budget, but always at least three measured requests
        started = time.perf_counter()
        r = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if i < warmup:
            continue
        if r.status_code != 200:
            series.errors += 1
            continue
        series.latencies.append(elapsed)
        body = r.json()
        if body.get("resourceType") == "Bundle":
            entries = body.get("entry") or []
            series.hits.append(len(entries))
            if expect and not expect(entries):
                series.wrong += 1
        elif expect and not expect(body):
            series.wrong += 1
    return series


def observation_body(pid: str, code: tuple[str, str, str], rng: random.Random, res_id: str | None = None,
                     effective: str | None = None) -> dict[str, Any]:
    value = round(rng.uniform(3, 9), 1)
    body: dict[str, Any] = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}], "text": code[2]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": effective or time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.localtime()),
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                          "code": "mmol/L"},
    }
    if res_id:
        body["id"] = res_id
    return body


# --- concurrent throughput --------------------------------------------------------------------------------

async def throughput(base: str, token: str, cases: dict[str, Any], *, concurrency: int, seconds: float,
                     max_requests: int, mix: dict[str, float], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    ops, weights = zip(*mix.items(), strict=True)
    lat: dict[str, list[float]] = {op: [] for op in ops}
    errors: dict[str, int] = dict.fromkeys(ops, 0)
    error_samples: list[str] = []
    codes = [(c, c, c) for c in cases["codes"]]
    deadline = time.perf_counter() + seconds
    sent = 0
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            op = rng.choices(ops, weights)[0]
            if op == "read":
                res_id = rng.choice(cases["obs"])[0]
                call = client.get(f"/fhir/Observation/{res_id}")
            elif op == "search":
                if rng.random() < 0.5:
                    pid, code = rng.choice(cases["a"])
                    call = client.get("/fhir/Observation", params={"patient": pid, "code": code,
                                                                  "_sort": "-date", "_count": "20"})
                else:
                    number, _ = rng.choice(cases["b"])
                    call = client.get("/fhir/Patient", params={"identifier": f"{ID_SYSTEM}|{number}"})
            elif op == "create":
                call = client.post("/fhir/Observation", json=observation_body(rng.choice(cases["pids"]),
                                                                             rng.choice(codes), rng),
                                   headers={"Content-Type": "application/fhir+json",
                                            "Prefer": "return=minimal"})
            else:  # update: a corrected value of an existing observation (same code and date: the dataset's
                # search results stay as generated)
                res_id, pid, code, text, effective = rng.choice(cases["obs"])
                call = client.put(f"/fhir/Observation/{res_id}",
                                  json=observation_body(pid, (code, code, text), rng, res_id, effective),
                                  headers={"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})
            started = time.perf_counter()
            try:
                r = await call
                ok = r.status_code < 300
                if not ok and len(error_samples) < 5:
                    error_samples.append(f"{op} {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                if len(error_samples) < 5:
                    error_samples.append(f"{op} {exc!r}")
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                lat[op].append(elapsed)
            else:
                errors[op] += 1

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        cpu0 = time.process_time()
        await asyncio.gather(*[one(client) for _ in range(concurrency)])
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - cpu0
    done = sum(len(v) for v in lat.values())
    return {"wall_s": wall, "ok": done, "errors": sum(errors.values()), "rps": done / wall,
            "client_cpu_s": client_cpu, "error_samples": error_samples,
            "per_op": {op: {"n": len(v), "errors": errors[op], "p50": percentile(v, 50), "p95": percentile(v, 95),
                            "p99": percentile(v, 99)} for op, v in lat.items()}}


# --- EXPLAIN of the engine's SQL --------------------------------------------------------------------------

class _Capture:
    """Stands in for the AsyncSession: records the statements `search` would run."""

    def __init__(self) -> None:
        self.statements: list[Any] = []

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self.statements.append(statement)
        return []

    async def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> int:
        self.statements.append(statement)
        return 0

    async def scalars(self, statement: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self.statements.append(statement)
        return []


def engine_sql(res_type: str, params: list[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    """The main search statement exactly as jizuo.fhir.search.engine.search builds it for the doctor."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

    from jizuo.fhir.access import FhirAccess
    from jizuo.fhir.search.engine import search
    from jizuo.fhir.service import SearchBuilder

    capture = _Capture()
    asyncio.run(search(capture, res_type, params, FhirAccess(may_read=True, may_write=True, actor="doctor"),  # type: ignore[arg-type]
                       SearchBuilder(res_type, field_cipher())))
    compiled = capture.statements[0].compile(dialect=pg_psycopg.dialect(),
                                             compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def explain(url: str, res_type: str, cases: list[list[tuple[str, str]]], show_plan: bool) -> dict[str, Any]:
    times: list[float] = []
    plan_text = ""
    with psycopg.connect(to_sync_url(url), autocommit=True) as conn:
        for i, params in enumerate(cases):
            sql, binds = engine_sql(res_type, params)
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, binds).fetchone()[0]
            times.append(rows[0]["Execution Time"] + rows[0].get("Planning Time", 0))
            if show_plan and i == len(cases) - 1:
                plan_text = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, binds))
                plan_text = f"-- SQL:\n{sql}\n-- params: {binds}\n{plan_text}"
    return {"n": len(times), "p50": percentile(times, 50), "p95": percentile(times, 95), "max": max(times),
            "plan": plan_text}


# --- main ------------------------------------------------------------------------------------------------

def fmt(ms: float) -> str:
    return f"{ms:.1f}" if ms == ms else "-"


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=500, help="measured requests per query type (a, b, d)")
    parser.add_argument("--broad-requests", type=int, default=100, help="measured requests per broad search")
    parser.add_argument("--series-seconds", type=float, default=90, help="time budget of each latency series")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--crud-seconds", type=float, default=45)
    parser.add_argument("--search-seconds", type=float, default=20)
    parser.add_argument("--max-requests", type=int, default=300_000)
    parser.add_argument("--explain", type=int, default=30, help="EXPLAIN ANALYZE runs per query")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-http", action="store_true", help="only the EXPLAIN part")
    args = parser.parse_args()
    url = args.database_url
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")

    cases = load_cases(url, args.requests + args.warmup, args.seed)
    params = cases["params"]
    total = params["patients"] * (1 + params["per_patient"])
    with psycopg.connect(to_sync_url(url)) as conn:
        stored = conn.execute("SELECT count(*) FROM fhir_resource").fetchone()[0]
    print(f"dataset: {params['patients']:,} patients × {params['per_patient']} observations = {total:,} "
          f"generated resources ({stored:,} rows in fhir_resource now)")
    print(f"machine: {os.cpu_count()} cores, load average {load_average()} at start")
    codes = cases["codes"]
    broad_code = codes[len(codes) // 2]  # a mid-frequency code
    rare_code = codes[-1]
    surname = "王"

    a_params = [[("patient", pid), ("code", code), ("_sort", "-date"), ("_count", "20")] for pid, code in cases["a"]]
    b_params = [[("identifier", f"{ID_SYSTEM}|{number}")] for number, _ in cases["b"]]
    broad = {
        f"Observation?code={broad_code}&_count=20": ("Observation", [("code", broad_code), ("_count", "20")]),
        f"Observation?code={rare_code}&_count=20 (rarest)": ("Observation", [("code", rare_code), ("_count", "20")]),
        f"Patient?name={surname}&_count=20": ("Patient", [("name", surname), ("_count", "20")]),
        "Observation?date=ge2026-01-01&_count=20": ("Observation", [("date", "ge2026-01-01"), ("_count", "20")]),
    }
    results: dict[str, Any] = {"dataset": params, "stored_rows": stored, "started": stamp, "cores": os.cpu_count(),
                               "load_start": load_average()}

    print("\nEXPLAIN (ANALYZE, BUFFERS) of the engine's SQL (planning + execution, ms):")
    ex = {
        "(a) patient+code, -date": explain(url, "Observation", a_params[: args.explain], True),
        "(b) identifier (blind index)": explain(url, "Patient", b_params[: args.explain], True),
    }
    for label, (rtype, p) in broad.items():
        ex[label] = explain(url, rtype, [p] * max(3, args.explain // 10), True)
    print_table(["query", "runs", "p50", "p95", "max"],
                [(k, v["n"], fmt(v["p50"]), fmt(v["p95"]), fmt(v["max"])) for k, v in ex.items()])
    results["explain"] = ex
    plans_path = out_dir / f"fhir-search-plans-{stamp}.txt"
    plans_path.write_text("\n\n".join(f"=== {k}\n{v['plan']}" for k, v in ex.items()))
    print(f"plans: {plans_path.relative_to(ROOT)}")
    if args.skip_http:
        (out_dir / f"fhir-search-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
        return

    server = Server(url, args.workers, out_dir / f"fhir-search-server-{stamp}.log")
    try:
        token = sign_in(server.base)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        series: dict[str, Series] = {}
        with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
            w = args.warmup
            a_req = [(f"/fhir/Observation?patient={pid}&code={code}&_sort=-date&_count=20",
                      lambda e: len(e) > 0) for pid, code in cases["a"]][: args.requests + w]
            series["a"] = measure(client, Series("(a) Observation?patient=X&code=Y&_sort=-date&_count=20",
                                                 "p95 < 50 ms"), a_req, w, args.series_seconds)
            b_req = [(f"/fhir/Patient?identifier={ID_SYSTEM}%7C{number}",
                      (lambda want: lambda e: len(e) == 1 and e[0]["resource"]["id"] == want)(pid))
                     for number, pid in cases["b"]][: args.requests + w]
            series["b"] = measure(client, Series("(b) Patient?identifier=身份证|V", "p95 < 50 ms"), b_req, w,
                                 args.series_seconds)
            for label, (rtype, p) in broad.items():
                query = "&".join(f"{k}={v}" for k, v in p)
                reqs = [(f"/fhir/{rtype}?{query}", lambda e: len(e) == 20)] * (args.broad_requests + 1)
                series[label] = measure(client, Series(f"(c) {label}", "first page < 200 ms"), reqs, 1,
                                        args.series_seconds)
            d_req = [(f"/fhir/Observation/{o[0]}", (lambda i: lambda r: r.get("id") == i)(o[0]))
                     for o in cases["obs"]][: 2 * args.requests + w]
            series["d"] = measure(client, Series("(d) GET Observation/{id}", "p99 < 5 ms"), d_req, w,
                                 args.series_seconds)
        results["latency"] = {k: {"name": s.name, "n": len(s.latencies), "errors": s.errors, "wrong": s.wrong,
                                   "p50": s.p(50), "p95": s.p(95), "p99": s.p(99),
                                   "mean_hits": statistics.mean(s.hits) if s.hits else None}
                              for k, s in series.items()}
        print(f"\nsequential latency over HTTP (one client, ms), load average {load_average()}:")
        print_table(["query", "n", "err", "wrong", "hits", "p50", "p95", "p99"],
                    [(s.name, len(s.latencies), s.errors, s.wrong,
                      f"{statistics.mean(s.hits):.1f}" if s.hits else "-", fmt(s.p(50)), fmt(s.p(95)), fmt(s.p(99)))
                     for s in series.values()])

        runs: dict[str, Any] = {}
        for name, mix, seconds in [
            ("crud", {"read": 0.6, "search": 0.2, "create": 0.1, "update": 0.1}, args.crud_seconds),
            ("search", {"search": 1.0}, args.search_seconds),
        ]:
            s0, p0, load0 = cpu_by_pid(server.processes()), cpu_by_pid(postgres_processes(url)), load_average()
            run = asyncio.run(throughput(server.base, token, cases, concurrency=args.concurrency, seconds=seconds,
                                         max_requests=args.max_requests, mix=mix, seed=args.seed + len(runs)))
            run["server_cpu_s"] = cpu_used(s0, cpu_by_pid(server.processes()))
            # Lower bound: pool overflow connections that close during the run take their CPU time with them.
            run["postgres_cpu_s_lower_bound"] = cpu_used(p0, cpu_by_pid(postgres_processes(url)))
            run["load"] = f"{load0} → {load_average()}"
            runs[name] = run
            print(f"\n{name} mix, {args.concurrency} concurrent clients, {run['wall_s']:.0f}s: "
                  f"{run['rps']:.0f} req/s ({run['ok']} ok, {run['errors']} errors); CPU s used: server "
                  f"{run['server_cpu_s']:.0f}, postgres ≥{run['postgres_cpu_s_lower_bound']:.0f}, this client "
                  f"{run['client_cpu_s']:.0f} (of {2 * run['wall_s']:.0f} on 2 cores); load {run['load']}")
            print_table(["op", "n", "err", "p50", "p95", "p99"],
                        [(op, v["n"], v["errors"], fmt(v["p50"]), fmt(v["p95"]), fmt(v["p99"]))
                         for op, v in run["per_op"].items()])
            for sample in run["error_samples"]:
                print("  error:", sample)
        results["throughput"] = runs
    finally:
        server.stop()

    # --- summary ---------------------------------------------------------------------------------------
    lat = results["latency"]
    crud, srch = results["throughput"]["crud"], results["throughput"]["search"]
    broad_keys = list(broad)
    worst_broad = max(broad_keys, key=lambda k: lat[k]["p95"])
    rows = [
        ("(a) patient+code, _sort=-date", "p95 < 50 ms", f"{lat['a']['p95']:.1f} ms", lat["a"]["p95"] < 50,
         f"DB {ex['(a) patient+code, -date']['p95']:.1f} ms"),
        ("(b) Patient?identifier", "p95 < 50 ms", f"{lat['b']['p95']:.1f} ms", lat["b"]["p95"] < 50,
         f"DB {ex['(b) identifier (blind index)']['p95']:.1f} ms"),
        *[(f"(c) {k}", "< 200 ms", f"p95 {lat[k]['p95']:.1f} ms", lat[k]["p95"] < 200, f"DB {ex[k]['p95']:.1f} ms")
          for k in broad_keys],
        ("(d) read by id", "p99 < 5 ms", f"{lat['d']['p99']:.1f} ms", lat["d"]["p99"] < 5,
         f"p50 {lat['d']['p50']:.1f} ms"),
        ("(e) CRUD mix, 2 workers", "≥ 1,500 req/s", f"{crud['rps']:.0f} req/s", crud["rps"] >= 1500,
         f"HAPI {HAPI_CRUD_RPS:.0f} req/s on {HAPI_VCPU} vCPU: ×{crud['rps'] / HAPI_CRUD_RPS:.2f} raw, "
         f"×{crud['rps'] / 2 / (HAPI_CRUD_RPS / HAPI_VCPU):.2f} per core"),
        ("(f) search-only mix", "-", f"{srch['rps']:.0f} req/s", None,
         f"HAPI {HAPI_SEARCH_RPS:.0f} req/s on {HAPI_VCPU} vCPU: ×{srch['rps'] / HAPI_SEARCH_RPS:.2f} raw, "
         f"×{srch['rps'] / 2 / (HAPI_SEARCH_RPS / HAPI_VCPU):.2f} per core"),
    ]
    print(f"\nsummary ({total:,} generated resources, {os.cpu_count()} cores shared with other work, "
          f"load average {load_average()} at end; worst broad search: {worst_broad}):")
    print_table(["measure", "target", "measured", "result", "context / comparison"],
                [(m, t, v, "-" if ok is None else ("PASS" if ok else "MISS"), c) for m, t, v, ok, c in rows])
    print(f"\nHAPI figures are published, not run side by side: {HAPI_SOURCE}. No published HAPI p95 for these "
          "query shapes was found, so latencies have no HAPI ratio.")
    results["summary"] = [dict(zip(["measure", "target", "measured", "pass", "context"], r, strict=True))
                          for r in rows]
    results["load_end"] = load_average()
    path = out_dir / f"fhir-search-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
