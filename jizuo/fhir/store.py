"""The FHIR resource store: every SQL statement that reads or writes resources, versions and index rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.fhir.models import INDEX_TABLES, FhirHistory, FhirResource, idx_reference
from jizuo.fhir.searchparams import IndexRows, extract_index


@dataclass(frozen=True)
class Stored:
    rid: int
    res_type: str
    id: str
    version: int
    last_updated: datetime
    deleted: bool
    resource: dict[str, Any] | None

    @property
    def method(self) -> str:
        """How this version came to be, for history bundles: derived, so never out of step."""
        return "DELETE" if self.deleted else ("POST" if self.version == 1 else "PUT")


def _stored(row: Any) -> Stored:
    return Stored(row.rid, row.res_type, row.id, row.version, row.last_updated, row.deleted, row.resource)


_CURRENT = select(FhirResource.rid, FhirResource.res_type, FhirResource.id, FhirResource.version,
                  FhirResource.last_updated, FhirResource.deleted, FhirResource.resource)


async def get_current(db: AsyncSession, res_type: str, res_id: str, *, for_update: bool = False) -> Stored | None:
    query = _CURRENT.where(FhirResource.res_type == res_type, FhirResource.id == res_id)
    if for_update:
        query = query.with_for_update()
    row = (await db.execute(query)).first()
    return _stored(row) if row else None


async def get_current_many(db: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
    """Current rows of many (type, id) at once, locked for update (a transaction's PUT entries)."""
    if not keys:
        return {}
    rows = await db.execute(_CURRENT.where(tuple_(FhirResource.res_type, FhirResource.id).in_(list(keys)))
                            .with_for_update())
    return {(row.res_type, row.id): _stored(row) for row in rows}


async def get_by_rids(db: AsyncSession, rids: Sequence[int]) -> list[Stored]:
    """Current, non-deleted resources in the order of `rids`."""
    if not rids:
        return []
    rows = {row.rid: _stored(row) for row in await db.execute(
        _CURRENT.where(FhirResource.rid.in_(list(rids)), FhirResource.deleted.is_(False)))}
    return [rows[rid] for rid in rids if rid in rows]


async def get_version(db: AsyncSession, res_type: str, res_id: str, version: int) -> Stored | None:
    current = await get_current(db, res_type, res_id)
    if current is None:
        return None
    if current.version == version:
        return current
    row = (await db.execute(select(FhirHistory).where(
        FhirHistory.rid == current.rid, FhirHistory.version == version))).scalar_one_or_none()
    if row is None:
        return None
    return Stored(row.rid, row.res_type, row.id, row.version, row.last_updated, row.deleted, row.resource)


class WriteBuffer:
    """New resources, version replacements and index rows held back until a transaction bundle's end (or its
    next read), then written with one multi-row statement per table instead of up to ten per entry. Row ids are
    drawn from the sequence in blocks, so buffered rows already have their final `rid`."""

    BLOCK = 500

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []
        self.index: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
        self.history: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.stale: set[int] = set()
        self._free_rids: list[int] = []

    async def next_rid(self, db: AsyncSession) -> int:
        if not self._free_rids:
            rows = await db.scalars(select(func.nextval("fhir_resource_rid_seq"))
                                    .select_from(func.generate_series(1, self.BLOCK)))
            self._free_rids = sorted(rows, reverse=True)
        return self._free_rids.pop()

    def add_index(self, rid: int, resource: dict[str, Any], token_replacements: dict[str, str]) -> None:
        self.index[rid] = (resource, token_replacements)  # a later version of the same rid wins

    def replace(self, history_row: dict[str, Any], new_row: dict[str, Any], resource: dict[str, Any] | None,
                token_replacements: dict[str, str]) -> None:
        rid = history_row["rid"]
        self.history.append(history_row)
        self.updates.append(new_row)
        self.stale.add(rid)
        self.index.pop(rid, None)
        if resource is not None:
            self.add_index(rid, resource, token_replacements)

    async def flush(self, db: AsyncSession) -> None:
        resources, self.resources = self.resources, []
        history, self.history = self.history, []
        updates, self.updates = self.updates, []
        stale, self.stale = self.stale, set()
        items, self.index = self.index, {}
        if history:
            await db.execute(insert(FhirHistory), history)
        if updates:
            await db.execute(update(FhirResource), updates)
        if stale:
            await delete_index(db, sorted(stale))
        if resources:
            await db.execute(insert(FhirResource), resources)
        await write_index(db, [(rid, resource, replacements) for rid, (resource, replacements) in items.items()])


async def insert_resource(db: AsyncSession, resource: dict[str, Any], now: datetime,
                          token_replacements: dict[str, str], buffer: WriteBuffer | None = None) -> Stored:
    row = {"res_type": resource["resourceType"], "id": resource["id"], "version": 1, "last_updated": now,
           "deleted": False, "resource": resource}
    if buffer is not None:
        rid = await buffer.next_rid(db)
        buffer.resources.append({"rid": rid, **row})
        buffer.add_index(rid, resource, token_replacements)
    else:
        inserted = await db.scalar(insert(FhirResource).values(**row).returning(FhirResource.rid))
        assert inserted is not None
        rid = int(inserted)
        await write_index(db, [(rid, resource, token_replacements)])
    return Stored(rid, resource["resourceType"], resource["id"], 1, now, False, resource)


async def replace_resource(db: AsyncSession, current: Stored, resource: dict[str, Any] | None, now: datetime,
                           token_replacements: dict[str, str], buffer: WriteBuffer | None = None) -> Stored:
    """Keep the current version in history, then write the new one (or a deletion marker)."""
    history_row = {"rid": current.rid, "version": current.version, "res_type": current.res_type, "id": current.id,
                   "last_updated": current.last_updated, "deleted": current.deleted, "resource": current.resource}
    version, deleted = current.version + 1, resource is None
    new_row = {"rid": current.rid, "version": version, "last_updated": now, "deleted": deleted,
               "resource": resource if resource is not None else current.resource}
    if buffer is not None:
        buffer.replace(history_row, new_row, resource, token_replacements)
    else:
        await db.execute(insert(FhirHistory), [history_row])
        await db.execute(update(FhirResource), [new_row])  # ORM bulk UPDATE by primary key (rid)
        await delete_index(db, [current.rid])
        if resource is not None:
            await write_index(db, [(current.rid, resource, token_replacements)])
    return Stored(current.rid, current.res_type, current.id, version, now, deleted, resource)


def index_rows(rid: int, resource: dict[str, Any], token_replacements: dict[str, str]) -> IndexRows:
    rows = extract_index(resource)
    if token_replacements:
        rows.tokens = [(param, system, token_replacements.get(code or "", code), None if code in
                        token_replacements else display) for param, system, code, display in rows.tokens]
    return rows


COPY_FROM = 200  # index rows of one table: from here COPY beats a multi-row INSERT (measured: device readings)
_COLUMNS = {name: [c.name for c in table.columns] for name, table in INDEX_TABLES.items()}


async def write_index(db: AsyncSession, items: Iterable[tuple[int, dict[str, Any], dict[str, str]]]) -> None:
    batches: dict[str, list[tuple[Any, ...]]] = {name: [] for name in INDEX_TABLES}
    for rid, resource, replacements in items:
        rows = index_rows(rid, resource, replacements)
        res_type = resource["resourceType"]
        for name, batch in batches.items():
            batch.extend((rid, res_type, *values) for values in getattr(rows, name))
    for name, batch in batches.items():
        if not batch:
            continue
        copier = await _copier(db) if len(batch) >= COPY_FROM else None
        if copier is not None:
            await copier.copy_records_to_table(INDEX_TABLES[name].name, records=batch, columns=_COLUMNS[name])
        else:
            columns = _COLUMNS[name]
            await db.execute(insert(INDEX_TABLES[name]), [dict(zip(columns, row, strict=True)) for row in batch])


async def _copier(db: AsyncSession) -> Any:
    """The session's asyncpg connection, for COPY — only inside the session's open transaction (a COPY outside
    one would commit on its own); None otherwise, and the caller INSERTs instead."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    return driver if driver is not None and hasattr(driver, "copy_records_to_table") \
        and driver.is_in_transaction() else None


async def delete_index(db: AsyncSession, rids: Sequence[int]) -> None:
    for table in INDEX_TABLES.values():
        await db.execute(delete(table).where(table.c.rid.in_(list(rids))))


async def patient_ids_referenced(db: AsyncSession, rid: int) -> set[str]:
    rows = await db.scalars(select(idx_reference.c.target_id).where(
        idx_reference.c.rid == rid, idx_reference.c.target_type == "Patient"))
    return {r for r in rows if r}


async def history(db: AsyncSession, *, res_type: str | None, res_id: str | None, since: datetime | None,
                  limit: int) -> list[Stored]:
    """Newest first: current versions and earlier ones, of one resource, one type, or everything."""
    current = select(FhirResource.rid, FhirResource.res_type, FhirResource.id, FhirResource.version,
                     FhirResource.last_updated, FhirResource.deleted, FhirResource.resource)
    past = select(FhirHistory.rid, FhirHistory.res_type, FhirHistory.id, FhirHistory.version,
                  FhirHistory.last_updated, FhirHistory.deleted, FhirHistory.resource)
    for model in (FhirResource, FhirHistory):
        conditions = []
        if res_type:
            conditions.append(model.res_type == res_type)
        if res_id:
            conditions.append(model.id == res_id)
        if since:
            conditions.append(model.last_updated >= since)
        if model is FhirResource:
            current = current.where(*conditions)
        else:
            past = past.where(*conditions)
    both = union_all(current, past).subquery()
    rows = await db.execute(select(both).order_by(both.c.last_updated.desc(), both.c.version.desc()).limit(limit))
    return [Stored(r.rid, r.res_type, r.id, r.version, r.last_updated, r.deleted, r.resource) for r in rows]


async def count_resources(db: AsyncSession, res_type: str | None = None) -> int:
    query = select(func.count()).select_from(FhirResource).where(FhirResource.deleted.is_(False))
    if res_type:
        query = query.where(FhirResource.res_type == res_type)
    return int(await db.scalar(query) or 0)
