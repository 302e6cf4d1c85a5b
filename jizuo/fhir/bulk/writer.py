"""The database half of bulk import: one prepared batch → the store, inside the caller's transaction.

New resources (the common case) go in with binary COPY under row ids reserved from the table's sequence.
Resources whose (type, id) already exist are handled set-wise in the same transaction, the way
`store.replace_resource` does it one by one: the current row moves to fhir_history, the row is updated to
the next version, and its index rows are replaced. A re-sent resource whose content did not change is left
alone (no new version), which is what makes re-importing a file idempotent. No staging table is needed: one
indexed lookup per batch tells new from existing, and existing ones are rare in bulk loads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from jizuo.core.security import FieldCipher
from jizuo.fhir.bulk.prepare import INDEX_KINDS, Prepared, content_digest
from jizuo.fhir.models import INDEX_TABLES
from jizuo.fhir.personal_data import reveal

# Bulk writers of one database take turns per batch, so two imports of the same new id cannot both COPY it.
ADVISORY_LOCK_KEY = 0x4A5A_424C_4B00  # "JZBLK"
RESOURCE_COLUMNS = ["rid", "res_type", "id", "version", "last_updated", "deleted", "resource"]
INDEX_COLUMNS = {kind: [c.name for c in INDEX_TABLES[kind].columns] for kind in INDEX_KINDS}

_EXISTING = """
SELECT f.rid, f.res_type, f.id, f.version, f.deleted, f.resource::text AS resource
FROM fhir_resource f JOIN unnest($1::text[], $2::text[]) AS k(res_type, id) ON f.res_type = k.res_type AND f.id = k.id
FOR UPDATE OF f
"""
_RESERVE = "SELECT nextval(pg_get_serial_sequence('fhir_resource', 'rid')) FROM generate_series(1, $1) ORDER BY 1"
_TO_HISTORY = """
INSERT INTO fhir_history (rid, version, res_type, id, last_updated, deleted, resource)
SELECT rid, version, res_type, id, last_updated, deleted, resource FROM fhir_resource WHERE rid = ANY($1::bigint[])
"""
_UPDATE = """
UPDATE fhir_resource f SET version = u.version, last_updated = $4, deleted = false, resource = u.resource::jsonb
FROM unnest($1::bigint[], $2::int[], $3::text[]) AS u(rid, version, resource) WHERE f.rid = u.rid
"""


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    index_rows: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    written: list[tuple[int, int, Prepared]] = field(default_factory=list)  # (rid, version, item) of this batch

    def add(self, other: WriteResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.index_rows += other.index_rows
        self.by_type.update(other.by_type)


def stored_digest(resource_json: str, cipher: FieldCipher) -> str:
    """The digest the stored version would have had on input: personal data decrypted, stamp ignored."""
    return content_digest(reveal(orjson.loads(resource_json), cipher, full=True))


def _split_repeats(items: list[Prepared]) -> tuple[list[Prepared], list[Prepared]]:
    """A (type, id) repeated within one batch is a later version: written in a following round."""
    seen: set[tuple[str, str]] = set()
    first: list[Prepared] = []
    later: list[Prepared] = []
    for item in items:
        key = (item.res_type, item.id)
        (later if key in seen else first).append(item)
        seen.add(key)
    return first, later


async def write_batch(conn: Any, items: list[Prepared], now: datetime, cipher: FieldCipher) -> WriteResult:
    """Write `items` with the asyncpg connection `conn`; the caller owns (begins and commits) the transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK_KEY)
    result = WriteResult()
    pending = items
    while pending:
        current_round, pending = _split_repeats(pending)
        await _write_round(conn, current_round, now, cipher, result)
    return result


async def _write_round(conn: Any, items: list[Prepared], now: datetime, cipher: FieldCipher,
                       result: WriteResult) -> None:
    found = await conn.fetch(_EXISTING, [p.res_type for p in items], [p.id for p in items])
    existing = {(row["res_type"], row["id"]): row for row in found}
    new: list[Prepared] = []
    changed: list[tuple[Any, Prepared]] = []
    for item in items:
        row = existing.get((item.res_type, item.id))
        if row is None:
            new.append(item)
        elif row["deleted"] or stored_digest(row["resource"], cipher) != item.digest:
            changed.append((row, item))
        else:
            result.unchanged += 1
    written: list[tuple[int, Prepared]] = []
    if new:
        rids = [r[0] for r in await conn.fetch(_RESERVE, len(new))]
        await conn.copy_records_to_table(
            "fhir_resource", columns=RESOURCE_COLUMNS,
            records=[(rid, p.res_type, p.id, 1, now, False, p.resource) for rid, p in zip(rids, new, strict=True)])
        written += zip(rids, new, strict=True)
        result.written += [(rid, 1, p) for rid, p in zip(rids, new, strict=True)]
        result.created += len(new)
    if changed:
        await _new_versions(conn, changed, now)
        written += [(row["rid"], item) for row, item in changed]
        result.written += [(row["rid"], row["version"] + 1, item) for row, item in changed]
        result.updated += len(changed)
    result.by_type.update(p.res_type for _, p in written)
    result.index_rows += await _copy_index(conn, written)


async def _new_versions(conn: Any, changed: list[tuple[Any, Prepared]], now: datetime) -> None:
    rids = [row["rid"] for row, _ in changed]
    versions = [row["version"] + 1 for row, _ in changed]
    bodies = []
    for (_, item), version in zip(changed, versions, strict=True):
        resource = orjson.loads(item.resource)
        resource["meta"]["versionId"] = str(version)
        bodies.append(orjson.dumps(resource).decode())
        item.resource = bodies[-1]
    await conn.execute(_TO_HISTORY, rids)
    await conn.execute(_UPDATE, rids, versions, bodies, now)
    for kind in INDEX_KINDS:
        await conn.execute(f"DELETE FROM {INDEX_TABLES[kind].name} WHERE rid = ANY($1::bigint[])", rids)


async def _copy_index(conn: Any, written: list[tuple[int, Prepared]]) -> int:
    total = 0
    for position, kind in enumerate(INDEX_KINDS):
        records = [(rid, p.res_type, *row) for rid, p in written for row in p.index[position]]
        if records:
            await conn.copy_records_to_table(INDEX_TABLES[kind].name, records=records, columns=INDEX_COLUMNS[kind])
            total += len(records)
    return total

