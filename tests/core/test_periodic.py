"""The lifespan's background loops (jizuo.core.periodic.run_every): a failing step is logged, and neither the
steps after it nor the next ticks are lost."""

from __future__ import annotations

import asyncio

import pytest

from jizuo.core.periodic import run_every


async def test_a_failing_step_neither_stops_the_loop_nor_the_steps_after_it(caplog: pytest.LogCaptureFixture
                                                                            ) -> None:
    ticks: list[str] = []

    async def broken() -> None:
        ticks.append("broken")
        raise RuntimeError("database restarting")

    async def fine() -> None:
        ticks.append("fine")
        if ticks.count("fine") == 3:
            raise asyncio.CancelledError  # ends the loop, as the lifespan's cancel does

    with pytest.raises(asyncio.CancelledError):
        await run_every(0, ("broken step", broken), ("fine step", fine))
    assert ticks == ["broken", "fine"] * 3
    assert caplog.text.count("broken step failed") == 3 and "RuntimeError" in caplog.text
