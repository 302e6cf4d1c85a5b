"""The tabular ingest pipeline: a held file → checked, de-duplicated, mapped records → FHIR via the MPI.

A batch is processed in chunks, each chunk one transaction that writes its records, their FHIR resources and
the batch's cursor together. A stop between chunks leaves the batch `processing` with its payload and cursor;
`resume_pending` finishes it later, and the (batch, row) unique key means a chunk is never recorded twice —
so a restart in the middle of a batch loses and duplicates nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import SHANGHAI, utcnow
from jizuo.core.security import FieldCipher, get_field_cipher
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.compiled import Compiled, compiled_dataset
from jizuo.platform.ingest.mapping import Lookups
from jizuo.platform.ingest.tabular import Table, read_table
from jizuo.platform.ingest.writer import SummarisingSink, system_context, write_records
from jizuo.platform.mpi.pending import link_pending
from jizuo.platform.quality.engine import Checked, Context, References, header_map

log = logging.getLogger(__name__)
CHUNK = 2000


@dataclass
class BatchState:
    """What one batch's processing knows across its chunks."""

    batch_id: uuid.UUID
    institution_id: uuid.UUID | None
    institution_code: str
    compiled: Compiled
    lookups: Lookups
    references: References
    actor: Actor
    patients_written: set[str] = field(default_factory=set)
    # The tabular pipeline links a chunk's Patients after the chunk commits, set-wise (`link_pending`); a
    # single record (a quarantine release) is linked in its own transaction by the listener.
    link_patients_here: bool = True
    seen_keys: set[tuple[Any, ...]] = field(default_factory=set)


def record_fingerprints(cipher: FieldCipher, key: Sequence[str], raw: dict[str, str]) -> tuple[str, str]:
    """Keyed hashes (HMAC-SM3) of the record key and content: comparable, but reveal no 身份证 or name."""
    record_key = cipher.blind_index("\x1f".join(key)).hex()
    content = cipher.blind_index(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()).hex()
    return record_key, content


def event_time(checked: Checked, event_field: str | None) -> datetime | None:
    value = checked.values.get(event_field) if event_field else None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SHANGHAI)
    return None


def rows_of(table: Table, fields_by_header: dict[str, str]) -> list[dict[str, str]]:
    columns = [(i, fields_by_header[h]) for i, h in enumerate(table.headers) if h in fields_by_header]
    return [{name: row[i] if i < len(row) else "" for i, name in columns} for row in table.rows]


async def load_state(db: AsyncSession, batch_id: uuid.UUID, dataset_code: str, institution_id: uuid.UUID | None,
                     actor: Actor) -> BatchState:
    compiled = await compiled_dataset(db, dataset_code)
    organizations = await repo.organization_lookup(db)
    practitioners = await repo.practitioner_lookup(db)
    code = (await repo.organization_code(db, institution_id) if institution_id else None) or "DISTRICT"
    return BatchState(batch_id, institution_id, code, compiled, Lookups(organizations, practitioners),
                      References(frozenset(organizations), frozenset(practitioners)), actor)


async def process_rows(db: AsyncSession, state: BatchState, rows: list[dict[str, str]], first_seq: int,
                       received_at: datetime, cipher: FieldCipher) -> dict[str, int]:
    """Check, de-duplicate, map and write one chunk; returns its counts. The caller commits."""
    validator, mapper = state.compiled.validator, state.compiled.mapper
    ctx = Context(received_at=received_at, references=state.references, seen_keys=state.seen_keys)
    checked = [validator.check(raw, ctx) for raw in rows]
    keys = [validator.key_of(c.values, raw) for c, raw in zip(checked, rows, strict=True)]
    prints = [record_fingerprints(cipher, k, raw) for k, raw in zip(keys, rows, strict=True)]
    latest = await repo.latest_by_key(db, validator.data_set.code, state.institution_id, [p[0] for p in prints])
    records: list[dict[str, Any]] = []
    to_write: list[list[dict[str, Any]]] = []
    write_index: list[int] = []
    superseded: list[int] = []
    counts = {"accepted": 0, "quarantined": 0, "duplicates": 0}
    for i, (result, raw, (record_key, content)) in enumerate(zip(checked, rows, prints, strict=True)):
        previous = latest.get(record_key)
        status = "accepted" if result.passed else "quarantined"
        if result.passed and previous and previous[1] == content and previous[2] != "quarantined":
            status = "duplicate"
        elif result.passed and previous and previous[2] == "quarantined":
            superseded.append(previous[0])  # a corrected re-send replaces the held record
        records.append({
            "batch_id": state.batch_id, "seq": first_seq + i, "dataset_code": validator.data_set.code,
            "institution_id": state.institution_id, "status": status, "record_key": record_key,
            "content_hash": content, "data_enc": cipher.encrypt(orjson.dumps(raw).decode()),
            "failures": [f.as_dict() for f in result.failures],
            "dimensions": sorted({f.dimension for f in result.failures}),
            "required_total": result.required_total, "required_filled": result.required_filled,
            "late": result.late, "event_at": event_time(result, validator.data_set.event_field),
            "received_at": received_at, "resources": [],
        })
        if status == "accepted":
            latest[record_key] = (0, content, "accepted")
            mapped = mapper.map(result.values, state.institution_code, keys[i], state.lookups)
            resources = mapped.resources
            if mapped.patient is not None and mapped.patient["id"] not in state.patients_written:
                resources = [mapped.patient, *resources]
                state.patients_written.add(mapped.patient["id"])  # once per batch: the MPI matches it once
            to_write.append(resources)
            write_index.append(i)
        counts["duplicates" if status == "duplicate" else status] += 1
    await write_mapped(db, state, records, to_write, write_index, counts)
    await repo.insert_records(db, records)
    await repo.resolve_records(db, superseded, "superseded", state.actor.username or "system", received_at,
                               "已由重新上传的记录替代")
    return counts


async def write_mapped(db: AsyncSession, state: BatchState, records: list[dict[str, Any]],
                 to_write: list[list[dict[str, Any]]], write_index: list[int], counts: dict[str, int]) -> None:
    sink = SummarisingSink()
    ctx = system_context(db, sink, state.actor.username or "system", link_patients=state.link_patients_here)
    result = await write_records(ctx, to_write)
    for n, i in enumerate(write_index):
        record = records[i]
        record["resources"] = result.written.get(n, [])
        if n in result.refused:
            record["status"] = "quarantined"
            record["failures"].append({"rule": "fhir.validation", "dimension": "conformity", "severity": "error",
                                       "message": result.refused[n], "field": None, "element": None})
            record["dimensions"] = sorted({*record["dimensions"], "conformity"})
            counts["accepted"] -= 1
            counts["quarantined"] += 1
    trail = AuditTrail()
    sink.write_to(trail, state.batch_id, actor=state.actor)
    await trail.flush(db)


async def process_batch(factory: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, *,
                        max_chunks: int | None = None, chunk_size: int = CHUNK, table: Table | None = None) -> None:
    """Process a held batch from its cursor to the end, one transaction per chunk (`max_chunks` stops early:
    what a crash would leave, for tests and the restart drill)."""
    cipher = get_field_cipher()
    async with factory() as db:
        batch = await repo.get_batch(db, batch_id)
        if batch is None or batch.status in ("done", "failed") or batch.payload is None:
            return
        assert batch.dataset_code is not None
        actor = Actor(username=batch.submitted_by, organization_code=None)
        state = await load_state(db, batch.id, batch.dataset_code, batch.institution_id, actor)
        state.link_patients_here = False
        # The upload endpoint has just parsed the file; a resumed batch parses its held payload.
        table = table or read_table(batch.payload, batch.filename, None)
        rows = rows_of(table, header_map(state.compiled.validator.data_set, state.compiled.catalogue,
                                         table.headers))
        cursor, received_at = batch.cursor, batch.created_at
    done = 0
    while cursor < len(rows):
        if max_chunks is not None and done >= max_chunks:
            return
        chunk = rows[cursor:cursor + chunk_size]
        async with factory() as db:
            counts = await process_rows(db, state, chunk, cursor + 1, received_at, cipher)
            cursor += len(chunk)
            await repo.add_counts(db, batch_id, cursor=cursor, received=len(chunk), **counts)
            await db.commit()
        # The chunk's new Patients join the MPI now; a stop before this leaves them pending, and the
        # restart's `resume_pending` (or `jizuo mpi link-pending`) links them.
        await link_pending(factory, cipher=cipher)
        done += 1
    async with factory() as db:
        await repo.finish_batch(db, batch_id, utcnow())
        await db.commit()


async def resume_pending(factory: async_sessionmaker[AsyncSession]) -> int:
    """Finish every batch a stop interrupted; returns how many. Called at start-up."""
    await link_pending(factory)  # Patients of a chunk that committed just before the stop
    async with factory() as db:
        pending = await repo.pending_batch_ids(db)
    for batch_id in pending:
        try:
            await process_batch(factory, batch_id)
        except Exception as exc:  # noqa: BLE001 — one broken batch must not stop the others
            log.exception("ingest batch %s failed", batch_id)
            async with factory() as db:
                await repo.finish_batch(db, batch_id, utcnow(), error=f"{type(exc).__name__}: {exc}"[:500])
                await db.commit()
    return len(pending)
