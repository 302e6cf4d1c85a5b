"""Writes the audit rows of read-only requests in batches, off the request's path.

A read changes nothing, so its request has no transaction worth committing except for its audit rows — and
committing them one request at a time cost three round trips and a fifth of the CPU of a FHIR read. Instead the
request hands its rows to this writer, which inserts whatever has queued every few milliseconds in one
statement. What is given up: rows of reads in the last interval (10 ms by default) are lost if the process is
killed hard; an orderly stop writes them (`close`). That is the same order of risk as the
`synchronous_commit = off` the read path already used. Nothing is dropped under pressure: when the queue is
full or a write fails, `submit` refuses and the request writes its rows itself (docs/operations.md, "Audit").
Writes, denials and failures never come here; they are committed with the request's own transaction.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.platform.audit import repository

log = logging.getLogger(__name__)


class AuditWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, interval: float = 0.01,
                 max_queued: int = 20_000) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._max_queued = max_queued
        self._queued: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    def submit(self, rows: list[dict[str, Any]]) -> bool:
        """Queue the rows; False when the caller must write them itself (queue full or database failing)."""
        if self._task is None or self._failing or len(self._queued) + len(rows) > self._max_queued:
            return False
        self._queued.extend(rows)
        self._wake.set()
        return True

    async def flush(self) -> None:
        """Everything queued so far is in the database when this returns (audit queries call it first)."""
        async with self._lock:
            rows, self._queued = self._queued, []
            if not rows:
                return
            try:
                async with self._sessionmaker() as db:
                    await db.execute(text("SET LOCAL synchronous_commit TO off"))
                    await repository.insert_events(db, rows)
                    await db.commit()
                self._failing = False
            except Exception:
                self._queued[:0] = rows  # kept, in order, for the next attempt
                self._failing = True
                raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self._interval)  # let a batch gather
            try:
                await self.flush()
            except Exception:
                log.exception("audit writer: %d rows not yet written, retrying", len(self._queued))
                await asyncio.sleep(1.0)
                self._wake.set()
