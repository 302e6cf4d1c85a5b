"""HL7 v2 intake benchmark: ORU^R01 lab results over MLLP into a running server, and how soon they are searchable.

    .venv/bin/python bench/ingest_hl7.py [--messages 5000] [--patients 500] [--workers 1] [--probes 20]

1. Starts a private embedded PostgreSQL in a temporary directory, migrates it, seeds the demo registry
   (`jizuo demo-seed --residents 100`: institutions and accounts) and starts `jizuo serve` with the MLLP
   listener on (`JIZUO_MLLP_PORT`).
2. Registers `--patients` synthetic patients (valid 身份证, `make_id_number`) with ADT^A04 over one MLLP
   connection (timed as well: every one goes through the MPI).
3. Sends `--messages` generated ORU^R01 messages (one OBR, 5 OBX each: 5 Observations + 1 DiagnosticReport
   per message) over one connection, then as many again over 2 concurrent connections. A sender waits for
   each ACK before the next message, as HL7 senders do; every ACK must be AA.
4. Receipt-to-searchable delay: `--probes` more messages, each followed at once by
   GET /fhir/Observation?patient=…&code=… (as `doctor`) until the new result is returned.
Prints figures; asserts nothing but the ACK codes.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench._common import load_average, percentile  # noqa: E402
from jizuo.core.embedded_pg import start_embedded_postgres  # noqa: E402
from jizuo.core.idcard import make_id_number  # noqa: E402
from jizuo.platform.ingest.mapping import NAMESPACE  # noqa: E402

JIZUO = str(Path(sys.executable).with_name("jizuo"))
FACILITY = "JC-H001"
VT, END = b"\x0b", b"\x1c\r"
# (LOINC, name, unit, low, high)
PANEL = [("2345-7", "Glucose", "mmol/L", 3.9, 6.1), ("718-7", "Hemoglobin", "g/L", 115, 150),
         ("6690-2", "Leukocytes", "10*9/L", 3.5, 9.5), ("777-3", "Platelets", "10*9/L", 125, 350),
         ("2160-0", "Creatinine", "umol/L", 57, 111)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def patient_id(mrn: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"Patient|{FACILITY}|mrn:{mrn}"))


def registration(n: int, rng: random.Random) -> str:
    sex = rng.choice(("male", "female"))
    birth = date(rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28))
    id_card = make_id_number("310199", birth, 100 + n % 800, sex)
    family, given = rng.choice("王李张刘陈杨黄赵吴周"), rng.choice(["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳"])
    return (f"MSH|^~\\&|HIS|{FACILITY}|JIZUO|JIZUO|20261125080000||ADT^A04^ADT_A01|REG{n:06d}|P|2.5\r"
            f"EVN|A04|20261125080000\r"
            f"PID|1||B{n:05d}^^^{FACILITY}^MR~{id_card}^^^^ID||{family}^{given}||{birth:%Y%m%d}|"
            f"{'M' if sex == 'male' else 'F'}|||新华路{n}号^^申江市^上海||1380000{n:04d}")


def lab_result(n: int, mrn: str, rng: random.Random, probe_code: str | None = None) -> str:
    observed = f"202611{rng.randint(1, 24):02d}{rng.randint(7, 11):02d}{rng.randint(0, 59):02d}00"
    segments = [f"MSH|^~\\&|LIS|{FACILITY}|JIZUO|JIZUO|20261125120000||ORU^R01^ORU_R01|LAB{n:07d}|P|2.5",
                f"PID|1||{mrn}^^^{FACILITY}^MR",
                f"OBR|1|P{n:07d}|F{n:07d}|PANEL^常规生化^L|||{observed}|||||||||||||||{observed}|||F"]
    for i, (code, name, unit, low, high) in enumerate(PANEL, start=1):
        value = round(rng.uniform(low * 0.8, high * 1.2), 1)
        flag = "H" if value > high else "L" if value < low else "N"
        code = probe_code if probe_code and i == 1 else code
        segments.append(f"OBX|{i}|NM|{code}^{name}^LN||{value}|{unit}^^UCUM|{low}-{high}|{flag}|||F|||{observed}")
    return "\r".join(segments)


class Sender:
    """One MLLP connection that sends a message and waits for its ACK."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Sender:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, message: str) -> tuple[str, float]:
        started = time.perf_counter()
        self.writer.write(VT + message.encode() + END)
        await self.writer.drain()
        ack = (await self.reader.readuntil(END))[1:-2].decode()
        code = next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")[1]
        return code, time.perf_counter() - started

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def run_stream(port: int, messages: list[str]) -> tuple[list[float], list[str]]:
    sender = await Sender.connect(port)
    latencies, codes = [], []
    for message in messages:
        code, seconds = await sender.send(message)
        latencies.append(seconds)
        codes.append(code)
    await sender.close()
    return latencies, codes


async def run_phase(label: str, port: int, messages: list[str], connections: int, per_message: int) -> None:
    streams = [messages[i::connections] for i in range(connections)]
    started = time.perf_counter()
    results = await asyncio.gather(*(run_stream(port, s) for s in streams))
    seconds = time.perf_counter() - started
    latencies = [x for lat, _ in results for x in lat]
    codes = [c for _, cs in results for c in cs]
    wrong = len(codes) - codes.count("AA")
    rate = len(messages) / seconds
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(f"{label}: {len(messages):,} messages over {connections} connection(s) in {seconds:.1f}s = "
          f"{rate:,.0f} messages/s" + (f", {rate * per_message:,.0f} observations/s" if per_message else "")
          + f"; ACK latency p50 {p50:.1f} ms, p99 {p99:.1f} ms" + (f"; NOT AA: {wrong}" if wrong else "; all AA"))


async def probe_delays(port: int, base: str, token: str, probes: int, rng: random.Random) -> None:
    """Send a result with a code used nowhere else, then search for it until it is there."""
    sender = await Sender.connect(port)
    delays = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for i in range(probes):
            code = f"PROBE-{i}"
            mrn = f"B{i:05d}"
            started = time.perf_counter()
            ack, _ = await sender.send(lab_result(9_000_000 + i, mrn, rng, probe_code=code))
            assert ack == "AA", ack
            while True:
                found = (await client.get("/fhir/Observation", params={"patient": patient_id(mrn),
                                                                         "code": f"http://loinc.org|{code}"})).json()
                if found.get("entry"):
                    break
                await asyncio.sleep(0.005)
            delays.append(time.perf_counter() - started)
    await sender.close()
    print(f"receipt → searchable (send, ACK, then GET /fhir/Observation finds it), {probes} probes: "
          f"p50 {percentile(delays, 50) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms")


def wait_until_up(base: str, mllp_port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                with socket.create_connection(("127.0.0.1", mllp_port), timeout=1):
                    return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="ORU^R01 messages per phase")
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="`jizuo serve` worker processes")
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(20261125)
    data_dir = Path(tempfile.mkdtemp(prefix="jizuo-hl7-bench-"))
    # Registered before the database starts, so it runs after the database has stopped (atexit is LIFO).
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    server: subprocess.Popen[bytes] | None = None
    try:
        url = start_embedded_postgres(data_dir / "pg", "jizuo_hl7_bench")
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
              f"PostgreSQL {version[0] if version else '?'}; load average before: {load_average()}")
        port, mllp_port = free_port(), free_port()
        env = {**os.environ, "DATABASE_URL": url, "JIZUO_DATA_DIR": str(data_dir), "JIZUO_LOG_LEVEL": "warning",
               "JIZUO_MLLP_PORT": str(mllp_port), "JIZUO_DEMO_HISTORY_RESIDENTS": "100"}
        subprocess.run([JIZUO, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([JIZUO, "demo-seed", "--residents", "100"], env=env, check=True, capture_output=True)
        server = subprocess.Popen([JIZUO, "serve", "--port", str(port), "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, mllp_port, server)
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "doctor", "password": "Jizuo@2026"}
                           ).json()["access_token"]
        print(f"server: `jizuo serve --workers {args.workers}`, MLLP on 127.0.0.1:{mllp_port}; "
              f"{len(PANEL)} OBX per ORU^R01 (5 Observations + 1 DiagnosticReport written per message)")
        registrations = [registration(n, rng) for n in range(args.patients)]
        mrns = [f"B{n:05d}" for n in range(args.patients)]
        single = [lab_result(n, mrns[n % len(mrns)], rng) for n in range(args.messages)]
        double = [lab_result(args.messages + n, mrns[n % len(mrns)], rng) for n in range(args.messages)]

        async def run() -> None:
            await run_phase("ADT^A04 registrations (Patient + Encounter, MPI)", mllp_port, registrations, 1, 0)
            await run_phase("ORU^R01, 1 connection ", mllp_port, single, 1, len(PANEL))
            await run_phase("ORU^R01, 2 connections", mllp_port, double, 2, len(PANEL))
            await probe_delays(mllp_port, base, token, args.probes, rng)

        asyncio.run(run())
        print(f"load average after: {load_average()}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
