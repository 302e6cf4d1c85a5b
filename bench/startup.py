"""Cold start of the platform after install (what `make demo` does past the install and build steps), a warm
restart on the same data, and the memory of the running server and its database.

    .venv/bin/python bench/startup.py [--residents 20000]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path, port: int, residents: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {**os.environ, "JIZUO_DATA_DIR": str(data_dir), "JIZUO_PORT": str(port),
           "JIZUO_DEMO_RESIDENTS": str(residents), "JIZUO_LOG_LEVEL": "warning"}
    env.pop("DATABASE_URL", None)
    began = time.perf_counter()
    process = subprocess.Popen([str(ROOT / ".venv/bin/jizuo"), "demo"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200 and \
                    httpx.get(f"{base}/ui/", timeout=5).status_code == 200:
                return process, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def memory_mb(process: subprocess.Popen[bytes], data_dir: Path) -> tuple[float, float]:
    server = psutil.Process(process.pid)
    app = sum(p.memory_info().rss for p in [server, *server.children(recursive=True)] if p.name() != "postgres")
    database = sum(p.memory_info().rss for p in psutil.process_iter(["name", "cmdline"])
                   if p.info["name"] == "postgres" and str(data_dir) in " ".join(p.info["cmdline"] or []))
    return app / 2**20, database / 2**20


def stop(process: subprocess.Popen[bytes]) -> float:
    began = time.perf_counter()
    process.send_signal(2)  # Ctrl-C, as a person would
    process.wait(timeout=60)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=20000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="jizuo-startup-"))
    try:
        print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
        process, cold = start(data_dir, free_port(), args.residents)
        app_mb, db_mb = memory_mb(process, data_dir)
        stopped = stop(process)
        process, warm = start(data_dir, free_port(), args.residents)
        stop(process)
        print(f"cold start (initdb + migrate + seed {args.residents} residents + serve): {cold:.1f} s")
        print(f"warm restart on existing data: {warm:.1f} s")
        print(f"memory after start: server {app_mb:.0f} MB, PostgreSQL {db_mb:.0f} MB")
        print(f"clean stop on Ctrl-C: {stopped:.1f} s")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
