"""Shared helpers of the bench scripts: the dedicated embedded database, percentiles, tables."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / ".jizuo-bench"
BENCH_DB = "jizuo_bench"


def bench_env(database_url: str) -> dict[str, str]:
    """Environment for `jizuo` subprocesses: the bench database and the bench data dir (its cipher keys)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["JIZUO_DATA_DIR"] = str(BENCH_DIR)
    return env


def field_cipher():  # type: ignore[no-untyped-def]
    """The cipher the server will use: keys from the bench data dir (created on first use)."""
    from jizuo.core.config import Settings
    from jizuo.core.security import load_field_cipher

    return load_field_cipher(Settings(data_dir=BENCH_DIR))


def start_bench_postgres() -> str:
    from jizuo.core.embedded_pg import start_embedded_postgres

    return start_embedded_postgres(BENCH_DIR / "pg", BENCH_DB)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c + " " * (widths[i] - _width(c)) for i, c in enumerate(row)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    # `python bench/_common.py keep-pg`: start the bench server and hold it open (the wheel stops the server
    # when the last process that started it exits). Run under nohup while benchmarking.
    if sys.argv[1:] == ["keep-pg"]:
        print(start_bench_postgres(), flush=True)
        while True:
            time.sleep(3600)
    print("usage: python bench/_common.py keep-pg", file=sys.stderr)
    sys.exit(2)
