"""HTTP of FHIR bulk data: POST /fhir/$import (NDJSON body) and the async $export kick-off/status/files.

Built like jizuo.fhir.api: `build_bulk_router(fhir_request)` takes the platform's dependency yielding a
FhirRequest. Mount it before the main FHIR router, whose `/fhir/{res_type}/{res_id}` would otherwise
claim `/fhir/$export-status/…`. Background export tasks open their sessions from `app.state.sessionmaker`.
No `from __future__ import annotations` here: FastAPI must see the local `Req` alias at runtime.
"""

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from jizuo.fhir.api import FhirRequest, FhirResponse, base_url
from jizuo.fhir.bulk import export
from jizuo.fhir.bulk.importer import ImportReport, check_bulk_access, run_pipeline
from jizuo.fhir.bulk.prepare import Line, Prepared
from jizuo.fhir.bulk.writer import WriteResult, write_batch
from jizuo.fhir.errors import FhirError, issue, operation_outcome
from jizuo.fhir.store import Stored

NDJSON_TYPES = ("application/fhir+ndjson", "application/ndjson", "application/x-ndjson")
MAX_ISSUES = 100
IMPORT_BATCH = 1000


async def _body_lines(request: Request) -> AsyncIterator[Line]:
    """The request body split into lines as it arrives: a large upload is never held whole in memory."""
    buffer, number = b"", 0
    async for chunk in request.stream():
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            number += 1
            if raw.strip():
                yield "request", number, raw.strip()
    if buffer.strip():
        yield "request", number + 1, buffer.strip()


def import_outcome(report: ImportReport) -> dict[str, Any]:
    issues = [issue("information", "informational", report.summary())]
    for rejected in report.rejected[:MAX_ISSUES]:
        where = [f"line[{rejected.line}]"]
        issues.append(issue("error", "invalid", f"第 {rejected.line} 行：{rejected.reason}", where))
    if report.rejected_count > MAX_ISSUES:
        issues.append(issue("warning", "too-costly", f"另有 {report.rejected_count - MAX_ISSUES} 行被拒绝，未逐条列出"))
    return {"resourceType": "OperationOutcome", "issue": issues}


def _require_prefer_async(prefer: str | None) -> None:
    if not prefer or "respond-async" not in prefer:
        raise FhirError("批量导出必须带请求头 Prefer: respond-async", code="prefer_async_required")


def _check_format(output_format: str | None) -> None:
    if output_format and output_format not in (*NDJSON_TYPES, "ndjson"):
        raise FhirError(f"不支持的 _outputFormat：{output_format}，只支持 application/fhir+ndjson",
                        code="unsupported_output_format", expression=["_outputFormat"])


def build_bulk_router(fhir_request: Callable[..., AsyncIterator[FhirRequest]]) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["FHIR bulk data"], default_response_class=FhirResponse)
    Req = Annotated[FhirRequest, Depends(fhir_request)]

    @router.post("/$import", summary="$import (NDJSON body)")
    async def bulk_import(request: Request, req: Req) -> FhirResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in NDJSON_TYPES:
            raise FhirError("$import 需要 Content-Type: application/fhir+ndjson", status=415, issue="not-supported",
                            code="unsupported_import_format")
        ctx = req.ctx
        check_bulk_access(ctx.access)

        async def write(items: list[Prepared], now: datetime) -> WriteResult:
            connection = await ctx.db.connection()
            raw = (await connection.get_raw_connection()).driver_connection
            result = await write_batch(raw, items, now, ctx.cipher)
            for rid, version, item in result.written if ctx.listeners else ():
                # Platform services (the MPI) hear of bulk writes too, inside the batch's transaction.
                await ctx.notify(Stored(rid, item.res_type, item.id, version, now, False, orjson.loads(item.resource)))
            await req.commit()  # one transaction per batch, as in the file import
            return result

        report = await run_pipeline(_body_lines(request), write, cipher=ctx.cipher, workers=0, batch=IMPORT_BATCH)
        ctx.audit.record("import", None, None, detail=report.as_dict())
        await req.commit()
        return FhirResponse(import_outcome(report))

    async def kick_off(request: Request, req: FhirRequest, level: str, prefer: str | None, types: str | None,
                       since: datetime | None, output_format: str | None, group_id: str | None = None) -> Response:
        _require_prefer_async(prefer)
        _check_format(output_format)
        job = await export.create_job(req.ctx, level=level, request_url=str(request.url),
                                      types=export.parse_types(types), since=since, group_id=group_id)
        await req.commit()
        export.start(job.id, request.app.state.sessionmaker, req.ctx.cipher)
        return Response(status_code=202, headers={"Content-Location": f"{base_url(request)}/$export-status/{job.id}"})

    @router.get("/$export", summary="$export (system level)")
    async def export_system(request: Request, req: Req, prefer: Annotated[str | None, Header()] = None,
                            _type: str | None = None, _since: datetime | None = None,
                            _outputFormat: str | None = None) -> Response:  # noqa: N803 (FHIR's parameter name)
        return await kick_off(request, req, "system", prefer, _type, _since, _outputFormat)

    @router.get("/Patient/$export", summary="$export (all patients)")
    async def export_patients(request: Request, req: Req, prefer: Annotated[str | None, Header()] = None,
                              _type: str | None = None, _since: datetime | None = None,
                              _outputFormat: str | None = None) -> Response:  # noqa: N803
        return await kick_off(request, req, "patient", prefer, _type, _since, _outputFormat)

    @router.get("/Group/{group_id}/$export", summary="$export (members of a Group)")
    async def export_group(group_id: str, request: Request, req: Req,
                           prefer: Annotated[str | None, Header()] = None, _type: str | None = None,
                           _since: datetime | None = None, _outputFormat: str | None = None) -> Response:  # noqa: N803
        return await kick_off(request, req, "group", prefer, _type, _since, _outputFormat, group_id)

    @router.get("/$export-status/{job_id}", summary="$export status / manifest")
    async def export_status(job_id: str, request: Request, req: Req) -> Response:
        job = await export.get_job(req.ctx.db, job_id, req.ctx.access.actor)
        if job.status in export.UNFINISHED:
            return Response(status_code=202, headers={"X-Progress": job.progress, "Retry-After": "2"})
        if job.status == "failed":
            detail = "；".join(str(e.get("diagnostics", "")) for e in job.error) or "导出失败"
            return FhirResponse(operation_outcome(FhirError(detail, status=500, issue="exception",
                                                            code="export_failed")), status_code=500)
        return JSONResponse(export.manifest(job, base_url(request)))

    @router.delete("/$export-status/{job_id}", summary="cancel / delete an $export")
    async def export_cancel(job_id: str, req: Req) -> Response:
        job = await export.get_job(req.ctx.db, job_id, req.ctx.access.actor)
        req.ctx.audit.record("export-cancel", None, None, detail={"job": job_id})
        await export.cancel_job(req.ctx.db, job)
        await req.commit()
        return Response(status_code=202)

    @router.get("/$export-file/{job_id}/{file_name}", summary="$export output file")
    async def export_file(job_id: str, file_name: str, req: Req) -> Response:
        job = await export.get_job(req.ctx.db, job_id, req.ctx.access.actor)
        names = {f"{o['type']}.ndjson" for o in job.output}
        if job.status != "completed" or file_name not in names:
            raise FhirError(f"导出文件 {file_name} 不存在", status=404, issue="not-found", code="export_file_not_found")
        req.ctx.audit.record("export-download", file_name.removesuffix(".ndjson"), None, detail={"job": job_id})
        await req.commit()
        return FileResponse(export.export_dir(job.id) / file_name, media_type="application/fhir+ndjson")

    return router

