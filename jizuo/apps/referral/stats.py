"""Referral statistics: up/down referrals by institution, acceptance rate, hours to accept and to complete, and
the down-referral share. Counts only — no personal data — so the regulator may read them; staff of an
institution see their own institution's row."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import SHANGHAI
from jizuo.core.errors import ValidationFailed
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role

_BY_INSTITUTION = text("""
WITH period AS (
    SELECT r.*, acc.at AS accepted_at, done.at AS completed_at
    FROM referral r
    LEFT JOIN LATERAL (SELECT min(at) AS at FROM referral_event e
                       WHERE e.referral_id = r.id AND e.action = 'accept') acc ON true
    LEFT JOIN LATERAL (SELECT min(at) AS at FROM referral_event e
                       WHERE e.referral_id = r.id AND e.action = 'complete') done ON true
    WHERE r.requested_at >= :start AND r.requested_at < :end
), sent AS (
    SELECT source_organization_id AS org,
           count(*) FILTER (WHERE direction = 'up') AS sent_up,
           count(*) FILTER (WHERE direction = 'down') AS sent_down,
           count(*) FILTER (WHERE direction = 'lateral') AS sent_lateral,
           count(*) FILTER (WHERE accepted_at IS NOT NULL) AS sent_accepted,
           count(*) FILTER (WHERE accepted_at IS NOT NULL OR status IN ('rejected', 'expired')) AS sent_decided
    FROM period GROUP BY 1
), received AS (
    SELECT accepted_organization_id AS org, count(*) AS received,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           avg(extract(epoch FROM accepted_at - requested_at) / 3600) AS hours_to_accept,
           avg(extract(epoch FROM completed_at - requested_at) / 3600)
               FILTER (WHERE completed_at IS NOT NULL) AS hours_to_complete
    FROM period WHERE accepted_organization_id IS NOT NULL GROUP BY 1
)
SELECT o.id, o.code, o.name, o.level,
       coalesce(s.sent_up, 0) AS sent_up, coalesce(s.sent_down, 0) AS sent_down,
       coalesce(s.sent_lateral, 0) AS sent_lateral, coalesce(s.sent_accepted, 0) AS sent_accepted,
       coalesce(s.sent_decided, 0) AS sent_decided, coalesce(v.received, 0) AS received,
       coalesce(v.completed, 0) AS completed, v.hours_to_accept, v.hours_to_complete
FROM organization o
LEFT JOIN sent s ON s.org = o.id
LEFT JOIN received v ON v.org = o.id
WHERE (s.org IS NOT NULL OR v.org IS NOT NULL) AND (CAST(:only AS uuid) IS NULL OR o.id = CAST(:only AS uuid))
ORDER BY coalesce(s.sent_up, 0) + coalesce(s.sent_down, 0) + coalesce(v.received, 0) DESC, o.code
""")


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def statistics(db: AsyncSession, trail: AuditSink, scope: AccessScope, start: date, end: date
                     ) -> dict[str, Any]:
    scope.require(Permission.STATS_READ)
    if end < start or (end - start).days > 366:
        raise ValidationFailed("统计区间须在一年以内，且结束日期不早于开始日期", code="invalid_period")
    only: uuid.UUID | None = None
    if scope.role not in (Role.DISTRICT_ADMIN, Role.REGULATOR):
        only = scope.organization_id
    begin = datetime.combine(start, time.min, SHANGHAI)
    finish = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    rows = (await db.execute(_BY_INSTITUTION, {"start": begin, "end": finish,
                                               "only": str(only) if only else None})).mappings().all()
    institutions = [{
        "organization_id": r["id"], "code": r["code"], "name": r["name"], "level": r["level"],
        "sent_up": r["sent_up"], "sent_down": r["sent_down"], "sent_lateral": r["sent_lateral"],
        "received": r["received"], "completed": r["completed"],
        "acceptance_rate": round(r["sent_accepted"] / r["sent_decided"], 3) if r["sent_decided"] else None,
        "hours_to_accept": _rounded(r["hours_to_accept"]), "hours_to_complete": _rounded(r["hours_to_complete"]),
    } for r in rows]
    up = sum(i["sent_up"] for i in institutions)
    down = sum(i["sent_down"] for i in institutions)
    trail.record("read", "ReferralStatistics", None, detail={"start": str(start), "end": str(end)})
    return {"start": start, "end": end, "up": up, "down": down,
            "down_share": round(down / (up + down), 3) if up + down else None, "institutions": institutions}


async def export_workbook(db: AsyncSession, trail: AuditSink, scope: AccessScope, start: date, end: date) -> bytes:
    """The same figures as the screen, one row per institution, as an Excel workbook."""
    data = await statistics(db, trail, scope, start, end)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "转诊统计"
    sheet.append([f"双向转诊统计（{start} 至 {end}）", f"上转 {data['up']}", f"下转 {data['down']}",
                  f"下转占比 {data['down_share'] if data['down_share'] is not None else '—'}"])
    sheet.append(["机构编码", "机构名称", "等级", "上转", "下转", "平转", "接收", "完成", "接收率",
                  "平均接收用时（时）", "平均完成用时（时）"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for i in data["institutions"]:
        sheet.append([i["code"], i["name"], i["level"], i["sent_up"], i["sent_down"], i["sent_lateral"],
                      i["received"], i["completed"], i["acceptance_rate"], i["hours_to_accept"],
                      i["hours_to_complete"]])
    sheet.column_dimensions["B"].width = 30
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
