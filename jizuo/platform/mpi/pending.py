"""`jizuo mpi link-pending`: link the Patients that reached the FHIR store without passing the MPI listener.

NDJSON file imports (`jizuo fhir import`) and the demo's clinical history are written by COPY over
connections of their own, with no FhirContext and so no write listener. This finds every Patient the index
has not caught up with (never seen, changed since it was linked, re-created after a delete, or deleted while
still linked) and runs it through exactly what the listener runs — `linking.ingest`: deterministic rules,
then Fellegi–Sunter, review items between the thresholds — or `linking.retire_deleted`.

- In chunks, one transaction each, in the order the Patients were stored (rid), so earlier registrations
  are the ones later ones are matched against, as the listener would have seen them.
- Idempotent and resumable: what is pending is a state of the tables, not a cursor. A second run finds
  nothing; an interrupted run continues where it stopped (committed chunks are done).
- Each record in a savepoint: a record that cannot be linked is logged, audited as a failure and left
  pending for the next run; the rest of the chunk goes on.
- Runners take turns per chunk (an advisory lock), so two concurrent runs never link one record twice.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.security import FieldCipher, get_field_cipher
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.mpi import linking
from jizuo.platform.mpi import repository as repo
from jizuo.platform.mpi.bulk_link import link_new_records, outcome_of
from jizuo.platform.mpi.matching import default_model

log = logging.getLogger(__name__)
PENDING_ACTOR = "system:mpi-link-pending"
RUNNER_LOCK_KEY = -1  # in linking.LOCK_NAMESPACE, beside the 0..255 matching stripes
DEFAULT_CHUNK = 500


@dataclass
class PendingReport:
    processed: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)  # link:<method> | review | new | kept | retired

    @property
    def per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        done = self.outcomes
        links = sum(n for k, n in done.items() if k.startswith("link:"))
        return (f"主索引补关联完成：处理 {self.processed} 条患者记录（自动关联 {links}，新建人员 {done['new']}，"
                f"待审核 {done['review']}，保留人工关联 {done['kept']}，删除退出 {done['retired']}），"
                f"失败 {self.failed}；用时 {self.seconds:.1f} 秒，{self.per_second:,.0f} 条/秒")

    def as_dict(self) -> dict[str, Any]:
        return {"processed": self.processed, "failed": self.failed, "chunks": self.chunks,
                "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 1),
                "outcomes": dict(self.outcomes)}


async def _link_one(db: AsyncSession, trail: AuditTrail, row: Any, cipher: FieldCipher, report: PendingReport
                    ) -> None:
    """The listener's path, one record in a savepoint: changed, re-created or deleted Patients (and the
    fallback when a chunk of new ones could not be linked together)."""
    try:
        async with db.begin_nested():
            if row.deleted or not row.resource:
                await linking.retire_deleted(db, trail, row.id, PENDING_ACTOR)
                outcome = "retired"
            else:
                outcome = outcome_of(await linking.ingest(db, trail, row.id, row.resource, row.last_updated, cipher,
                                                          actor=PENDING_ACTOR, model=default_model()))
        report.outcomes[outcome] += 1
    except Exception as exc:  # noqa: BLE001 — one bad record must not stop the rest; it stays pending
        log.warning("mpi link-pending failed for Patient/%s: %s", row.id, type(exc).__name__, exc_info=True)
        trail.record("mpi_link", "Patient", row.id, "failure", {"error": type(exc).__name__, "by": "link-pending"})
        report.failed += 1
    report.processed += 1


async def _link_chunk(db: AsyncSession, trail: AuditTrail, rows: list[Any], cipher: FieldCipher,
                      report: PendingReport, together: bool) -> None:
    new = [row for row in rows if not row.known and not row.deleted and row.resource] if together else []
    if new:
        audited = len(trail.pending)
        try:
            async with db.begin_nested():
                outcomes = await link_new_records(db, trail, new, cipher, default_model(), PENDING_ACTOR)
            report.outcomes.update(outcomes)
            report.processed += len(new)
        except Exception as exc:  # noqa: BLE001 — then one by one, each in its own savepoint
            log.warning("mpi link-pending: chunk failed (%s), linking its records one by one", type(exc).__name__)
            del trail.pending[audited:]  # what it audited was rolled back with it
            new = []
    done = {row.id for row in new}
    for row in rows:
        if row.id not in done:
            await _link_one(db, trail, row, cipher, report)


async def _merge_gin_pending_list(db: AsyncSession) -> None:
    try:
        async with db.begin_nested():
            await repo.merge_gin_pending_list(db)
    except Exception as exc:  # noqa: BLE001 — only slower without it (e.g. a role that does not own the index)
        log.info("mpi link-pending: GIN pending list not merged (%s)", type(exc).__name__)


async def link_pending(sessionmaker: async_sessionmaker[AsyncSession], *, cipher: FieldCipher | None = None,
                       chunk: int = DEFAULT_CHUNK, limit: int | None = None, together: bool = True) -> PendingReport:
    """Link every pending Patient (or the first `limit`), `chunk` per transaction. New records are linked a
    chunk at a time (`bulk_link`); `together=False` sends every record through `linking.ingest` instead."""
    cipher = cipher or get_field_cipher()
    report = PendingReport()
    started = time.perf_counter()
    after = 0
    while limit is None or report.processed < limit:
        async with sessionmaker() as db:
            await db.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                             {"ns": linking.LOCK_NAMESPACE, "key": RUNNER_LOCK_KEY})
            size = chunk if limit is None else min(chunk, limit - report.processed)
            rows = await repo.pending_patients(db, after, size)
            if not rows:
                await db.rollback()
                break
            trail = AuditTrail(actor=Actor(username=PENDING_ACTOR, role="system"), purpose="management")
            if together:
                await _merge_gin_pending_list(db)
            after = rows[-1].rid
            await _link_chunk(db, trail, list(rows), cipher, report, together)
            await trail.flush(db)
            await db.commit()
            report.chunks += 1
            log.info("mpi link-pending: %d records in %.1f s", report.processed, time.perf_counter() - started)
    report.seconds = time.perf_counter() - started
    return report


async def link_pending_at(database_url: str, *, cipher: FieldCipher | None = None, chunk: int = DEFAULT_CHUNK,
                          limit: int | None = None) -> PendingReport:
    """`link_pending` over an engine of its own (the CLI, the demo seed, the bulk-import hook)."""
    from jizuo.core.db import make_engine, make_sessionmaker

    engine = make_engine(database_url, pool_size=1)
    try:
        return await link_pending(make_sessionmaker(engine), cipher=cipher, chunk=chunk, limit=limit)
    finally:
        await engine.dispose()


async def link_after_bulk_import(database_url: str, report: Any, cipher: FieldCipher) -> None:
    """The bulk-import hook: link what the import wrote. Never fails the import — the data is stored; a later
    `jizuo mpi link-pending` catches up."""
    if not (report.created or report.updated):
        return
    try:
        linked = await link_pending_at(database_url, cipher=cipher)
    except Exception:  # noqa: BLE001
        log.exception("mpi link-pending after bulk import failed; run `jizuo mpi link-pending`")
        return
    if linked.processed:
        log.info("%s", linked.summary())


def register_bulk_import_hook() -> None:
    from jizuo.fhir.bulk.importer import add_import_listener

    add_import_listener(link_after_bulk_import)
