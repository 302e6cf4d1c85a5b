"""The MPI's hook into the FHIR layer: every Patient create/update/delete, in the writer's transaction.

Whatever feeds Patients in — FHIR REST, transaction bundles, NDJSON import, HL7 v2 ADT and tabular feeds once
they are mapped to FHIR — passes through `FhirContext.notify`, so this one listener links them all. Matching
runs in a savepoint: should it fail, the Patient is still stored (the MPI can catch up with a re-link), the
failure is logged and audited, and nothing is lost.
"""

from __future__ import annotations

import logging

from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored
from jizuo.platform.mpi import linking
from jizuo.platform.mpi.bulk_link import link_new_records
from jizuo.platform.mpi.matching import default_model

log = logging.getLogger(__name__)


class MpiListener:
    """Inside a transaction bundle (`ctx.write_buffer` set) Patients are held and linked together when the
    context flushes, by the set-wise path `jizuo mpi link-pending` uses (the same decisions, records of one
    person within the batch included); one by one, through `linking.ingest`, everywhere else and as the
    fallback should the batch fail."""

    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor or linking.SYSTEM_ACTOR
        self.held: dict[str, Stored] = {}

    async def resource_written(self, ctx: FhirContext, stored: Stored) -> None:
        if stored.res_type != "Patient":
            return
        if ctx.write_buffer is not None and not stored.deleted and stored.resource:
            self.held[stored.id] = stored  # a later version in the same bundle wins
            return
        self.held.pop(stored.id, None)
        await self._link_one(ctx, stored)

    async def flush(self, ctx: FhirContext) -> None:
        if not self.held:
            return
        batch, self.held = list(self.held.values()), {}
        pending = getattr(ctx.audit, "pending", None)
        audited = len(pending) if pending is not None else 0
        try:
            async with ctx.db.begin_nested():
                await link_new_records(ctx.db, ctx.audit, batch, ctx.cipher, default_model(), self.actor)
            return
        except Exception as exc:  # noqa: BLE001 — then one by one, each in its own savepoint
            log.warning("mpi linking of %d Patients together failed (%s): one by one", len(batch),
                        type(exc).__name__)
            if pending is not None:
                del pending[audited:]  # what it audited was rolled back with it
        for stored in batch:
            await self._link_one(ctx, stored)

    async def _link_one(self, ctx: FhirContext, stored: Stored) -> None:
        try:
            async with ctx.db.begin_nested():
                if stored.deleted or not stored.resource:
                    await linking.retire_deleted(ctx.db, ctx.audit, stored.id, self.actor)
                else:
                    await linking.ingest(ctx.db, ctx.audit, stored.id, stored.resource, stored.last_updated,
                                         ctx.cipher, actor=self.actor)
        except Exception as exc:  # noqa: BLE001 — the MPI must never lose the clinical write
            log.warning("mpi linking failed for Patient/%s: %s", stored.id, type(exc).__name__, exc_info=True)
            ctx.audit.record("mpi_link", "Patient", stored.id, "failure", {"error": type(exc).__name__})
