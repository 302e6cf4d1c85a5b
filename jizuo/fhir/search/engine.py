"""Run a search: criteria, access filter, sort, keyset paging, _include/_revinclude, _total."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.fhir.access import FhirAccess
from jizuo.fhir.compartment import patient_params
from jizuo.fhir.errors import FhirError
from jizuo.fhir.models import FhirResource, idx_date, idx_number, idx_quantity, idx_reference, idx_string, idx_token
from jizuo.fhir.search.conditions import ConditionBuilder, Criterion
from jizuo.fhir.searchparams import DATE_MAX, DATE_MIN
from jizuo.fhir.store import Stored, get_by_rids

resource = FhirResource.__table__
DEFAULT_COUNT, MAX_COUNT = 20, 1000
RESULT_PARAMS = {"_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total", "_cursor",
                 "_format", "_pretty", "_contained", "_containedType"}


@dataclass
class SortKey:
    expression: Any
    descending: bool
    kind: str  # date | text | number


@dataclass
class SearchResult:
    matches: list[Stored]
    included: list[Stored]
    total: int | None
    next_cursor: str | None
    ignored: list[str] = field(default_factory=list)


def access_condition(res_type: str, access: FhirAccess) -> ColumnElement[bool]:
    """Resources outside the caller's patients are invisible; shared reference data is not restricted."""
    if access.patient_ids is None:
        return true()
    allowed = list(access.patient_ids)
    if res_type == "Patient":
        return resource.c.id.in_(allowed)
    params = patient_params(res_type)
    if not params:
        return true()
    r = idx_reference
    return resource.c.rid.in_(select(r.c.rid).where(
        r.c.res_type == res_type, r.c.param.in_(params), r.c.target_type == "Patient", r.c.target_id.in_(allowed)))


def _sort_key(builder: ConditionBuilder, res_type: str, spec: str) -> SortKey:
    descending = spec.startswith("-")
    code = spec.lstrip("-")
    if code == "_id":
        return SortKey(resource.c.id, descending, "text")
    if code == "_lastUpdated":
        return SortKey(resource.c.last_updated, descending, "date")
    param = builder.registry.param(res_type, code)
    if param is None:
        raise FhirError(f"未知的排序参数：{code}", code="invalid_sort")
    choices: dict[str, tuple[Any, Any, str]] = {
        "date": (idx_date, idx_date.c.high if descending else idx_date.c.low, "date"),
        "string": (idx_string, idx_string.c.value_norm, "text"),
        "token": (idx_token, idx_token.c.code, "text"),
        "number": (idx_number, idx_number.c.value, "number"),
        "quantity": (idx_quantity, idx_quantity.c.value, "number"),
    }
    if param.type not in choices:
        raise FhirError(f"不支持按 {param.type} 类型参数排序：{code}", code="invalid_sort")
    table, column, kind = choices[param.type]
    aggregate = func.max(column) if descending else func.min(column)
    value = (select(aggregate).where(table.c.rid == resource.c.rid, table.c.param == code)
             .correlate(resource).scalar_subquery())
    sentinel = {"date": DATE_MIN if descending else DATE_MAX, "text": "" if descending else "\uffff",
                "number": Decimal("-1e30") if descending else Decimal("1e30")}[kind]
    return SortKey(func.coalesce(value, literal(sentinel)), descending, kind)


def _encode_cursor(values: list[Any]) -> str:
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v
    return base64.urlsafe_b64encode(orjson.dumps([plain(v) for v in values])).decode().rstrip("=")


def _decode_cursor(token: str, keys: list[SortKey]) -> list[Any]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        typed = [datetime.fromisoformat(v) if key.kind == "date" else Decimal(v) if key.kind == "number" else v
                 for key, v in zip(keys, raw[:-1], strict=True)]
        return [*typed, int(raw[-1])]
    except (ValueError, TypeError) as exc:
        raise FhirError("翻页游标无效，请从第一页重新检索", code="invalid_cursor") from exc


def _after(keys: list[SortKey], values: list[Any], rid_descending: bool) -> ColumnElement[bool]:
    """Keyset condition: rows strictly after `values` in (keys..., rid) order."""
    columns = [(k.expression, k.descending) for k in keys] + [(resource.c.rid, rid_descending)]
    alternatives = []
    for position, (column, descending) in enumerate(columns):
        equal_before = [c == v for (c, _), v in zip(columns[:position], values[:position], strict=True)]
        beyond = column < values[position] if descending else column > values[position]
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)


def parse_count(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_COUNT
    if not raw.isdigit():
        raise FhirError(f"_count 必须是非负整数：{raw}", code="invalid_count")
    return min(int(raw), MAX_COUNT)


async def search(db: AsyncSession, res_type: str, params: list[tuple[str, str]], access: FhirAccess,
                 builder: ConditionBuilder | None = None) -> SearchResult:
    builder = builder or ConditionBuilder(res_type)
    options = {name: value for name, value in params if name in RESULT_PARAMS}
    conditions = [resource.c.res_type == res_type, resource.c.deleted.is_(False), access_condition(res_type, access)]
    for name, value in params:
        if name not in RESULT_PARAMS:
            conditions.append(builder.condition(Criterion(name, value)))
    count = parse_count(options.get("_count"))
    keys = [_sort_key(builder, res_type, spec) for spec in options.get("_sort", "").split(",") if spec]
    # rid follows arrival. Without _sort the order is arrival order, newest first when a date criterion asks
    # for recent data (the builder notes it); the same parameters give the same order on every page.
    rid_descending = keys[0].descending if keys else builder.recent_first
    query = select(resource.c.rid, *[k.expression for k in keys]).where(*conditions)
    if cursor := options.get("_cursor"):
        query = query.where(_after(keys, _decode_cursor(cursor, keys), rid_descending))
    order = [k.expression.desc() if k.descending else k.expression.asc() for k in keys]
    order.append(resource.c.rid.desc() if rid_descending else resource.c.rid.asc())
    rows = [] if count == 0 else list(await db.execute(query.order_by(*order).limit(count + 1)))
    next_cursor = None
    if len(rows) > count:
        last = rows[count - 1]
        next_cursor = _encode_cursor([*last[1:], last[0]])
        rows = rows[:count]
    total = None
    if options.get("_total") == "accurate" or options.get("_summary") == "count":
        total = int(await db.scalar(select(func.count()).select_from(resource).where(*conditions)) or 0)
    matches = await get_by_rids(db, [row[0] for row in rows])
    included = await _included(db, res_type, matches, params, access)
    return SearchResult(matches, included, total, next_cursor, builder.unknown)


async def _included(db: AsyncSession, res_type: str, matches: list[Stored], params: list[tuple[str, str]],
                    access: FhirAccess) -> list[Stored]:
    if not matches:
        return []
    rids = [m.rid for m in matches]
    seen = set(rids)
    found: list[int] = []
    r = idx_reference
    for name, value in params:
        if name not in ("_include", "_revinclude"):
            continue
        source, _, rest = value.partition(":")
        param, _, target = rest.partition(":")
        if name == "_include":
            if source != res_type:
                continue
            query = (select(resource.c.rid).join(r, and_(r.c.target_type == resource.c.res_type,
                                                          r.c.target_id == resource.c.id))
                     .where(r.c.rid.in_(rids)))
            if param != "*":
                query = query.where(r.c.param == param)
        else:
            keys = [(m.res_type, m.id) for m in matches]
            query = (select(resource.c.rid).join(r, r.c.rid == resource.c.rid)
                     .where(r.c.res_type == source, r.c.param == param,
                            or_(*[and_(r.c.target_type == t, r.c.target_id == i) for t, i in keys])))
        if target:
            query = query.where(resource.c.res_type == target)
        for rid in await db.scalars(query.where(resource.c.deleted.is_(False)).limit(MAX_COUNT)):
            if rid not in seen:
                seen.add(rid)
                found.append(rid)
    included = await get_by_rids(db, found)
    return [s for s in included if await _visible(db, s, access)]


async def _visible(db: AsyncSession, stored: Stored, access: FhirAccess) -> bool:
    if access.patient_ids is None:
        return True
    count = await db.scalar(select(func.count()).select_from(resource).where(
        resource.c.rid == stored.rid, access_condition(stored.res_type, access)))
    return bool(count)
