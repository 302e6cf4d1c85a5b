"""Browser tests: Node's test runner drives Debian's Chromium (playwright-core) through the built console,
against a real `jizuo serve` process on its own seeded database."""

from __future__ import annotations

import pytest

from tests.e2e.node_runner import ROOT, run_browser_tests

pytestmark = [pytest.mark.e2e, pytest.mark.live]


def test_console_in_a_real_browser(live_server: str) -> None:
    run_browser_tests(ROOT / "frontend" / "console", [ROOT / "jizuo" / "web" / "console" / "index.html"], live_server)
