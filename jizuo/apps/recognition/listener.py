"""Keeps the recognition projection in step with the FHIR store: every result write, in the writer's transaction.

Registered with the platform's FHIR access layer at import (`fhir_listeners.EXTRA_LISTENER_FACTORIES`), so every
path that writes through `FhirContext` — REST, transaction bundles, HL7 v2 and tabular ingest — feeds it. Bulk
COPY loads bypass listeners: `jizuo recognition rebuild` (tasks.py) fills the projection after them.
Projection runs in a savepoint: a failure here never loses the clinical write (a rebuild catches up).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition import repository
from jizuo.apps.recognition.catalogue import RESULT_TYPES, CodeMap
from jizuo.apps.recognition.extract import projection_rows
from jizuo.core.runtime import serving
from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored

log = logging.getLogger(__name__)


async def project(db: AsyncSession, batch: dict[tuple[str, str], dict[str, Any] | None], codes: CodeMap,
                  ranks: dict[str, int]) -> None:
    """The projection rows of written results (None: deleted), replaced set-wise."""
    rows = [row for (_, _), resource in batch.items() if resource is not None
            for row in projection_rows(resource, codes, ranks)]
    await repository.replace_projections(db, list(batch), rows)
    for (stored_type, stored_id), resource in batch.items():
        if stored_type == "DiagnosticReport" and resource is not None:
            results = [str(r.get("reference", "")).removeprefix("Observation/") for r in resource.get("result") or []
                       if isinstance(r, dict)]
            await repository.set_report_of_observations(db, stored_id, results)


REFERENCE_TTL = 30.0  # seconds a server process reuses the catalogue and the institution levels
_reference: tuple[float, CodeMap, dict[str, int]] | None = None


async def reference_data(db: AsyncSession) -> tuple[CodeMap, dict[str, int]]:
    """The active catalogue's code map and every institution's level rank. Loading them was the larger part of a
    single result write's CPU (all institutions, every request), so a serving process keeps them for
    REFERENCE_TTL; a catalogue edit in this process forgets them at once (`forget_reference_data`), other
    processes and registry level changes catch up within the TTL, and `jizuo recognition rebuild` re-derives
    everything."""
    global _reference
    if serving() and _reference is not None and time.monotonic() < _reference[0]:
        return _reference[1], _reference[2]
    codes = await repository.load_code_map(db)
    ranks = {key: org.rank for key, org in (await repository.institutions(db)).items()}
    if serving():
        _reference = (time.monotonic() + REFERENCE_TTL, codes, ranks)
    return codes, ranks


def forget_reference_data() -> None:
    global _reference
    _reference = None


class RecognitionListener:
    """One per request: the catalogue and institution levels are read once, at the request's first result.
    Inside a bundle or an ingest chunk the results are held and projected together when the context flushes."""

    def __init__(self) -> None:
        self.codes: CodeMap | None = None
        self.ranks: dict[str, int] = {}
        self.held: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def resource_written(self, ctx: FhirContext, stored: Stored) -> None:
        if stored.res_type not in RESULT_TYPES:
            return
        self.held[(stored.res_type, stored.id)] = None if stored.deleted else stored.resource
        if ctx.write_buffer is None:
            await self.flush(ctx)

    async def flush(self, ctx: FhirContext) -> None:
        if not self.held:
            return
        batch, self.held = self.held, {}
        try:
            async with ctx.db.begin_nested():
                if self.codes is None:
                    self.codes, self.ranks = await reference_data(ctx.db)
                await project(ctx.db, batch, self.codes, self.ranks)
        except Exception as exc:  # noqa: BLE001 — never lose the clinical write
            log.warning("recognition projection failed for %d results: %s", len(batch), type(exc).__name__,
                        exc_info=True)
            for res_type, res_id in batch:
                ctx.audit.record("recognition_project", res_type, res_id, "failure", {"error": type(exc).__name__})


def make_listener() -> RecognitionListener:
    return RecognitionListener()
