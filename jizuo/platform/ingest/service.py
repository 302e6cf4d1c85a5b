"""Ingestion rules: who may submit for which institution, receipts, and the quarantine's fix / discard."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import get_field_cipher
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.models import IngestBatch, IngestRecord
from jizuo.platform.ingest.pipeline import load_state, record_fingerprints, write_mapped
from jizuo.platform.ingest.schemas import BatchOut, QuarantinedRecord, Receipt, RecordError
from jizuo.platform.quality.engine import Context


async def submitting_institution(db: AsyncSession, scope: AccessScope, code: str | None) -> uuid.UUID:
    """An institution submits its own data; the district administrator may submit for any institution."""
    scope.require(Permission.INGEST_WRITE)
    if scope.personal_data_reach is Reach.DISTRICT:
        if not code:
            if scope.organization_id:
                return scope.organization_id
            raise ValidationFailed("区级管理员上传时须指定机构编码（institution）", code="institution_required")
        organization = await repo.organization_by_code(db, code)
        if organization is None:
            raise NotFound(f"机构编码 {code} 不存在", code="organization_not_found")
        return organization.id
    if scope.organization_id is None:
        raise PermissionDenied("当前账号未归属任何机构，不能上传数据", code="no_institution")
    if code and code != scope.organization_code:
        raise PermissionDenied("只能上传本机构的数据", code="other_institution")
    return scope.organization_id


def batch_out(batch: IngestBatch, names: dict[uuid.UUID, tuple[str, str]] | None = None) -> BatchOut:
    code, name = (names or {}).get(batch.institution_id, (None, None)) if batch.institution_id else (None, None)
    return BatchOut(batch_id=batch.id, source=batch.source, dataset_code=batch.dataset_code,
                    institution_id=batch.institution_id, institution_code=code, institution_name=name,
                    filename=batch.filename, submitted_by=batch.submitted_by,
                    status=batch.status, received=batch.received, accepted=batch.accepted,
                    quarantined=batch.quarantined, duplicates=batch.duplicates, created_at=batch.created_at,
                    finished_at=batch.finished_at)


async def visible_batch(db: AsyncSession, scope: AccessScope, batch_id: uuid.UUID) -> IngestBatch:
    scope.require(Permission.QUALITY_READ)
    batch = await repo.get_batch(db, batch_id)
    reach = scope.personal_data_reach
    # Receipts quote the offending values (names, 身份证): the submitting institution and the district only.
    if batch is None or (reach is not Reach.DISTRICT and batch.institution_id != scope.organization_id):
        raise NotFound("批次不存在或无权查看", code="batch_not_found")
    return batch


async def receipt(db: AsyncSession, scope: AccessScope, batch_id: uuid.UUID) -> Receipt:
    batch = await visible_batch(db, scope, batch_id)
    failures = await repo.batch_failures(db, batch.id, repo.ERRORS_IN_RECEIPT + 1)
    errors = [RecordError(row=seq, **f) for seq, items in failures[:repo.ERRORS_IN_RECEIPT] for f in items]
    names = await repo.organization_names(db, {batch.institution_id})
    return Receipt(**batch_out(batch, names).model_dump(exclude={"submitted_by"}), errors=errors,
                   errors_truncated=len(failures) > repo.ERRORS_IN_RECEIPT, notes=batch.notes or {},
                   error=batch.error)


def decrypt_fields(record: IngestRecord) -> dict[str, str]:
    if record.data_enc is None:
        return {}
    data: dict[str, Any] = orjson.loads(get_field_cipher().decrypt(record.data_enc))
    if isinstance(data.get("resource"), dict):  # a FHIR submission: its catalogue fields
        return {k: str(v) for k, v in (data.get("fields") or {}).items()}
    return {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in data.items()}


def quarantined_out(record: IngestRecord, names: dict[uuid.UUID, tuple[str, str]] | None = None
                    ) -> QuarantinedRecord:
    name = (names or {}).get(record.institution_id, (None, None))[1] if record.institution_id else None
    return QuarantinedRecord(id=record.id, batch_id=record.batch_id, row=record.seq,
                             dataset_code=record.dataset_code, institution_id=record.institution_id,
                             institution_name=name,
                             status=record.status, fields=decrypt_fields(record), failures=record.failures,
                             received_at=record.received_at, resources=record.resources or [],
                             resolved_by=record.resolved_by, resolution_note=record.resolution_note)


def _require_personal_reach(scope: AccessScope) -> None:
    if scope.personal_data_reach not in (Reach.DISTRICT, Reach.ORGANIZATION):
        raise PermissionDenied("当前角色不能查看隔离区记录明细（含个人信息）", code="quarantine_forbidden")


async def list_quarantine(db: AsyncSession, scope: AccessScope, trail: AuditTrail, *,
                          batch_id: uuid.UUID | None, dataset_code: str | None, offset: int, limit: int
                          ) -> tuple[list[QuarantinedRecord], int]:
    scope.require(Permission.QUALITY_READ)
    _require_personal_reach(scope)
    records, total = await repo.quarantined(db, scope, batch_id=batch_id, dataset_code=dataset_code,
                                            offset=offset, limit=limit)
    trail.record("read", "IngestRecord", None, detail={"quarantine": len(records),
                                                        "batch_id": str(batch_id) if batch_id else None})
    names = await repo.organization_names(db, {r.institution_id for r in records})
    return [quarantined_out(r, names) for r in records], total


async def _held_record(db: AsyncSession, scope: AccessScope, record_id: int) -> IngestRecord:
    scope.require(Permission.QUALITY_FIX)
    _require_personal_reach(scope)
    record = await repo.get_record(db, scope, record_id)
    if record is None:
        raise NotFound("隔离记录不存在或无权处理", code="record_not_found")
    if record.status != "quarantined":
        raise Conflict(f"该记录当前状态为 {record.status}，不在隔离区中", code="record_not_held")
    return record


async def fix_record(db: AsyncSession, scope: AccessScope, trail: AuditTrail, record_id: int,
                     changes: dict[str, str]) -> QuarantinedRecord:
    """Apply the changes, check the record again; if it passes, write it to FHIR and release it, else keep it
    held with the new failures. Either way the answer shows where the record stands."""
    record = await _held_record(db, scope, record_id)
    source = await repo.get_batch(db, record.batch_id)
    if record.dataset_code is None or (source is not None and source.source not in ("csv", "xlsx", "frontdb")):
        raise Conflict("该记录来自 FHIR 或 HL7 消息，请在来源系统修正后重新发送（重新发送会替代这条隔离记录）",
                       code="fix_at_source")
    state = await load_state(db, record.batch_id, record.dataset_code, record.institution_id, Actor.of(scope))
    validator = state.compiled.validator
    unknown = sorted(set(changes) - set(validator.by_name))
    if unknown:
        raise ValidationFailed("数据集中没有这些字段：" + "、".join(unknown), code="unknown_field",
                               errors=[FieldError(f"fields.{n}", "未知字段") for n in unknown])
    raw = {**decrypt_fields(record), **changes}
    checked = validator.check(raw, Context(record.received_at, state.references, set()))
    cipher = get_field_cipher()
    key = validator.key_of(checked.values, raw)
    record.record_key, record.content_hash = record_fingerprints(cipher, key, raw)
    record.data_enc = cipher.encrypt(orjson.dumps(raw).decode())
    # Only the failures change: the scorecard columns (dimensions, completeness, lateness) keep describing the
    # record as it arrived, which is what an institution's quality score is about.
    record.failures = [f.as_dict() for f in checked.failures]
    if checked.passed:
        mapped = state.compiled.mapper.map(checked.values, state.institution_code, key, state.lookups)
        row: dict[str, Any] = {"failures": list(record.failures), "dimensions": [],
                               "status": "accepted", "resources": []}
        counts = {"accepted": 1, "quarantined": 0}
        await write_mapped(db, state, [row], [mapped.all()], [0], counts)
        if counts["accepted"]:
            record.status, record.resources = "released", row["resources"]
            record.resolved_by, record.resolved_at = scope.username, utcnow()
            record.resolution_note = "修正后重新校验通过，已入库"
        else:
            record.failures = row["failures"]
    trail.record("quarantine_fix", "IngestRecord", record.id, detail={"released": record.status == "released",
                                                                        "fields": sorted(changes)})
    await db.flush()
    return quarantined_out(record)


async def discard_record(db: AsyncSession, scope: AccessScope, trail: AuditTrail, record_id: int,
                         reason: str) -> QuarantinedRecord:
    """A person decides a held record is not to be loaded; it stays, marked, with who and why."""
    record = await _held_record(db, scope, record_id)
    record.status, record.resolved_by, record.resolved_at = "discarded", scope.username, utcnow()
    record.resolution_note = reason
    trail.record("quarantine_discard", "IngestRecord", record.id, detail={"reason": reason})
    await db.flush()
    return quarantined_out(record)
