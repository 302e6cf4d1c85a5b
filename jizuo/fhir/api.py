"""The FHIR R4 REST API under /fhir.

The router is built by `build_router(context)`: the platform hands in the dependency that authenticates the
caller and yields a FhirRequest (context + commit), so this layer knows nothing of users and roles.
"""

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse

from jizuo.fhir import bundles, service
from jizuo.fhir.capability import capability_statement
from jizuo.fhir.errors import FhirError
from jizuo.fhir.everything import everything
from jizuo.fhir.search.engine import MAX_COUNT, parse_count
from jizuo.fhir.service import FhirContext, version_tag
from jizuo.fhir.shaping import shaper
from jizuo.fhir.store import Stored
from jizuo.fhir.validation import is_resource_type, validate_resource

FHIR_JSON = "application/fhir+json"


class FhirRequest(Protocol):
    ctx: FhirContext

    async def commit(self) -> None: ...


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # integers beyond 64 bits are legal FHIR JSON numbers; orjson refuses them
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise FhirError("请求体为空，需要 FHIR JSON", code="empty_body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FhirError(f"请求体不是合法的 JSON：{exc}", issue="structure", code="invalid_json") from exc


def check_type(res_type: str) -> str:
    if not is_resource_type(res_type):
        raise FhirError(f"未知的资源类型：{res_type}", status=404, issue="not-supported", code="unknown_resource_type")
    return res_type


def _resource_response(
    ctx: FhirContext, stored: Stored, status: int = 200, prefer: str | None = None, location: bool = False
) -> Response:
    headers = {"ETag": version_tag(stored), "Last-Modified": format_datetime(stored.last_updated, usegmt=True)}
    if location:
        headers["Location"] = f"{stored.res_type}/{stored.id}/_history/{stored.version}"
    if prefer and "return=minimal" in prefer:
        return Response(status_code=status, headers=headers)
    return FhirResponse(service.to_client(ctx, stored), status_code=status, headers=headers)


def build_router(fhir_request: Callable[..., AsyncIterator[FhirRequest]],
                 fhir_read_request: Callable[..., AsyncIterator[FhirRequest]] | None = None) -> APIRouter:
    """`fhir_read_request`, when given, serves the interactions that only read (it may skip the transaction)."""
    router = APIRouter(prefix="/fhir", tags=["FHIR R4"], default_response_class=FhirResponse)
    Req = Annotated[FhirRequest, Depends(fhir_request)]
    ReadReq = Annotated[FhirRequest, Depends(fhir_read_request or fhir_request)]

    @router.get("/metadata", summary="CapabilityStatement")
    async def metadata(request: Request) -> FhirResponse:
        return FhirResponse(capability_statement(base_url(request)))

    @router.post("", summary="batch / transaction Bundle")
    async def batch_or_transaction(request: Request, req: Req) -> FhirResponse:
        bundle = await json_body(request)
        kind = bundle.get("type") if isinstance(bundle, dict) else None
        if kind == "transaction":
            result = await bundles.run_transaction(req.ctx, base_url(request), bundle)
        elif kind == "batch":
            result = await bundles.run_batch(req.ctx, base_url(request), bundle)
        else:
            raise FhirError(
                "只接受 type 为 batch 或 transaction 的 Bundle", code="invalid_bundle_type", expression=["Bundle.type"]
            )
        await req.commit()
        return FhirResponse(result)

    @router.get("/_history", summary="system history")
    async def system_history(
        request: Request, req: ReadReq, _since: datetime | None = None, _count: str | None = None
    ) -> FhirResponse:
        rows = await service.history(req.ctx, None, None, _since, parse_count(_count or str(MAX_COUNT // 10)))
        return FhirResponse(bundles.history_bundle(req.ctx, base_url(request), rows))

    async def _search(request: Request, req: FhirRequest, res_type: str, params: list[tuple[str, str]]) -> FhirResponse:
        check_type(res_type)
        options = dict(params)
        shape = shaper(options.get("_summary"), options.get("_elements"))
        result = await service.find(req.ctx, res_type, params)
        if options.get("_summary") == "count":  # the total only: no entries, and so no next page either
            result.matches, result.included, result.next_cursor = [], [], None
        return FhirResponse(bundles.searchset(req.ctx, base_url(request), res_type, params, result, shape))

    @router.get("/{res_type}", summary="search")
    async def search_type(res_type: str, request: Request, req: ReadReq) -> FhirResponse:
        return await _search(request, req, res_type, list(request.query_params.multi_items()))

    @router.post("/{res_type}/_search", summary="search (form POST)")
    async def search_post(res_type: str, request: Request, req: ReadReq) -> FhirResponse:
        form = await request.form()
        params = [*request.query_params.multi_items(), *[(k, str(v)) for k, v in form.multi_items()]]
        return await _search(request, req, res_type, params)

    @router.post("/{res_type}", summary="create (If-None-Exist for conditional create)")
    async def create(
        res_type: str,
        request: Request,
        req: Req,
        if_none_exist: Annotated[str | None, Header()] = None,
        prefer: Annotated[str | None, Header()] = None,
    ) -> Response:
        stored, created = await service.create(req.ctx, check_type(res_type), await json_body(request), if_none_exist)
        await req.commit()
        return _resource_response(req.ctx, stored, 201 if created else 200, prefer, location=True)

    @router.put("/{res_type}", summary="conditional update")
    async def conditional_update(
        res_type: str, request: Request, req: Req, prefer: Annotated[str | None, Header()] = None
    ) -> Response:
        stored, created = await service.conditional_update(
            req.ctx, check_type(res_type), request.url.query, await json_body(request)
        )
        await req.commit()
        return _resource_response(req.ctx, stored, 201 if created else 200, prefer, location=created)

    @router.delete("/{res_type}", summary="conditional delete")
    async def conditional_delete(res_type: str, request: Request, req: Req) -> Response:
        await service.conditional_delete(req.ctx, check_type(res_type), request.url.query)
        await req.commit()
        return Response(status_code=204)

    @router.get("/{res_type}/_history", summary="type history")
    async def type_history(
        res_type: str, request: Request, req: ReadReq, _since: datetime | None = None, _count: str | None = None
    ) -> FhirResponse:
        rows = await service.history(req.ctx, check_type(res_type), None, _since, parse_count(_count or "100"))
        return FhirResponse(bundles.history_bundle(req.ctx, base_url(request), rows))

    @router.post("/{res_type}/$validate", summary="$validate")
    async def validate(res_type: str, request: Request) -> FhirResponse:
        body = await json_body(request)
        if isinstance(body, dict) and body.get("resourceType") == "Parameters":
            body = next((p.get("resource") for p in body.get("parameter", []) if p.get("name") == "resource"), None)
        validate_resource(body, check_type(res_type))
        return FhirResponse(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "information", "code": "informational", "diagnostics": "校验通过 (validation passed)"}
                ],
            }
        )

    @router.get("/Patient/{res_id}/$everything", summary="Patient/$everything")
    async def patient_everything(
        res_id: str, request: Request, req: ReadReq, _count: str | None = None, _cursor: str | None = None
    ) -> FhirResponse:
        return FhirResponse(await everything(req.ctx, base_url(request), res_id, parse_count(_count or "200"), _cursor))

    @router.get("/{res_type}/{res_id}", summary="read")
    async def read(
        res_type: str, res_id: str, req: ReadReq, if_none_match: Annotated[str | None, Header()] = None
    ) -> Response:
        stored = await service.read(req.ctx, check_type(res_type), res_id)
        if if_none_match and if_none_match.strip() == version_tag(stored):
            return Response(status_code=304)
        return _resource_response(req.ctx, stored)

    @router.put("/{res_type}/{res_id}", summary="update (If-Match for optimistic locking)")
    async def update(
        res_type: str,
        res_id: str,
        request: Request,
        req: Req,
        if_match: Annotated[str | None, Header()] = None,
        prefer: Annotated[str | None, Header()] = None,
    ) -> Response:
        stored, created = await service.update(
            req.ctx, check_type(res_type), res_id, await json_body(request), if_match
        )
        await req.commit()
        return _resource_response(req.ctx, stored, 201 if created else 200, prefer, location=created)

    @router.patch("/{res_type}/{res_id}", summary="patch (JSON Patch)")
    async def patch(
        res_type: str,
        res_id: str,
        request: Request,
        req: Req,
        if_match: Annotated[str | None, Header()] = None,
        prefer: Annotated[str | None, Header()] = None,
    ) -> Response:
        content_type = request.headers.get("content-type", "")
        if "json-patch" not in content_type:
            raise FhirError(
                "PATCH 需要 Content-Type: application/json-patch+json",
                status=415,
                issue="not-supported",
                code="unsupported_patch_format",
            )
        stored = await service.patch(req.ctx, check_type(res_type), res_id, await json_body(request), if_match)
        await req.commit()
        return _resource_response(req.ctx, stored, 200, prefer)

    @router.delete("/{res_type}/{res_id}", summary="delete")
    async def delete(res_type: str, res_id: str, req: Req) -> Response:
        stored = await service.delete(req.ctx, check_type(res_type), res_id)
        await req.commit()
        headers = {"ETag": version_tag(stored)} if stored else {}
        return Response(status_code=204, headers=headers)

    @router.get("/{res_type}/{res_id}/_history", summary="instance history")
    async def instance_history(
        res_type: str,
        res_id: str,
        request: Request,
        req: ReadReq,
        _since: datetime | None = None,
        _count: str | None = None,
    ) -> FhirResponse:
        rows = await service.history(req.ctx, check_type(res_type), res_id, _since, parse_count(_count or "100"))
        if not rows:
            raise service.not_found(res_type, res_id)
        return FhirResponse(bundles.history_bundle(req.ctx, base_url(request), rows))

    @router.get("/{res_type}/{res_id}/_history/{version}", summary="vread")
    async def vread(res_type: str, res_id: str, version: str, req: ReadReq) -> Response:
        return _resource_response(req.ctx, await service.vread(req.ctx, check_type(res_type), res_id, version))

    return router
