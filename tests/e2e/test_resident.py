"""Browser tests of the resident H5 (/h5/): Node's test runner drives Debian's Chromium (playwright-core) at phone
size through the built H5 and console, against the same `jizuo serve` process as the console's browser tests."""

from __future__ import annotations

import pytest

from tests.e2e.node_runner import ROOT, run_browser_tests

pytestmark = [pytest.mark.e2e, pytest.mark.live]


def test_resident_h5_in_a_real_browser(live_server: str) -> None:
    built = [ROOT / "jizuo" / "web" / name / "index.html" for name in ("resident", "console")]
    run_browser_tests(ROOT / "frontend" / "resident", built, live_server)
