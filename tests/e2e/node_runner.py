"""Runs a front end's Node browser tests (`npm run test:e2e`: node:test + playwright-core + Debian's Chromium)
against a live server, after checking that what they need is there."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_browser_tests(frontend: Path, built: list[Path], base_url: str) -> None:
    missing = _missing(frontend, built)
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    result = subprocess.run(["npm", "run", "--silent", "test:e2e"], cwd=frontend,
                            env={**os.environ, "BASE_URL": base_url}, capture_output=True, text=True, timeout=600)
    print(result.stdout[-20000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]


def _missing(frontend: Path, built: list[Path]) -> str | None:
    if not all(path.exists() for path in built):
        return f"{', '.join(str(p.relative_to(ROOT)) for p in built)} not built (run `make frontend`)"
    if not (frontend / "node_modules" / "playwright-core").exists():
        return "frontend dependencies are not installed (run `make frontend`)"
    if not shutil.which(os.environ.get("CHROMIUM_PATH", "chromium")):
        return "Chromium is not installed (run `make browser`)"
    return None
