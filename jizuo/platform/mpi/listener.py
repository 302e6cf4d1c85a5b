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

log = logging.getLogger(__name__)


class MpiListener:
    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor or linking.SYSTEM_ACTOR

    async def resource_written(self, ctx: FhirContext, stored: Stored) -> None:
        if stored.res_type != "Patient":
            return
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
