"""FHIR interactions: the rules between the REST layer and the store (validation, versions, access, audit).

Nothing here commits: the REST layer commits once per request (a transaction bundle is one request).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import jsonpatch
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.security import FieldCipher
from jizuo.fhir import store
from jizuo.fhir.access import AuditSink, FhirAccess
from jizuo.fhir.compartment import patient_params
from jizuo.fhir.errors import FhirError
from jizuo.fhir.personal_data import PROTECTED_TYPES, blind_token, protect, reveal
from jizuo.fhir.search.conditions import ConditionBuilder
from jizuo.fhir.search.engine import SearchResult, search
from jizuo.fhir.store import Stored
from jizuo.fhir.validation import ID_CARD_SYSTEMS, validate_resource


class WriteListener(Protocol):
    """Told of every write inside the request's transaction (e.g. the MPI links a Patient to a person).
    Listeners may write their own tables; what must happen only after commit they queue for after commit.
    While a bundle or an ingest chunk runs (`ctx.write_buffer` set) a listener may hold its rows back and write
    them set-wise in an optional `async def flush(ctx)`, which the context calls whenever it writes out its own
    buffer (before reads, searches and the end of the bundle)."""

    async def resource_written(self, ctx: FhirContext, stored: Stored) -> None: ...


@dataclass
class FhirContext:
    db: AsyncSession
    access: FhirAccess
    audit: AuditSink
    cipher: FieldCipher
    reveal_personal_data: bool = False
    write_buffer: store.WriteBuffer | None = None  # set while a transaction bundle runs
    # Rows a transaction fetched (and locked) up front for its PUT entries: (type, id) → row, None if absent.
    prefetched: dict[tuple[str, str], Stored | None] = field(default_factory=dict)
    listeners: list[WriteListener] = field(default_factory=list)

    async def notify(self, stored: Stored) -> None:
        for listener in self.listeners:
            await listener.resource_written(self, stored)

    async def flush(self) -> None:
        """Write buffered rows: before any read or search, so a bundle's later entries see earlier ones."""
        if self.write_buffer is not None:
            await self.write_buffer.flush(self.db)
        for listener in self.listeners:
            flush = getattr(listener, "flush", None)
            if flush is not None:
                await flush(self)


def not_found(res_type: str, res_id: str) -> FhirError:
    return FhirError(f"资源 {res_type}/{res_id} 不存在", status=404, issue="not-found", code="resource_not_found")


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def version_tag(stored: Stored) -> str:
    return f'W/"{stored.version}"'


class SearchBuilder(ConditionBuilder):
    """Searches 身份证/phone tokens by their blind index, exactly as they were indexed."""

    def __init__(self, res_type: str, cipher: FieldCipher) -> None:
        super().__init__(res_type)
        self.cipher = cipher

    def token_code(self, system: str | None, code: str) -> str:
        if system in ID_CARD_SYSTEMS or (system is None and len(code) == 18 and code[:17].isdigit()):
            return blind_token(self.cipher, code.upper())
        if system in ("phone", "sms"):
            return blind_token(self.cipher, code)
        return code


# --- access ---------------------------------------------------------------------------------------------

def _require_read(ctx: FhirContext) -> None:
    if not ctx.access.may_read:
        raise FhirError("当前角色无权读取临床数据", status=403, issue="forbidden", code="fhir_read_forbidden")


async def _check_visible(ctx: FhirContext, stored: Stored) -> None:
    """Outside the caller's patients a resource does not exist for them (404, not 403: no existence leak)."""
    allowed = ctx.access.patient_ids
    if allowed is None:
        return
    if stored.res_type == "Patient":
        visible = stored.id in allowed
    elif patient_params(stored.res_type):
        visible = bool(await store.patient_ids_referenced(ctx.db, stored.rid) & allowed)
    else:
        visible = True
    if not visible:
        ctx.audit.record("read", stored.res_type, stored.id, "denied", {"reason": "outside_patient_scope"})
        raise not_found(stored.res_type, stored.id)


def _check_writable(ctx: FhirContext, resource: dict[str, Any]) -> None:
    if not ctx.access.may_write:
        raise FhirError("当前角色无权写入临床数据", status=403, issue="forbidden", code="fhir_write_forbidden")
    allowed = ctx.access.patient_ids
    if allowed is None:
        return
    res_type = resource["resourceType"]
    if res_type == "Patient":
        patients = {resource.get("id", "")}
    else:
        rows = store.index_rows(0, resource, {})
        patients = {target_id or "" for param, target_type, target_id, _ in rows.references
                    if target_type == "Patient" and param in patient_params(res_type)}
    if patients and not patients <= allowed:
        raise FhirError("只能为您服务范围内的患者写入数据", status=403, issue="forbidden", code="outside_patient_scope")


# --- output ---------------------------------------------------------------------------------------------

def to_client(ctx: FhirContext, stored: Stored, *, full: bool | None = None) -> dict[str, Any]:
    """The resource as this caller may see it. Only resources with protected elements are copied (reveal
    writes into them); the rest are handed out as stored — callers build new dicts, never mutate them."""
    if not stored.resource:
        return {}
    if stored.resource.get("resourceType") not in PROTECTED_TYPES:
        return stored.resource
    return reveal(copy.deepcopy(stored.resource), ctx.cipher, full=ctx.reveal_personal_data if full is None else full)


def _stamp(resource: dict[str, Any], res_id: str, version: int, now: datetime) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta.update(versionId=str(version), lastUpdated=instant(now))
    return {**resource, "id": res_id, "meta": meta}


# --- interactions ---------------------------------------------------------------------------------------

async def create(ctx: FhirContext, res_type: str, body: Any, if_none_exist: str | None = None
                 ) -> tuple[Stored, bool]:
    resource = validate_resource(body, res_type)
    if if_none_exist:
        existing = await _conditional_match(ctx, res_type, if_none_exist)
        if existing is not None:
            return existing, False
    _check_writable(ctx, resource)
    res_id = str(uuid.uuid4())
    return await _insert(ctx, resource, res_id), True


async def create_with_id(ctx: FhirContext, res_type: str, body: Any, res_id: str) -> Stored:
    """Create under an id the server just chose (a transaction's urn:uuid entry): no lookup needed."""
    resource = validate_resource(body, res_type)
    _check_writable(ctx, resource)
    return await _insert(ctx, resource, res_id)


async def _insert(ctx: FhirContext, resource: dict[str, Any], res_id: str) -> Stored:
    now = utcnow()
    stamped = _stamp(resource, res_id, 1, now)
    stored_form, replacements = protect(stamped, ctx.cipher)
    stored = await store.insert_resource(ctx.db, stored_form, now, replacements, ctx.write_buffer)
    ctx.audit.record("create", stored.res_type, stored.id)
    await ctx.notify(stored)
    return stored


async def read(ctx: FhirContext, res_type: str, res_id: str) -> Stored:
    _require_read(ctx)
    stored = await store.get_current(ctx.db, res_type, res_id)
    if stored is None:
        raise not_found(res_type, res_id)
    await _check_visible(ctx, stored)
    if stored.deleted:
        raise FhirError(f"资源 {res_type}/{res_id} 已删除", status=410, issue="deleted", code="resource_deleted")
    ctx.audit.record("read", res_type, res_id)
    return stored


async def vread(ctx: FhirContext, res_type: str, res_id: str, version: str) -> Stored:
    _require_read(ctx)
    if not version.isdigit():
        raise FhirError(f"版本号必须是数字：{version}", code="invalid_version")
    stored = await store.get_version(ctx.db, res_type, res_id, int(version))
    if stored is None:
        raise FhirError(f"资源 {res_type}/{res_id} 没有版本 {version}", status=404, issue="not-found",
                        code="version_not_found")
    await _check_visible(ctx, stored)
    if stored.deleted:
        raise FhirError(f"资源 {res_type}/{res_id} 的版本 {version} 是删除记录", status=410, issue="deleted",
                        code="resource_deleted")
    ctx.audit.record("vread", res_type, res_id, detail={"version": stored.version})
    return stored


def _check_if_match(current: Stored, if_match: str | None) -> None:
    if if_match is None:
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != str(current.version):
        raise FhirError(f"版本冲突：当前版本为 {current.version}，请求基于版本 {wanted}", status=412,
                        issue="conflict", code="version_conflict")


async def update(ctx: FhirContext, res_type: str, res_id: str, body: Any, if_match: str | None = None, *,
                 validated: bool = False) -> tuple[Stored, bool]:
    """`validated`: the caller built `body` from its own template of a shape whose validity a test checks
    against the R4 models, with values it validated itself (device readings) — the model check is skipped."""
    resource = body if validated else validate_resource(body, res_type)
    if resource.get("id") != res_id:
        raise FhirError(f"资源体中的 id（{resource.get('id')}）必须与地址中的 id（{res_id}）一致",
                        code="id_mismatch", expression=[f"{res_type}.id"])
    _check_writable(ctx, resource)
    key = (res_type, res_id)
    if key in ctx.prefetched:
        current = ctx.prefetched.pop(key)
    else:
        current = await store.get_current(ctx.db, res_type, res_id, for_update=True)
    if current is None:
        if if_match:
            raise not_found(res_type, res_id)
        return await _insert(ctx, resource, res_id), True
    await _check_visible(ctx, current)
    _check_if_match(current, if_match)
    return await _replace(ctx, current, resource), False


async def _replace(ctx: FhirContext, current: Stored, resource: dict[str, Any] | None) -> Stored:
    now = utcnow()
    if resource is None:
        stored = await store.replace_resource(ctx.db, current, None, now, {}, ctx.write_buffer)
        ctx.audit.record("delete", current.res_type, current.id)
        await ctx.notify(stored)
        return stored
    stamped = _stamp(resource, current.id, current.version + 1, now)
    stored_form, replacements = protect(stamped, ctx.cipher)
    stored = await store.replace_resource(ctx.db, current, stored_form, now, replacements, ctx.write_buffer)
    ctx.audit.record("update", current.res_type, current.id, detail={"version": stored.version})
    await ctx.notify(stored)
    return stored


async def patch(ctx: FhirContext, res_type: str, res_id: str, operations: Any, if_match: str | None = None
                ) -> Stored:
    current = await read(ctx, res_type, res_id)
    _check_if_match(current, if_match)
    try:
        patched = jsonpatch.apply_patch(to_client(ctx, current, full=True), operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
        raise FhirError(f"JSON Patch 无法应用：{exc}", status=422, issue="processing", code="patch_failed") from exc
    patched.pop("meta", None)
    resource = validate_resource(patched, res_type)
    if resource.get("id") != res_id:
        raise FhirError("JSON Patch 不能修改资源 id", status=422, code="id_mismatch")
    _check_writable(ctx, resource)
    return await _replace(ctx, current, resource)


async def delete(ctx: FhirContext, res_type: str, res_id: str) -> Stored | None:
    if not ctx.access.may_write:
        raise FhirError("当前角色无权删除临床数据", status=403, issue="forbidden", code="fhir_write_forbidden")
    current = await store.get_current(ctx.db, res_type, res_id, for_update=True)
    if current is None or current.deleted:
        return None  # deleting what is not there succeeds (idempotent), as the spec allows
    await _check_visible(ctx, current)
    return await _replace(ctx, current, None)


# --- conditional interactions ---------------------------------------------------------------------------

def query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query.lstrip("?"), keep_blank_values=True)


async def find(ctx: FhirContext, res_type: str, params: list[tuple[str, str]]) -> SearchResult:
    _require_read(ctx)
    await ctx.flush()
    result = await search(ctx.db, res_type, params, ctx.access, SearchBuilder(res_type, ctx.cipher))
    ctx.audit.record("search", res_type, None, detail={"returned": len(result.matches),
                                                        "included": len(result.included)})
    return result


async def _conditional_match(ctx: FhirContext, res_type: str, query: str) -> Stored | None:
    params = [*query_pairs(query), ("_count", "2")]
    if not [p for p in params if p[0] != "_count"]:
        raise FhirError("条件操作必须带检索条件", code="missing_condition")
    result = await find(ctx, res_type, params)
    if len(result.matches) > 1:
        raise FhirError(f"条件 {query} 匹配到多个 {res_type}，无法确定目标", status=412, issue="multiple-matches",
                        code="multiple_matches")
    return result.matches[0] if result.matches else None


async def conditional_update(ctx: FhirContext, res_type: str, query: str, body: Any) -> tuple[Stored, bool]:
    existing = await _conditional_match(ctx, res_type, query)
    if existing is None:
        resource = validate_resource(body, res_type)
        _check_writable(ctx, resource)
        return await _insert(ctx, resource, str(resource.get("id") or uuid.uuid4())), True
    body = {**body, "id": existing.id} if isinstance(body, dict) and "id" not in body else body
    return await update(ctx, res_type, existing.id, body)


async def conditional_delete(ctx: FhirContext, res_type: str, query: str) -> Stored | None:
    existing = await _conditional_match(ctx, res_type, query)
    return await delete(ctx, res_type, existing.id) if existing else None


async def history(ctx: FhirContext, res_type: str | None, res_id: str | None, since: datetime | None,
                  count: int) -> list[Stored]:
    _require_read(ctx)
    if not ctx.access.unrestricted and res_id is None:
        raise FhirError("类型级和系统级历史仅对全区权限开放", status=403, issue="forbidden", code="history_forbidden")
    if res_type and res_id and not ctx.access.unrestricted:
        await read(ctx, res_type, res_id)  # the same visibility rule as a read
    rows = await store.history(ctx.db, res_type=res_type, res_id=res_id, since=since, limit=count)
    ctx.audit.record("history", res_type, res_id, detail={"returned": len(rows)})
    return rows
