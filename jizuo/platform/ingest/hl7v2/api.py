"""HL7 v2 over HTTP: POST one or more ER7 messages, get their ACKs back (and a batch receipt to look up)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from jizuo.core.errors import BadRequest, PermissionDenied
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.roles import Permission
from jizuo.platform.ingest.hl7v2.ack import ack_code_of
from jizuo.platform.ingest.hl7v2.parse import decode
from jizuo.platform.ingest.hl7v2.service import Sender, ingest_messages
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/ingest", tags=["数据采集 ingest"])
MAX_BODY = 64 * 1024 * 1024
MEDIA_TYPE = "application/hl7-v2"
ACCEPTED_TYPES = ("application/hl7-v2", "x-application/hl7-v2+er7", "application/hl7-v2+er7", "text/")
_ER7 = {"schema": {"type": "string"}, "example": "MSH|^~\\&|LIS|JC-H001|JIZUO|JIZUO|20261125083000||ORU^R01|"
                                                "LAB0001|P|2.5\rPID|1||MRN0001^^^JC-H001^MR||张三||19800101|M\r..."}


def sender_of(scope: AccessScope) -> Sender:
    """An institution sends its own facility's messages; the district administrator any facility's."""
    scope.require(Permission.INGEST_WRITE)
    if scope.personal_data_reach is Reach.DISTRICT:
        return Sender(username=scope.username, institution_id=scope.organization_id, scope=scope)
    if scope.organization_id is None or not scope.organization_code:
        raise PermissionDenied("当前账号未归属任何机构，不能发送 HL7 消息", code="no_institution")
    return Sender(username=scope.username, own_facility=scope.organization_code,
                  institution_id=scope.organization_id, scope=scope)


def _text_of(request: Request, body: bytes) -> str:
    content_type = request.headers.get("content-type", "").lower()
    media, _, params = content_type.partition(";")
    if media.strip() and not media.strip().startswith(ACCEPTED_TYPES):
        raise BadRequest(f"Content-Type 应为 application/hl7-v2 或 text/plain（收到 {media.strip()}）",
                         code="unsupported_media_type")
    if not body.strip():
        raise BadRequest("请求体为空：请发送一条或多条 HL7 v2（ER7）消息", code="empty_body")
    if b"\x00" in body:
        raise BadRequest("请求体不是文本：请发送 HL7 v2 ER7 文本消息", code="not_text")
    charset = next((p.split("=", 1)[1].strip().strip('"') for p in params.split(";") if "charset=" in p), None)
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest(f"请求体无法按声明的字符集 {charset} 解码", code="bad_charset") from exc
    return decode(body)


@router.post(
    "/hl7v2", summary="接收 HL7 v2 消息（ADT / ORU^R01），逐条返回 ACK",
    response_class=Response,
    description="请求体：一条或多条 ER7 消息（段以 \\r 或换行分隔）。响应：每条消息一个 ACK（段以 \\r 分隔，ACK 之间以 "
                "\\n 分隔），顺序与消息一致；其中含 AE/AR 时状态码仍为 200。响应头 X-Batch-Id 为批次号，可用 "
                "GET /api/v1/ingest/batches/{id} 查看回执。",
    openapi_extra={"requestBody": {"required": True, "content": {MEDIA_TYPE: _ER7, "text/plain": _ER7}}},
    responses={200: {"description": "ACK 消息（ER7）", "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
                     "headers": {"X-Batch-Id": {"schema": {"type": "string", "format": "uuid"},
                                                "description": "批次号（回执）"}}}},
)
async def ingest_hl7v2(request: Request, scope: ScopeDep, unit: UnitDep) -> Response:
    sender = sender_of(scope)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest("请求体超过 64 MB，请分批发送", code="body_too_large")
    text = _text_of(request, body)
    batch_id, acks = await ingest_messages(unit.db, sender, text, "hl7v2")
    codes = [ack_code_of(a) for a in acks]
    unit.trail.record("ingest_hl7v2", "IngestBatch", batch_id, detail={
        "messages": len(acks), "AA": codes.count("AA"), "AE": codes.count("AE"), "AR": codes.count("AR")})
    await unit.commit()
    return Response("\n".join(acks).encode("utf-8"), media_type=f"{MEDIA_TYPE}; charset=utf-8",
                    headers={"X-Batch-Id": str(batch_id)})
