"""The CRUD mix of the FHIR issue measured with a load generator that does not compete for the CPU: `wrk`.

    .venv/bin/python bench/fhir_crud.py --database-url URL [--seconds 30] [--connections 32] [--workers 2]

bench/fhir_search.py drives its CRUD mix from a Python httpx client in the same 2-core machine; that client
spends about as much CPU as the server it measures, so its requests/s say as much about httpx as about Jizuo.
Here `wrk` (C, one thread per core, apt package `wrk`) sends the same mix — 60 % `GET Observation/{id}`, 20 %
search ((a) patient+code+sort or (b) 身份证 identifier, half each), 10 % create, 10 % update of an existing
observation (same code and date, a corrected value) — from pre-built requests for random patients, codes and
ids of the bench dataset (bench/fhir_dataset.py), to `jizuo serve --workers N` on a free port, signed in as
`doctor` (every read audited). It prints requests/s, latency percentiles over all requests, non-2xx per
operation, the CPU the server processes, PostgreSQL and wrk used, and the ratio against the published HAPI
figure (8 vCPU; not run here).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson  # noqa: E402
import psutil  # noqa: E402
from _common import ROOT, load_average  # noqa: E402
from fhir_search import (  # noqa: E402
    HAPI_CRUD_RPS,
    HAPI_VCPU,
    ID_SYSTEM,
    Server,
    cpu_by_pid,
    cpu_used,
    load_cases,
    observation_body,
    postgres_processes,
    sign_in,
)

MIX = (("read", 0.6), ("search", 0.2), ("create", 0.1), ("update", 0.1))
LUA = r"""
local requests = dofile(os.getenv("JIZUO_WRK_REQUESTS"))
local token = os.getenv("JIZUO_WRK_TOKEN")
local threads = {}
local position, op
ok = {read = 0, search = 0, create = 0, update = 0}
bad = {read = 0, search = 0, create = 0, update = 0}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  position = math.random(#requests)
end

function request()
  position = position % #requests + 1
  local r = requests[position]
  op = r[1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/fhir+json"}
  if r[4] then
    headers["Content-Type"] = "application/fhir+json"
    headers["Prefer"] = "return=minimal"
  end
  return wrk.format(r[2], r[3], headers, r[4])
end

function response(status, headers, body)
  if status < 300 then ok[op] = ok[op] + 1 else bad[op] = bad[op] + 1 end
end

function done(summary, latency, requests)
  local out = {requests = summary.requests, duration_us = summary.duration,
               p50 = latency:percentile(50), p95 = latency:percentile(95), p99 = latency:percentile(99),
               ok = {}, bad = {}}
  for _, name in ipairs({"read", "search", "create", "update"}) do
    out.ok[name], out.bad[name] = 0, 0
    for _, t in ipairs(threads) do
      out.ok[name] = out.ok[name] + t:get("ok")[name]
      out.bad[name] = out.bad[name] + t:get("bad")[name]
    end
  end
  local parts = {}
  for k, v in pairs(out) do
    if type(v) == "table" then
      local inner = {}
      for ik, iv in pairs(v) do table.insert(inner, string.format("%q:%d", ik, iv)) end
      table.insert(parts, string.format("%q:{%s}", k, table.concat(inner, ",")))
    else
      table.insert(parts, string.format("%q:%s", k, tostring(v)))
    end
  end
  io.write("JIZUO " .. "{" .. table.concat(parts, ",") .. "}\n")
end
"""


def lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def build_requests(cases: dict, n: int, seed: int, only: str | None = None
                   ) -> list[tuple[str, str, str, str | None]]:
    rng = random.Random(seed)
    ops, weights = zip(*((op, w) for op, w in MIX if only in (None, op)), strict=True)
    codes = [(c, c, c) for c in cases["codes"]]
    out: list[tuple[str, str, str, str | None]] = []
    for _ in range(n):
        op = rng.choices(ops, weights)[0]
        if op == "read":
            out.append((op, "GET", f"/fhir/Observation/{rng.choice(cases['obs'])[0]}", None))
        elif op == "search" and rng.random() < 0.5:
            pid, code = rng.choice(cases["a"])
            out.append((op, "GET", f"/fhir/Observation?patient={pid}&code={code}&_sort=-date&_count=20", None))
        elif op == "search":
            number, _ = rng.choice(cases["b"])
            out.append((op, "GET", f"/fhir/Patient?identifier={ID_SYSTEM}%7C{number}", None))
        elif op == "create":
            body = observation_body(rng.choice(cases["pids"]), rng.choice(codes), rng)
            out.append((op, "POST", "/fhir/Observation", orjson.dumps(body).decode()))
        else:
            res_id, pid, code, text, effective = rng.choice(cases["obs"])
            body = observation_body(pid, (code, code, text), rng, res_id, effective)
            out.append((op, "PUT", f"/fhir/Observation/{res_id}", orjson.dumps(body).decode()))
    return out


def write_lua(requests: list[tuple[str, str, str, str | None]], folder: Path) -> tuple[Path, Path]:
    table = ["return {"]
    for op, method, path, body in requests:
        table.append("{" + ",".join([lua_string(op), lua_string(method), lua_string(path),
                                     lua_string(body) if body else "nil"]) + "},")
    table.append("}")
    data = folder / "requests.lua"
    data.write_text("\n".join(table))
    script = folder / "mix.lua"
    script.write_text(LUA)
    return script, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--requests", type=int, default=4000, help="distinct pre-built requests, cycled")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", choices=[op for op, _ in MIX],
                        help="send one operation of the mix only (its server CPU per request)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cases = load_cases(args.database_url, args.requests // 2, args.seed)
    requests = build_requests(cases, args.requests, args.seed, args.only)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    server = Server(args.database_url, args.workers, out_dir / f"fhir-crud-server-{stamp}.log")
    try:
        token = sign_in(server.base)
        with tempfile.TemporaryDirectory() as tmp:
            script, data = write_lua(requests, Path(tmp))
            env = {"JIZUO_WRK_REQUESTS": str(data), "JIZUO_WRK_TOKEN": token, "PATH": "/usr/bin:/bin"}
            warm = subprocess.run(["wrk", "-t1", "-c4", "-d5s", "-s", str(script), f"{server.base}/"],
                                  env=env, capture_output=True, text=True)
            if warm.returncode != 0:
                raise SystemExit(warm.stderr)
            s0, p0, load0 = cpu_by_pid(server.processes()), cpu_by_pid(postgres_processes(args.database_url)), \
                load_average()
            started_cpu = psutil.cpu_times()
            run = subprocess.run(["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
                                  "--timeout", "30s", "-s", str(script), f"{server.base}/"],
                                 env=env, capture_output=True, text=True)
            ended_cpu = psutil.cpu_times()
        server_cpu = cpu_used(s0, cpu_by_pid(server.processes()))
        pg_cpu = cpu_used(p0, cpu_by_pid(postgres_processes(args.database_url)))
        line = next((ln for ln in run.stdout.splitlines() if ln.startswith("JIZUO ")), None)
        if line is None:
            raise SystemExit(run.stdout + run.stderr)
        result = json.loads(line.removeprefix("JIZUO "))
    finally:
        server.stop()
    wall = result["duration_us"] / 1e6
    ok = sum(result["ok"].values())
    busy = (ended_cpu.user + ended_cpu.system) - (started_cpu.user + started_cpu.system)
    rps = ok / wall
    print(f"machine: {psutil.cpu_count()} cores; load {load0} → {load_average()}; server workers {args.workers}; "
          f"wrk {args.threads} threads × {args.connections} connections, {wall:.0f} s")
    mix = f"only {args.only}" if args.only else "CRUD mix (60 % read, 20 % search, 10 % create, 10 % update)"
    print(f"{mix}: {rps:,.0f} req/s of 2xx "
          f"({ok:,} ok, {sum(result['bad'].values())} not 2xx: {result['bad']})")
    print(f"latency over all requests: p50 {result['p50'] / 1000:.1f} ms, p95 {result['p95'] / 1000:.1f} ms, "
          f"p99 {result['p99'] / 1000:.1f} ms")
    print(f"CPU seconds: server {server_cpu:.0f}, postgres ≥{pg_cpu:.0f}, whole machine {busy:.0f} of "
          f"{psutil.cpu_count() * wall:.0f}; server CPU per request {server_cpu / max(ok, 1) * 1000:.2f} ms")
    per_core = rps / 2 / (HAPI_CRUD_RPS / HAPI_VCPU)
    if not args.only:
        print(f"target ≥ 1,500 req/s: {'met' if rps >= 1500 else 'not met'}; published HAPI {HAPI_CRUD_RPS:,.0f} "
              f"req/s on {HAPI_VCPU} vCPU → ×{rps / HAPI_CRUD_RPS:.2f} raw, ×{per_core:.2f} per core")
    (out_dir / f"fhir-crud-{stamp}.json").write_text(json.dumps(
        {"rps": rps, "wall_s": wall, **result, "server_cpu_s": server_cpu, "postgres_cpu_s": pg_cpu,
         "load": [load0, load_average()], "workers": args.workers, "connections": args.connections,
         "only": args.only}, indent=2))


if __name__ == "__main__":
    main()
