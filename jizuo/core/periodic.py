"""The background loops started in the app's lifespan: run some steps, sleep, again — forever."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Step = tuple[str, Callable[[], Awaitable[object]]]  # (what it does, for the log; the step)


async def run_every(seconds: float, *steps: Step) -> None:
    """Each step in turn, then `seconds` of sleep. A failing step is logged and tried again next tick (the
    database may be restarting); it never stops the loop or the steps after it."""
    while True:
        for name, step in steps:
            try:
                await step()
            except Exception:  # noqa: BLE001 — see the docstring
                log.exception("%s failed", name)
        await asyncio.sleep(seconds)
