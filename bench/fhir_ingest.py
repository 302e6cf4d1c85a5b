"""FHIR ingest benchmark: bulk NDJSON import and transaction bundles over HTTP, on the embedded PostgreSQL.

    .venv/bin/python bench/fhir_ingest.py [--n 200000] [--workers 2] [--bundles 200]

1. Generates N resources with the demo clinical history generator into an NDJSON file, then imports the file
   into a fresh database with `jizuo.fhir.bulk.import_ndjson` (validation, 身份证 encryption, search index).
2. Starts `jizuo serve` on a free port against another fresh database (seeded with `jizuo demo-seed
   --residents 100` for the accounts) and POSTs transaction bundles of 100 PUT entries as `doctor` from
   --bundle-clients concurrent clients to `jizuo serve --workers --server-workers` (2 and 2: the whole machine).
The published figures it is compared with (Health Samurai's 2025 FHIR server benchmark, 8 vCPU) were measured
on other hardware with other data: the ratio is a comparison against published figures, not a side-by-side run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("JIZUO_DATA_DIR", str(ROOT / ".jizuo-bench"))

import httpx  # noqa: E402
import orjson  # noqa: E402
import psycopg  # noqa: E402

from jizuo.core.config import get_settings  # noqa: E402
from jizuo.core.db import resolve_database_url  # noqa: E402
from jizuo.fhir.bulk import import_ndjson  # noqa: E402
from jizuo.migrations import upgrade_to_head  # noqa: E402
from jizuo.platform.demo.clinical import generate_clinical_history  # noqa: E402
from jizuo.platform.demo.generator import build_structure, iter_residents  # noqa: E402

SEED = 20261125
PUBLISHED = {"Aidbox": (1700, 2700), "HAPI FHIR": (900, 2200)}  # resources/s, 8 vCPU, Health Samurai 2025
JIZUO = str(Path(sys.executable).with_name("jizuo"))


def fresh_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlparse(server_url)._replace(path=f"/{name}").geturl()


def resources(n: int, skip_residents: int = 0) -> list[dict[str, object]]:
    organizations, _, practitioners, teams = build_structure(SEED)
    out: list[dict[str, object]] = []
    residents = iter_residents(SEED, 10_000_000)
    for _ in range(skip_residents):
        next(residents)
    for resource in generate_clinical_history(residents, organizations, practitioners, SEED, teams=teams):
        out.append(resource)
        if len(out) >= n:
            return out
    return out


def drop_database(server_url: str, name: str) -> None:
    """Benchmark databases hold millions of index rows: do not leave gigabytes behind."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    return f"nproc={os.cpu_count()}, PostgreSQL {version[0] if version else '?'}, Python {sys.version.split()[0]}"


def compare(rate: float) -> str:
    return "; ".join(f"{name} {low:,}–{high:,}/s → ×{rate / high:.1f}–×{rate / low:.1f}"
                     for name, (low, high) in PUBLISHED.items())


def bench_bulk(server_url: str, n: int, workers: int) -> None:
    url = fresh_database(server_url, "jizuo_bench_bulk")
    upgrade_to_head(url)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.ndjson"
        started = time.perf_counter()
        data = resources(n)
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in data))
        print(f"generated {len(data):,} resources ({path.stat().st_size / len(data):,.0f} B average) "
              f"in {time.perf_counter() - started:.1f}s")
        report = asyncio.run(import_ndjson(url, path, workers=workers))
    rows = report.accepted + report.index_rows
    print(f"bulk import: {report.accepted:,} resources in {report.seconds:.1f}s = "
          f"{report.resources_per_second:,.0f} resources/s, {rows / report.seconds:,.0f} rows/s "
          f"(resource + {report.index_rows:,} index rows), rejected {report.rejected_count}")
    print(f"  vs published figures: {compare(report.resources_per_second)}")
    drop_database(server_url, "jizuo_bench_bulk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_all(base: str, headers: dict[str, str], payloads: list[bytes]) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        for payload in payloads:
            client.post("/fhir", content=payload, headers=headers).raise_for_status()


def send_concurrently(base: str, headers: dict[str, str], payloads: list[bytes], clients: int) -> None:
    """`clients` connections at once, each sending its share (prepared bytes: little client CPU)."""
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda part: post_all(base, headers, part), [payloads[i::clients] for i in range(clients)]))


def bench_http(server_url: str, bundles: int, clients: int, workers: int) -> None:
    url = fresh_database(server_url, "jizuo_bench_http")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([JIZUO, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([JIZUO, "demo-seed", "--residents", "100"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([JIZUO, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(100):
                try:
                    if client.get("/fhir/metadata").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            token = client.post("/api/v1/auth/token", data={"username": "doctor", "password": "Jizuo@2026"})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}",
                       "Content-Type": "application/fhir+json"}
            data = resources(bundles * 100, skip_residents=100)
            payloads = [orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                for r in data[i:i + 100]]}) for i in range(0, len(data), 100)]
        # Warm-up: every worker's first-use model building. Concurrent connections, so that each worker gets some.
        warm, measured = payloads[:2 * workers], payloads[2 * workers:]
        send_concurrently(base, headers, warm, max(clients, workers))
        started = time.perf_counter()
        send_concurrently(base, headers, measured, clients)
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_database(server_url, "jizuo_bench_http")
    count = 100 * len(measured)
    rate = count / seconds
    print(f"HTTP transaction bundles (100 PUT entries, {clients} client(s), {workers} server worker(s)): "
          f"{count:,} resources in {seconds:.1f}s = {rate:,.0f} resources/s")
    print(f"  vs published figures: {compare(rate)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="resources for the bulk import")
    parser.add_argument("--workers", type=int, default=2, help="validation processes of the bulk import")
    parser.add_argument("--bundles", type=int, default=200, help="transaction bundles of 100 over HTTP (0: skip)")
    parser.add_argument("--bundle-clients", type=int, default=2, help="concurrent clients sending the bundles")
    parser.add_argument("--server-workers", type=int, default=2, help="`jizuo serve --workers` for the bundles")
    args = parser.parse_args()
    server_url = resolve_database_url(get_settings())
    print(f"machine: {machine(server_url)}")
    bench_bulk(server_url, args.n, args.workers)
    if args.bundles:
        bench_http(server_url, args.bundles + 2 * args.server_workers, args.bundle_clients, args.server_workers)
    print("Published figures: Health Samurai FHIR server benchmark 2025 (8 vCPU): Aidbox 1.7–2.7k/s, "
          "HAPI 0.9–2.2k/s. A comparison against published figures, not a side-by-side run.")


if __name__ == "__main__":
    main()
