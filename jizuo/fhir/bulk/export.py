"""Bulk $export (FHIR Bulk Data Access IG, async pattern): a job row, a background task writing NDJSON files.

The task runs inside the server process and keeps `heartbeat_at` fresh; a job whose heartbeat stopped (the
server restarted or the process died) is reported failed with that reason instead of "in progress" forever.
Every resource goes through `service.to_client` with the caller's access as recorded at kick-off, so files
hold exactly what the caller could have read: 身份证/phone decrypted, masked unless their role sees them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.core.config import get_settings
from jizuo.core.security import FieldCipher
from jizuo.fhir import service, store
from jizuo.fhir.access import FhirAccess
from jizuo.fhir.bulk.models import FhirExportJob
from jizuo.fhir.compartment import PATIENT_COMPARTMENT, patient_params
from jizuo.fhir.errors import FhirError
from jizuo.fhir.models import FhirResource, idx_reference
from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored
from jizuo.fhir.validation import is_resource_type

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=2)
CHUNK = 1000
UNFINISHED = ("queued", "running")
_tasks: dict[uuid.UUID, asyncio.Task[None]] = {}  # jobs running in this process (strong refs, and for cancel)


class _NoAudit:
    """The kick-off and each download are audited; the background reads are covered by the kick-off."""

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None:
        return None


def export_dir(job_id: uuid.UUID) -> Path:
    return get_settings().data_dir / "exports" / str(job_id)


def parse_types(value: str | None) -> list[str] | None:
    if not value:
        return None
    types = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if not is_resource_type(t)]
    if unknown:
        raise FhirError(f"_type 中有未知的资源类型：{', '.join(unknown)}", code="unknown_resource_type",
                        expression=["_type"])
    return types


async def group_members(ctx: FhirContext, group_id: str) -> list[str]:
    group = await store.get_current(ctx.db, "Group", group_id)
    if group is None or group.deleted or not group.resource:
        raise service.not_found("Group", group_id)
    members = []
    for member in group.resource.get("member") or []:
        reference = str(((member or {}).get("entity") or {}).get("reference") or "")
        if reference.startswith("Patient/"):
            members.append(reference.removeprefix("Patient/"))
    return members


async def create_job(ctx: FhirContext, *, level: str, request_url: str, types: list[str] | None,
                     since: datetime | None, group_id: str | None = None) -> FhirExportJob:
    """Check the caller may export this, and record the job (the caller commits, then calls `start`)."""
    if not ctx.access.may_read or not ctx.access.actor:
        raise FhirError("当前角色无权导出临床数据", status=403, issue="forbidden", code="export_forbidden")
    if level == "system" and not ctx.access.unrestricted:
        raise FhirError("系统级导出仅对全区权限开放，请使用 Patient/$export", status=403, issue="forbidden",
                        code="export_forbidden")
    patients = None if ctx.access.patient_ids is None else sorted(ctx.access.patient_ids)
    if group_id is not None:
        members = await group_members(ctx, group_id)
        patients = [m for m in members if patients is None or m in set(patients)]
    now = utcnow()
    job = FhirExportJob(id=uuid.uuid4(), owner=ctx.access.actor, request_url=request_url, level=level,
                        group_id=group_id, types=types, since=since, patient_ids=patients,
                        reveal=ctx.reveal_personal_data, status="queued", progress="queued", transaction_time=now,
                        output=[], error=[], heartbeat_at=now)
    ctx.db.add(job)
    ctx.audit.record("export", None, None, detail={"job": str(job.id), "level": level, "types": types,
                                                   "group": group_id, "since": since.isoformat() if since else None})
    return job


def start(job_id: uuid.UUID, sessionmaker: async_sessionmaker[AsyncSession], cipher: FieldCipher) -> None:
    task = asyncio.create_task(run_job(job_id, sessionmaker, cipher), name=f"fhir-export-{job_id}")
    _tasks[job_id] = task
    task.add_done_callback(lambda _: _tasks.pop(job_id, None))


async def _set(db: AsyncSession, job_id: uuid.UUID, **values: Any) -> bool:
    """Update an unfinished job; False when it was cancelled meanwhile (then the task stops)."""
    result = await db.execute(update(FhirExportJob).where(FhirExportJob.id == job_id,
                                                          FhirExportJob.status.in_(UNFINISHED))
                              .values(heartbeat_at=utcnow(), **values))
    await db.commit()
    return bool(getattr(result, "rowcount", 0))


async def _export_types(db: AsyncSession, job: FhirExportJob) -> list[str]:
    present = sorted(await db.scalars(select(FhirResource.res_type).distinct()))
    wanted = job.types or present
    if job.level == "system":
        return [t for t in wanted if t in present]
    return [t for t in wanted if t in present and (t == "Patient" or t in PATIENT_COMPARTMENT)]


def _rows_query(job: FhirExportJob, res_type: str, after: int) -> Any:
    query = (select(FhirResource.rid, FhirResource.res_type, FhirResource.id, FhirResource.version,
                    FhirResource.last_updated, FhirResource.deleted, FhirResource.resource)
             .where(FhirResource.res_type == res_type, FhirResource.deleted.is_(False), FhirResource.rid > after,
                    FhirResource.last_updated <= job.transaction_time)
             .order_by(FhirResource.rid).limit(CHUNK))
    if job.since is not None:
        query = query.where(FhirResource.last_updated > job.since)
    if job.patient_ids is not None:
        if res_type == "Patient":
            query = query.where(FhirResource.id.in_(job.patient_ids))
        else:
            query = query.where(FhirResource.rid.in_(
                select(idx_reference.c.rid).where(idx_reference.c.res_type == res_type,
                                                  idx_reference.c.target_type == "Patient",
                                                  idx_reference.c.target_id.in_(job.patient_ids),
                                                  idx_reference.c.param.in_(patient_params(res_type)))))
    return query


async def _export_type(ctx: FhirContext, job: FhirExportJob, res_type: str, path: Path,
                       progress: Callable[[str, int], Awaitable[bool]]) -> int | None:
    """Write one type's file; the number written, or None when `progress` says the job was cancelled."""
    count, after = 0, 0
    with path.open("wb") as handle:
        while True:
            rows = (await ctx.db.execute(_rows_query(job, res_type, after))).all()
            if not rows:
                return count
            lines = [orjson.dumps(service.to_client(ctx, Stored(*row))) for row in rows]
            handle.write(b"\n".join(lines) + b"\n")
            count += len(rows)
            after = rows[-1].rid
            if not await progress(res_type, count):
                return None


async def run_job(job_id: uuid.UUID, sessionmaker: async_sessionmaker[AsyncSession], cipher: FieldCipher) -> None:
    directory = export_dir(job_id)
    async with sessionmaker() as db:
        job = await db.get(FhirExportJob, job_id)
        if job is None:
            return
        db.expunge(job)  # a detached snapshot: the per-chunk commits below must not expire it
        if not await _set(db, job_id, status="running", progress="started"):
            return
        try:
            patients = None if job.patient_ids is None else frozenset(job.patient_ids)
            access = FhirAccess(may_read=True, may_write=False, patient_ids=patients, actor=job.owner)
            ctx = FhirContext(db=db, access=access, audit=_NoAudit(), cipher=cipher, reveal_personal_data=job.reveal)
            directory.mkdir(parents=True, exist_ok=True)
            output: list[dict[str, Any]] = []

            async def progress(res_type: str, count: int) -> bool:
                return await _set(db, job_id, progress=f"exporting {res_type}: {count} written")

            for res_type in await _export_types(db, job):
                count = await _export_type(ctx, job, res_type, directory / f"{res_type}.ndjson", progress)
                if count is None:
                    shutil.rmtree(directory, ignore_errors=True)
                    return
                if count:
                    output.append({"type": res_type, "count": count})
                else:
                    (directory / f"{res_type}.ndjson").unlink(missing_ok=True)
            await _set(db, job_id, status="completed", output=output, finished_at=utcnow(),
                       progress=f"completed: {sum(o['count'] for o in output)} resources")
        except Exception as exc:  # the job fails, the server does not: the reason is reported at status
            log.exception("export job %s failed", job_id)
            await db.rollback()
            await _set(db, job_id, status="failed", finished_at=utcnow(), progress="failed",
                       error=[{"type": "OperationOutcome", "diagnostics": f"{type(exc).__name__}: {exc}"[:500]}])


async def get_job(db: AsyncSession, job_id: str, actor: str | None) -> FhirExportJob:
    """The caller's own job (another caller's job does not exist for them); stale ones are marked failed."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        key = None
    job = await db.get(FhirExportJob, key) if key else None
    if job is None or not actor or job.owner != actor or job.status == "cancelled":
        raise FhirError(f"导出任务 {job_id} 不存在", status=404, issue="not-found", code="export_job_not_found")
    if job.status in UNFINISHED and job.id not in _tasks and utcnow() - job.heartbeat_at > STALE_AFTER:
        reason = "导出任务已中断（服务重启或进程退出），请重新发起导出"
        await _set(db, job.id, status="failed", finished_at=utcnow(), progress="failed",
                   error=[{"type": "OperationOutcome", "diagnostics": reason}])
        await db.refresh(job)
    return job


async def cancel_job(db: AsyncSession, job: FhirExportJob) -> None:
    await db.execute(update(FhirExportJob).where(FhirExportJob.id == job.id)
                     .values(status="cancelled", finished_at=utcnow(), progress="cancelled"))
    await db.commit()
    task = _tasks.get(job.id)
    if task is not None:
        task.cancel()
    shutil.rmtree(export_dir(job.id), ignore_errors=True)


def manifest(job: FhirExportJob, base: str) -> dict[str, Any]:
    return {
        "transactionTime": service.instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": o["type"], "url": f"{base}/$export-file/{job.id}/{o['type']}.ndjson", "count": o["count"]}
                   for o in job.output],
        "error": [],
    }


async def export_to_dir(db: AsyncSession, out: Path, *, types: list[str] | None, since: datetime | None,
                        cipher: FieldCipher, reveal: bool = False) -> dict[str, int]:
    """System-level export straight to `out` (the CLI): no job row, same files and masking as over HTTP."""
    job = FhirExportJob(id=uuid.uuid4(), level="system", types=types, since=since, patient_ids=None,
                        transaction_time=utcnow())
    ctx = FhirContext(db=db, access=FhirAccess(may_read=True, may_write=False, actor="cli"), audit=_NoAudit(),
                      cipher=cipher, reveal_personal_data=reveal)
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    async def keep_going(res_type: str, count: int) -> bool:
        return True

    for res_type in await _export_types(db, job):
        counts[res_type] = await _export_type(ctx, job, res_type, out / f"{res_type}.ndjson", keep_going) or 0
    return counts
