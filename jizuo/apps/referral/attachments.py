"""Documents attached to a referral: an uploaded PDF or image (≤ 10 MB) stored as FHIR `Binary` + a
`DocumentReference` (subject = the patient, `context.related` = the referral's ServiceRequest), or a link to a
DiagnosticReport / DocumentReference the patient already has (theirs, or a record the MPI links to the same
person). Whoever may read the referral may list and download them; only its two sides may attach. Every
attach and every read is audited."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral import repository
from jizuo.apps.referral.models import Referral, ReferralAttachment
from jizuo.apps.referral.service import sides_of
from jizuo.core.clock import utcnow
from jizuo.core.errors import NotFound, PermissionDenied, ValidationFailed
from jizuo.core.security import get_field_cipher
from jizuo.fhir import service as fhir_service
from jizuo.fhir import store
from jizuo.fhir.access import SYSTEM_ACCESS, AuditSink
from jizuo.fhir.service import FhirContext
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission

MAX_BYTES = 10 * 1024 * 1024
# What we accept, recognised by the file's first bytes (the declared type is not trusted).
_MAGIC = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LINKABLE = ("DiagnosticReport", "DocumentReference")
_NOT_FOUND = "转诊不存在或您无权查看"


def attachment_view(a: ReferralAttachment) -> dict[str, Any]:
    return {"id": a.id, "referral_id": a.referral_id, "kind": a.kind, "reference": a.reference, "title": a.title,
            "content_type": a.content_type, "size": a.size, "created_by": a.created_by,
            "created_at": a.created_at,
            "download": (f"/api/v1/referrals/{a.referral_id}/attachments/{a.id}/content"
                         if a.kind == "upload" else None)}


async def _readable(db: AsyncSession, scope: AccessScope, referral_id: uuid.UUID) -> Referral:
    scope.require(Permission.REFERRAL_READ)
    ref = await repository.get(db, scope, referral_id)
    if ref is None:
        raise NotFound(_NOT_FOUND, code="referral_not_found")
    return ref


async def _writable(db: AsyncSession, scope: AccessScope, referral_id: uuid.UUID) -> Referral:
    ref = await _readable(db, scope, referral_id)
    if not sides_of(scope, ref, await repository.candidates(db, ref.id)):
        raise PermissionDenied("只有转出或接收机构的医生可以添加附件", code="not_your_side")
    return ref


def _sniff(data: bytes) -> str:
    for magic, content_type in _MAGIC.items():
        if data.startswith(magic):
            return content_type
    raise ValidationFailed("只接受 PDF、PNG 或 JPEG 文件", code="attachment_type")


def _ctx(db: AsyncSession, trail: AuditSink) -> FhirContext:
    return FhirContext(db=db, access=SYSTEM_ACCESS, audit=trail, cipher=get_field_cipher())


async def upload(db: AsyncSession, trail: AuditSink, scope: AccessScope, referral_id: uuid.UUID, filename: str,
                 title: str | None, data: bytes) -> dict[str, Any]:
    ref = await _writable(db, scope, referral_id)
    if not data:
        raise ValidationFailed("文件为空", code="attachment_empty")
    if len(data) > MAX_BYTES:
        raise ValidationFailed("附件不能超过 10 MB", code="attachment_too_large")
    content_type = _sniff(data)
    binary_id, document_id = str(uuid.uuid4()), str(uuid.uuid4())
    name = (title or filename or "附件").strip()[:200]
    ctx = _ctx(db, trail)
    await fhir_service.update(ctx, "Binary", binary_id, {
        "resourceType": "Binary", "id": binary_id, "contentType": content_type,
        "securityContext": {"reference": f"ServiceRequest/{ref.id}"},
        "data": base64.b64encode(data).decode("ascii")})
    await fhir_service.update(ctx, "DocumentReference", document_id, {
        "resourceType": "DocumentReference", "id": document_id, "status": "current",
        "type": {"text": "转诊附件"}, "subject": {"reference": f"Patient/{ref.patient_id}"},
        "date": utcnow().isoformat(), "description": name,
        "author": [{"reference": f"Organization/{scope.organization_id}"}] if scope.organization_id else [],
        "content": [{"attachment": {"contentType": content_type, "url": f"Binary/{binary_id}", "size": len(data),
                                    "title": name}}],
        "context": {"related": [{"reference": f"ServiceRequest/{ref.id}"}]}})
    return await _add(db, trail, scope, ref, "upload", f"DocumentReference/{document_id}", name, content_type,
                      len(data))


async def _same_person(db: AsyncSession, patient_id: str, subject: str) -> bool:
    if subject == patient_id:
        return True
    ids = {patient_id}
    for pid in (patient_id, subject):
        record = await repository.mpi_record(db, pid)
        if record is not None and record.person_id is not None:
            ids |= {r.patient_id for r in await repository.mpi_records_of_person(db, record.person_id)}
    return subject in ids


async def link(db: AsyncSession, trail: AuditSink, scope: AccessScope, referral_id: uuid.UUID, reference: str,
               title: str | None) -> dict[str, Any]:
    ref = await _writable(db, scope, referral_id)
    res_type, _, res_id = reference.strip().partition("/")
    if res_type not in LINKABLE or not res_id:
        raise ValidationFailed("只能关联患者的检查检验报告（DiagnosticReport）或文档（DocumentReference）",
                               code="attachment_reference")
    stored = await store.get_current(db, res_type, res_id)
    if stored is None or stored.deleted or not stored.resource:
        raise NotFound("要关联的报告或文档不存在", code="attachment_target_missing")
    subject = str((stored.resource.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
    if not subject or not await _same_person(db, ref.patient_id, subject):
        raise ValidationFailed("该报告或文档不属于本转诊的患者", code="attachment_other_patient")
    resource = stored.resource
    name = (title or resource.get("description") or (resource.get("code") or {}).get("text")
            or (resource.get("type") or {}).get("text") or reference)
    trail.record("read", res_type, res_id, detail={"via": "referral.attachment"})
    return await _add(db, trail, scope, ref, "link", f"{res_type}/{res_id}", str(name)[:200], None, None)


async def _add(db: AsyncSession, trail: AuditSink, scope: AccessScope, ref: Referral, kind: str, reference: str,
               title: str, content_type: str | None, size: int | None) -> dict[str, Any]:
    row = ReferralAttachment(id=uuid.uuid4(), referral_id=ref.id, kind=kind, reference=reference, title=title,
                             content_type=content_type, size=size, created_by=scope.username,
                             organization_id=scope.organization_id, created_at=utcnow())
    db.add(row)
    await db.flush()
    trail.record("create", "DocumentReference" if kind == "upload" else "ReferralAttachment", row.id,
                 detail={"referral": str(ref.id), "reference": reference, "kind": kind})
    return attachment_view(row)


async def list_attachments(db: AsyncSession, trail: AuditSink, scope: AccessScope, referral_id: uuid.UUID
                           ) -> list[dict[str, Any]]:
    ref = await _readable(db, scope, referral_id)
    rows = await db.scalars(select(ReferralAttachment).where(ReferralAttachment.referral_id == ref.id)
                            .order_by(ReferralAttachment.created_at))
    result = [attachment_view(a) for a in rows]
    trail.record("read", "ReferralAttachment", ref.id, detail={"count": len(result)})
    return result


async def content(db: AsyncSession, trail: AuditSink, scope: AccessScope, referral_id: uuid.UUID,
                  attachment_id: uuid.UUID) -> tuple[bytes, str, str]:
    """The uploaded file's bytes, content type and title."""
    ref = await _readable(db, scope, referral_id)
    row = await db.get(ReferralAttachment, attachment_id)
    if row is None or row.referral_id != ref.id or row.kind != "upload":
        raise NotFound("附件不存在", code="attachment_not_found")
    document = await store.get_current(db, "DocumentReference", row.reference.removeprefix("DocumentReference/"))
    url = ((((document.resource or {}).get("content") or [{}])[0]).get("attachment") or {}).get("url", "") \
        if document else ""
    binary = await store.get_current(db, "Binary", str(url).removeprefix("Binary/")) if url else None
    if binary is None or binary.deleted or not binary.resource:
        raise NotFound("附件内容不存在", code="attachment_not_found")
    trail.record("read", "Binary", binary.id, detail={"referral": str(ref.id), "attachment": str(row.id)})
    return (base64.b64decode(binary.resource.get("data") or ""), str(binary.resource.get("contentType")),
            row.title)
