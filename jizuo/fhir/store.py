"""The FHIR resource store: every SQL statement that reads or writes resources, versions and index rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, tuple_, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.db import column_arrays, insert_rows, json_text
from jizuo.core.db import driver_connection as _driver
from jizuo.fhir import store_statements as statements
from jizuo.fhir.errors import FhirError
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


def _stored_record(record: Any) -> Stored:
    return Stored(*record.values())


_CURRENT = select(FhirResource.rid, FhirResource.res_type, FhirResource.id, FhirResource.version,
                  FhirResource.last_updated, FhirResource.deleted, FhirResource.resource)


_CURRENT_SQL = ("SELECT rid, res_type, id, version, last_updated, deleted, resource FROM fhir_resource "
                "WHERE res_type = $1 AND id = $2")


async def get_current(db: AsyncSession, res_type: str, res_id: str, *, for_update: bool = False) -> Stored | None:
    if (driver := await _driver(db, writing=for_update)) is not None:
        found = await driver.fetchrow(_CURRENT_SQL + (" FOR UPDATE" if for_update else ""), res_type, res_id)
        return _stored_record(found) if found else None
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
    if (driver := await _driver(db, writing=False)) is not None:
        found = await driver.fetch("SELECT rid, res_type, id, version, last_updated, deleted, resource "
                                   "FROM fhir_resource WHERE rid = ANY($1::bigint[]) AND NOT deleted", list(rids))
        rows = {record["rid"]: _stored_record(record) for record in found}
    else:
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
        await insert_rows(db, _HISTORY, history)
        if updates:
            await _update_versions(db, updates)
        await insert_rows(db, _RESOURCE, resources)
        await write_index(db, [(rid, resource, replacements) for rid, (resource, replacements) in items.items()],
                          replacing=sorted(stale))


_RESOURCE, _HISTORY = cast(Table, FhirResource.__table__), cast(Table, FhirHistory.__table__)
_UPDATE_VERSIONS = (
    "UPDATE fhir_resource f SET version = u.version, last_updated = u.last_updated, deleted = u.deleted, "
    "resource = u.resource FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::boolean[], $5::jsonb[]) "
    "AS u(rid, version, last_updated, deleted, resource) WHERE f.rid = u.rid")


async def _update_versions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """New current versions by rid, in one statement."""
    driver = await _driver(db)
    if driver is None:
        await db.execute(update(FhirResource), rows)  # ORM bulk UPDATE by primary key (rid)
        return
    columns = ("rid", "version", "last_updated", "deleted", "resource")
    await driver.execute(_UPDATE_VERSIONS, *column_arrays(_RESOURCE, columns, rows))


async def insert_resource(db: AsyncSession, resource: dict[str, Any], now: datetime,
                          token_replacements: dict[str, str], buffer: WriteBuffer | None = None) -> Stored:
    row = {"res_type": resource["resourceType"], "id": resource["id"], "version": 1, "last_updated": now,
           "deleted": False, "resource": resource}
    if buffer is not None:
        rid = await buffer.next_rid(db)
        buffer.resources.append({"rid": rid, **row})
        buffer.add_index(rid, resource, token_replacements)
    elif (driver := await _driver(db)) is not None:
        names, arrays = _index_arrays([(0, resource, token_replacements)], with_rid=False)
        rid = int(await driver.fetchval(statements.insert_statement(names), row["res_type"], row["id"], now,
                                        json_text(resource), *arrays))
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
    elif (driver := await _driver(db)) is not None:
        names, arrays = _index_arrays([(current.rid, resource, token_replacements)] if resource else [])
        replaced = await driver.fetchval(statements.replace_statement(names), current.rid, version, now, deleted,
                                         json_text(resource) if resource is not None else None, *arrays)
        if not replaced:
            raise _replaced_meanwhile(current)
    else:
        await db.execute(insert(FhirHistory), [history_row])
        await db.execute(update(FhirResource), [new_row])  # ORM bulk UPDATE by primary key (rid)
        await write_index(db, [(current.rid, resource, token_replacements)] if resource is not None else [],
                          replacing=[current.rid])
    return Stored(current.rid, current.res_type, current.id, version, now, deleted, resource)


def index_rows(rid: int, resource: dict[str, Any], token_replacements: dict[str, str]) -> IndexRows:
    rows = extract_index(resource)
    if token_replacements:
        rows.tokens = [(param, system, token_replacements.get(code or "", code), None if code in
                        token_replacements else display) for param, system, code, display in rows.tokens]
    return rows


COPY_FROM = 200  # index rows of one table: from here COPY beats a multi-row INSERT (measured: device readings)
_COLUMNS = {name: [c.name for c in table.columns] for name, table in INDEX_TABLES.items()}


def _replaced_meanwhile(current: Stored) -> FhirError:
    """Another transaction replaced the version this write started from (it was read without a lock)."""
    return FhirError(f"资源 {current.res_type}/{current.id} 的版本 {current.version} 已被其他请求更新，"
                     "请重新读取后再提交", status=409, issue="conflict", code="version_conflict")


def _batches(items: Iterable[tuple[int, dict[str, Any], dict[str, str]]]) -> dict[str, list[tuple[Any, ...]]]:
    batches: dict[str, list[tuple[Any, ...]]] = {name: [] for name in INDEX_TABLES}
    for rid, resource, replacements in items:
        rows = index_rows(rid, resource, replacements)
        res_type = resource["resourceType"]
        for name, batch in batches.items():
            batch.extend((rid, res_type, *values) for values in getattr(rows, name))
    return batches


def _index_arrays(items: Iterable[tuple[int, dict[str, Any], dict[str, str]]], *, with_rid: bool = True
                  ) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The index tables that get rows, and one array per column of each (see store_statements)."""
    names: list[str] = []
    arrays: list[list[Any]] = []
    for name, batch in _batches(items).items():
        if batch:
            names.append(name)
            columns = [list(column) for column in zip(*batch, strict=True)]
            arrays.extend(columns if with_rid else columns[1:])
    return tuple(names), arrays


async def write_index(db: AsyncSession, items: Iterable[tuple[int, dict[str, Any], dict[str, str]]], *,
                      replacing: Sequence[int] = ()) -> None:
    """Index rows of `items`; with `replacing`, the old index rows of those rids go first."""
    batches = _batches(items)
    driver = await _driver(db)
    if driver is None:
        if replacing:
            await _delete_index_each(db, replacing)
        for name, batch in batches.items():
            if batch:
                columns = _COLUMNS[name]
                await db.execute(insert(INDEX_TABLES[name]), [dict(zip(columns, row, strict=True)) for row in batch])
        return
    small: dict[str, list[tuple[Any, ...]]] = {}
    for name, batch in batches.items():
        if len(batch) >= COPY_FROM:
            if replacing:  # COPY cannot wait for the deletes of the statement below: delete first
                await driver.execute(statements.index_statement((), True), list(replacing))
                replacing = ()
            await driver.copy_records_to_table(INDEX_TABLES[name].name, records=batch, columns=_COLUMNS[name])
        elif batch:
            small[name] = batch
    if small or replacing:
        names = tuple(small)
        arrays = [list(column) for batch in small.values() for column in zip(*batch, strict=True)]
        head = [list(replacing)] if replacing else []
        await driver.execute(statements.index_statement(names, bool(replacing)), *head, *arrays)


async def _delete_index_each(db: AsyncSession, rids: Sequence[int]) -> None:
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
