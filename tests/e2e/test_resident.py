"""Browser tests of the resident H5 (/h5/): Node's test runner drives Debian's Chromium (playwright-core) at phone
size through the built H5 and console, against the same `jizuo serve` process as the console's browser tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.live]
ROOT = Path(__file__).resolve().parents[2]
RESIDENT = ROOT / "frontend" / "resident"
BUILT = [ROOT / "jizuo" / "web" / "resident" / "index.html", ROOT / "jizuo" / "web" / "console" / "index.html"]


def _ready() -> str | None:
    if not all(path.exists() for path in BUILT):
        return "the resident H5 or the console is not built (run `make frontend`)"
    if not (RESIDENT / "node_modules" / "playwright-core").exists():
        return "frontend dependencies are not installed (run `make frontend`)"
    if not shutil.which(os.environ.get("CHROMIUM_PATH", "chromium")):
        return "Chromium is not installed (run `make browser`)"
    return None


def test_resident_h5_in_a_real_browser(live_server: str) -> None:
    missing = _ready()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    result = subprocess.run(
        ["npm", "run", "--silent", "test:e2e"],
        cwd=RESIDENT,
        env={**os.environ, "BASE_URL": live_server},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout[-20000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
