"""Bundles: building searchset/history responses, and running batch and transaction requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jizuo.core.errors import JizuoError
from jizuo.fhir import service, store
from jizuo.fhir.errors import FhirError, information_outcome, operation_outcome
from jizuo.fhir.search.engine import SearchResult
from jizuo.fhir.service import FhirContext, instant, version_tag
from jizuo.fhir.store import Stored, WriteBuffer
from jizuo.fhir.validation import is_resource_type


def searchset(
    ctx: FhirContext, base: str, res_type: str, params: list[tuple[str, str]], result: SearchResult, shape: Any
) -> dict[str, Any]:
    kept = [(k, v) for k, v in params if k != "_cursor"]
    links = [{"relation": "self", "url": f"{base}/{res_type}?{urlencode(params)}"}]
    if result.next_cursor:
        links.append(
            {"relation": "next", "url": f"{base}/{res_type}?{urlencode([*kept, ('_cursor', result.next_cursor)])}"}
        )
    entries = [
        {
            "fullUrl": f"{base}/{s.res_type}/{s.id}",
            "resource": shape(service.to_client(ctx, s)),
            "search": {"mode": "match"},
        }
        for s in result.matches
    ]
    entries += [
        {
            "fullUrl": f"{base}/{s.res_type}/{s.id}",
            "resource": shape(service.to_client(ctx, s)),
            "search": {"mode": "include"},
        }
        for s in result.included
    ]
    if result.ignored:
        entries.append(
            {
                "resource": information_outcome(f"已忽略不支持的检索参数：{', '.join(result.ignored)}"),
                "search": {"mode": "outcome"},
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "link": links,
        "entry": entries,
    }
    if result.total is not None:
        bundle["total"] = result.total
    return bundle


def history_bundle(ctx: FhirContext, base: str, rows: list[Stored]) -> dict[str, Any]:
    entries = []
    for row in rows:
        entry: dict[str, Any] = {
            "fullUrl": f"{base}/{row.res_type}/{row.id}",
            "request": {
                "method": row.method,
                "url": row.res_type if row.method == "POST" else f"{row.res_type}/{row.id}",
            },
            "response": {
                "status": "201" if row.method == "POST" else "200",
                "etag": version_tag(row),
                "lastModified": instant(row.last_updated),
            },
        }
        if not row.deleted:
            entry["resource"] = service.to_client(ctx, row)
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "total": len(entries),
        "entry": entries,
    }


# --- batch / transaction ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    stored: Stored | None = None
    body: dict[str, Any] | None = None


_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def _rewrite_references(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite_references(v, mapping))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_references(v, mapping) for v in value]
    return value


async def _resolve_conditional_references(ctx: FhirContext, value: Any, cache: dict[str, str]) -> Any:
    """`Patient?identifier=sys|123` inside a transaction → `Patient/<id>` of the single match."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and "?" in item and is_resource_type(item.split("?")[0]):
                if item not in cache:
                    res_type, _, query = item.partition("?")
                    result = await service.find(ctx, res_type, [*service.query_pairs(query), ("_count", "2")])
                    if len(result.matches) != 1:
                        raise FhirError(
                            f"条件引用 {item} 匹配到 {len(result.matches)} 个资源，必须恰好 1 个",
                            status=412 if result.matches else 404,
                            issue="processing",
                            code="conditional_reference",
                        )
                    cache[item] = f"{res_type}/{result.matches[0].id}"
                out[key] = cache[item]
            else:
                out[key] = await _resolve_conditional_references(ctx, item, cache)
        return out
    if isinstance(value, list):
        return [await _resolve_conditional_references(ctx, v, cache) for v in value]
    return value


async def dispatch(
    ctx: FhirContext,
    method: str,
    url: str,
    resource: Any,
    if_match: str | None = None,
    if_none_exist: str | None = None,
) -> Outcome:
    path, _, query = url.partition("?")
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or not is_resource_type(parts[0]):
        raise FhirError(f"无法识别的请求地址：{url}", code="invalid_entry_url")
    res_type = parts[0]
    match method, len(parts):
        case "POST", 1:
            stored, created = await service.create(ctx, res_type, resource, if_none_exist)
            return Outcome("201 Created" if created else "200 OK", stored)
        case "PUT", 1:
            stored, created = await service.conditional_update(ctx, res_type, query, resource)
            return Outcome("201 Created" if created else "200 OK", stored)
        case "PUT", 2:
            stored, created = await service.update(ctx, res_type, parts[1], resource, if_match)
            return Outcome("201 Created" if created else "200 OK", stored)
        case "PATCH", 2:
            return Outcome("200 OK", await service.patch(ctx, res_type, parts[1], resource, if_match))
        case "DELETE", 1:
            await service.conditional_delete(ctx, res_type, query)
            return Outcome("204 No Content")
        case "DELETE", 2:
            await service.delete(ctx, res_type, parts[1])
            return Outcome("204 No Content")
        case (("GET" | "HEAD"), 2):
            return Outcome("200 OK", await service.read(ctx, res_type, parts[1]))
        case (("GET" | "HEAD"), 4) if parts[2] == "_history":
            return Outcome("200 OK", await service.vread(ctx, res_type, parts[1], parts[3]))
        case (("GET" | "HEAD"), 1):
            result = await service.find(ctx, res_type, service.query_pairs(query))
            return Outcome("200 OK", body=searchset(ctx, "", res_type, service.query_pairs(query), result, lambda r: r))
    raise FhirError(f"不支持的操作：{method} {url}", issue="not-supported", code="unsupported_entry")


def _entry_response(ctx: FhirContext, base: str, outcome: Outcome) -> dict[str, Any]:
    response: dict[str, Any] = {"status": outcome.status}
    entry: dict[str, Any] = {"response": response}
    if outcome.stored is not None:
        s = outcome.stored
        response.update(
            location=f"{s.res_type}/{s.id}/_history/{s.version}",
            etag=version_tag(s),
            lastModified=instant(s.last_updated),
        )
        entry["fullUrl"] = f"{base}/{s.res_type}/{s.id}"
        if not s.deleted:
            entry["resource"] = service.to_client(ctx, s)
    elif outcome.body is not None:
        entry["resource"] = outcome.body
    return entry


def _entries(bundle: Any) -> list[dict[str, Any]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError("请求体必须是 Bundle 资源", code="not_a_bundle", expression=["Bundle"])
    entries = bundle.get("entry") or []
    for index, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or request.get("method") not in _ORDER or not request.get("url"):
            raise FhirError(
                f"Bundle.entry[{index}].request 缺少合法的 method 和 url",
                code="invalid_entry",
                expression=[f"Bundle.entry[{index}].request"],
            )
    return list(entries)


async def _prefetch_updates(ctx: FhirContext, entries: list[dict[str, Any]]) -> dict[tuple[str, str], Stored | None]:
    """One locking query for the current versions of all `PUT Type/id` entries instead of one per entry."""
    keys = []
    for entry in entries:
        request = entry["request"]
        parts = request["url"].split("?")[0].strip("/").split("/")
        if request["method"] == "PUT" and len(parts) == 2 and "?" not in request["url"]:
            keys.append((parts[0], parts[1]))
    found = await store.get_current_many(ctx.db, keys)
    return {key: found.get(key) for key in keys}


async def run_transaction(ctx: FhirContext, base: str, bundle: Any) -> dict[str, Any]:
    """All entries in the request's one database transaction: any failure fails the whole bundle."""
    entries = _entries(bundle)
    ctx.write_buffer = WriteBuffer()
    ctx.prefetched = await _prefetch_updates(ctx, entries)
    mapping: dict[str, str] = {}
    for entry in entries:
        request, resource = entry["request"], entry.get("resource")
        if (
            request["method"] == "POST"
            and not request.get("ifNoneExist")
            and isinstance(resource, dict)
            and str(entry.get("fullUrl", "")).startswith("urn:")
        ):
            mapping[entry["fullUrl"]] = f"{resource.get('resourceType')}/{uuid.uuid4()}"
    cache: dict[str, str] = {}
    responses: list[dict[str, Any] | None] = [None] * len(entries)

    # Conditional creates go first: their ids are known only once they ran, and later entries refer to them.
    def order(i: int) -> tuple[int, int]:
        request = entries[i]["request"]
        return _ORDER[request["method"]], 0 if request.get("ifNoneExist") else 1

    for index in sorted(range(len(entries)), key=order):
        entry = entries[index]
        request = entry["request"]
        resource = _rewrite_references(entry.get("resource"), mapping)
        resource = await _resolve_conditional_references(ctx, resource, cache)
        try:
            if request["method"] == "POST" and entry.get("fullUrl") in mapping:
                res_type, new_id = mapping[entry["fullUrl"]].split("/")
                outcome = Outcome("201 Created", await service.create_with_id(ctx, res_type, resource, new_id))
            else:
                if request["method"] in ("GET", "HEAD"):
                    await ctx.flush()  # reads see the entries before them (searches flush in service.find)
                outcome = await dispatch(ctx, request["method"], request["url"], resource, request.get("ifMatch"),
                                         request.get("ifNoneExist"))
        except JizuoError as exc:
            where = f"Bundle.entry[{index}]："
            exc.detail = where + exc.detail
            for problem in getattr(exc, "issues", []):
                problem["diagnostics"] = where + problem["diagnostics"]
            raise
        if request.get("ifNoneExist") and outcome.stored and str(entry.get("fullUrl", "")).startswith("urn:"):
            mapping[entry["fullUrl"]] = f"{outcome.stored.res_type}/{outcome.stored.id}"
        responses[index] = _entry_response(ctx, base, outcome)
    await ctx.flush()
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "transaction-response", "entry": responses}


async def run_batch(ctx: FhirContext, base: str, bundle: Any) -> dict[str, Any]:
    """Entries are independent: each in its own savepoint; a failure answers that entry only."""
    responses = []
    for entry in _entries(bundle):
        request = entry["request"]
        try:
            async with ctx.db.begin_nested():
                outcome = await dispatch(
                    ctx,
                    request["method"],
                    request["url"],
                    entry.get("resource"),
                    request.get("ifMatch"),
                    request.get("ifNoneExist"),
                )
            responses.append(_entry_response(ctx, base, outcome))
        except JizuoError as exc:
            responses.append({"response": {"status": str(exc.status), "outcome": operation_outcome(exc)}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "batch-response", "entry": responses}
