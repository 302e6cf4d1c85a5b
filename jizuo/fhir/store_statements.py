"""One SQL statement per single-resource write: the resource row, its history row and all its index rows.

A create or update written table by table costs up to fifteen round trips (one INSERT or DELETE per index
table), and each statement through the ORM costs more Python than the database spends on it. Here a write is
one statement of data-modifying CTEs: every sub-statement runs on the same snapshot, so the DELETE of a
resource's old index rows cannot see the rows the same statement inserts, and the history row copies the
version the UPDATE replaces. Index rows travel as one array per column (`unnest`).

Statements are built once per combination of index tables present, and run on the session's asyncpg
connection inside its transaction (store.py decides when).
"""

from __future__ import annotations

from functools import cache

from jizuo.core.db import unnest_arrays, unnest_insert_sql
from jizuo.fhir.models import INDEX_TABLES

_RESOURCE_COLUMNS = "rid, version, res_type, id, last_updated, deleted, resource"


def _index_inserts(names: tuple[str, ...], first: int, rid_from: str | None) -> list[str]:
    """`rid_from`: a CTE whose `rid` every row takes (a create); None: the rid is the first array."""
    parts = []
    for name in names:
        table = INDEX_TABLES[name]
        columns = tuple(c.name for c in table.columns)  # rid first
        if rid_from is None:
            parts.append(f"i_{name} AS ({unnest_insert_sql(table, columns, first)})")
            first += len(columns)
        else:
            parts.append(f"i_{name} AS (INSERT INTO {table.name} ({', '.join(columns)}) SELECT {rid_from}.rid, u.* "
                         f"FROM {rid_from}, unnest({unnest_arrays(table, columns[1:], first)}) u)")
            first += len(columns) - 1
    return parts


def _index_deletes(rid_array: str) -> list[str]:
    return [f"d_{name} AS (DELETE FROM {table.name} WHERE rid = ANY({rid_array}))"
            for name, table in INDEX_TABLES.items()]


@cache
def insert_statement(names: tuple[str, ...]) -> str:
    """$1 res_type, $2 id, $3 last_updated, $4 resource (JSON text); then the index arrays without rid."""
    head = ("r AS (INSERT INTO fhir_resource (res_type, id, version, last_updated, deleted, resource) "
            "VALUES ($1, $2, 1, $3, false, $4::jsonb) RETURNING rid)")
    return "WITH " + ", ".join([head, *_index_inserts(names, 5, "r")]) + " SELECT rid FROM r"


@cache
def replace_statement(names: tuple[str, ...]) -> str:
    """$1 rid, $2 new version, $3 last_updated, $4 deleted, $5 resource (JSON text, NULL keeps the current
    body: a deletion marker); then the index arrays with rid. Returns 0 when the stored version is no longer
    the one replaced (another writer came first): the caller raises, and the rollback takes back the index
    rows this statement changed anyway."""
    parts = [
        f"h AS (INSERT INTO fhir_history ({_RESOURCE_COLUMNS}) SELECT {_RESOURCE_COLUMNS} FROM fhir_resource "
        "WHERE rid = $1 AND version = $2 - 1)",
        "u AS (UPDATE fhir_resource SET version = $2, last_updated = $3, deleted = $4, "
        "resource = COALESCE($5::jsonb, resource) WHERE rid = $1 AND version = $2 - 1 RETURNING 1)",
        *_index_deletes("ARRAY[$1::bigint]"),
        *_index_inserts(names, 6, None),
    ]
    return "WITH " + ", ".join(parts) + " SELECT count(*) FROM u"


@cache
def index_statement(names: tuple[str, ...], delete_first: bool) -> str:
    """With `delete_first`, $1 is the rids whose old index rows go; then the index arrays with rid."""
    parts = [*_index_deletes("$1::bigint[]")] if delete_first else []
    parts += _index_inserts(names, 2 if delete_first else 1, None)
    return "WITH " + ", ".join(parts) + " SELECT 1"
