"""Health-station readings: readings/s ingested end to end, and alert latency (device POST → the alert in the
family doctor's list).

    JIZUO_PORT=8765 JIZUO_DATA_DIR=/tmp/bench-demo .venv/bin/jizuo demo &      # a demo server to measure
    .venv/bin/python bench/readings.py --base-url http://127.0.0.1:8765 [--readings 10000] [--batch 500]

1. Throughput: `--readings` BP/glucose/weight readings for demo residents (their synthetic 身份证 follow from
   the seed), in batches of `--batch`, `--workers` concurrent device connections with the demo device keys.
   Each batch returns when its readings are rows, FHIR Observations (validated, indexed) and alerts — committed.
2. Alert latency: `--alerts` single urgent readings (SBP ≥ 180) for the demo resident, each followed by polling
   the family doctor's open alerts until it is there; p50/p99 of reading sent → alert listed.
Prints figures; asserts nothing. The readings stay in the server's database (use a throw-away demo).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import percentile

from jizuo.apps.chronic.demo import DEMO_DEVICES, demo_resident_id_number
from jizuo.core.config import get_settings
from jizuo.platform.demo.generator import iter_residents

PASSWORD = "Jizuo@2026"


def make_batches(id_numbers: list[str], total: int, size: int, seed: int = 9) -> list[list[dict[str, object]]]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=400)
    readings: list[dict[str, object]] = []
    for n in range(total):
        at = (start + timedelta(seconds=37 * n)).isoformat()
        person = rng.choice(id_numbers)
        kind = rng.choices(["blood_pressure", "glucose_fasting", "weight"], [6, 3, 1])[0]
        if kind == "blood_pressure":  # below the urgent threshold: throughput, not alerts
            readings.append({"id_number": person, "kind": kind, "measured_at": at,
                             "systolic": rng.randint(110, 170), "diastolic": rng.randint(65, 100), "pulse": 70})
        else:
            readings.append({"id_number": person, "kind": kind, "measured_at": at,
                             "value": round(rng.uniform(5, 9), 1) if kind != "weight" else rng.randint(45, 90)})
    return [readings[i:i + size] for i in range(0, len(readings), size)]


async def throughput(base: str, batches: list[list[dict[str, object]]], workers: int) -> None:
    keys = [key for _code, _name, _station, key in DEMO_DEVICES]
    queue: asyncio.Queue[list[dict[str, object]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    latencies: list[float] = []

    async def worker(index: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=300) as client:
            while not queue.empty():
                batch = queue.get_nowait()
                t0 = time.perf_counter()
                response = await client.post("/api/v1/devices/readings", json={"readings": batch},
                                             headers={"X-Device-Key": keys[index % len(keys)]})
                response.raise_for_status()
                latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    elapsed = time.perf_counter() - started
    total = sum(len(b) for b in batches)
    print(f"throughput: {total} readings in {len(batches)} batches, {workers} workers: {elapsed:.1f} s "
          f"= {total / elapsed:,.0f} readings/s (batch p50 {percentile(latencies, 50):.2f} s, "
          f"p99 {percentile(latencies, 99):.2f} s)")


async def alert_latency(base: str, id_number: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        token = (await client.post("/api/v1/auth/token", data={"username": "family_doctor",
                                                               "password": PASSWORD})).json()["access_token"]
        doctor = {"Authorization": f"Bearer {token}"}
        key = {"X-Device-Key": DEMO_DEVICES[0][3]}
        latencies: list[float] = []
        for n in range(count):
            systolic = 181 + n % 100
            diastolic = 60 + n // 100  # with the systolic, unique within this run: the alert is recognisable
            t0 = time.perf_counter()
            response = await client.post("/api/v1/devices/readings", headers=key, json={
                "id_number": id_number, "kind": "blood_pressure", "measured_at": datetime.now(UTC).isoformat(),
                "systolic": systolic, "diastolic": diastolic})
            response.raise_for_status()
            reading_id = response.json()["results"][0]["id"]
            while True:
                listed = (await client.get("/api/v1/chronic/alerts", params={"status": "open", "limit": 20},
                                           headers=doctor)).json()["items"]
                if any(a["reading_id"] == reading_id for a in listed):
                    break
            latencies.append(time.perf_counter() - t0)
        print(f"alert latency ({count} urgent readings): p50 {percentile(latencies, 50) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--readings", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None, help="the server's JIZUO_DEMO_SEED")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else get_settings().demo_seed
    id_numbers = [r.id_number for r in iter_residents(seed, 2000)]
    asyncio.run(throughput(args.base_url, make_batches(id_numbers, args.readings, args.batch), args.workers))
    resident = demo_resident_id_number(seed)
    if resident and args.alerts:
        asyncio.run(alert_latency(args.base_url, resident, args.alerts))


if __name__ == "__main__":
    main()
