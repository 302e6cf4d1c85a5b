"""Statistics for the 卫健委 and the catalogue screens: prompts, recognitions, re-tests by reason, saved cost,
by institution / department / doctor / item / day; Excel export. Counts only — no patient appears here."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.recognition import repository
from jizuo.apps.recognition.catalogue import retest_reasons
from jizuo.apps.recognition.listener import forget_reference_data
from jizuo.apps.recognition.service import LOCAL_TZ
from jizuo.core.errors import BadRequest, NotFound
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission, Role
from jizuo.platform.registry.codes import LEVEL_RANK

GROUPS = ("organization", "department", "doctor", "item", "day", "reason")
GROUP_TITLES = {"organization": "机构", "department": "科室", "doctor": "医生", "item": "项目", "day": "日期",
                "reason": "复查理由"}


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start or (end - start).days > 366:
        raise BadRequest("统计区间须为结束日期不早于开始日期、且不超过一年", code="bad_period")
    return (datetime.combine(start, time(0), LOCAL_TZ).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(0), LOCAL_TZ).astimezone(UTC))


def _own_organization(scope: AccessScope) -> uuid.UUID | None:
    """The commission and district administrators see the district; everyone else their institution."""
    scope.require(Permission.STATS_READ)
    if scope.role in (Role.REGULATOR, Role.DISTRICT_ADMIN):
        return None
    if scope.organization_id is None:
        raise NotFound("当前账号未归属机构", code="no_organization")
    return scope.organization_id


async def statistics(db: AsyncSession, audit: AuditSink, scope: AccessScope, group: str, start: date, end: date
                     ) -> dict[str, Any]:
    if group not in GROUPS:
        raise BadRequest(f"分组须为 {', '.join(GROUPS)} 之一", code="bad_group")
    organization = _own_organization(scope)
    low, high = _bounds(start, end)
    rows = await repository.prompt_totals(db, group, low, high, organization)
    totals_rows = await repository.prompt_totals(db, "item", low, high, organization)
    labels = await _labels(db, group)
    out = [{"key": None if r["key"] is None else str(r["key"]), "label": labels.get(str(r["key"]), str(r["key"])),
            "prompts": r["prompts"], "recognised": r["recognised"], "retested": r["retested"],
            "saved": float(r["saved"] or 0)} for r in rows]
    totals = {"key": None, "label": "合计", "prompts": sum(r["prompts"] for r in totals_rows),
              "recognised": sum(r["recognised"] for r in totals_rows),
              "retested": sum(r["retested"] for r in totals_rows),
              "saved": float(sum((r["saved"] or Decimal(0)) for r in totals_rows))}
    audit.record("recognition_stats", None, None, "success", {"group": group, "start": str(start), "end": str(end)})
    return {"group": group, "start": start, "end": end, "totals": totals, "rows": out}


async def _labels(db: AsyncSession, group: str) -> dict[str, str]:
    if group == "organization":
        return {key: org.name for key, org in (await repository.institutions(db)).items()}
    if group == "item":
        return {item.code: item.name for item in await repository.list_items(db)}
    if group == "reason":
        return {code: reason["name"] for code, reason in retest_reasons().items()}
    return {}


async def export_workbook(db: AsyncSession, audit: AuditSink, scope: AccessScope, start: date, end: date) -> bytes:
    """One sheet per grouping, the same figures as the screen."""
    book = Workbook()
    first = True
    for group in GROUPS:
        data = await statistics(db, audit, scope, group, start, end)
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = f"按{GROUP_TITLES[group]}"
        sheet.append([f"检查检验结果互认统计（{start} 至 {end}）"])
        sheet.append([GROUP_TITLES[group], "提示次数", "互认次数", "复查次数", "互认率", "节约费用（元）"])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in [*data["rows"], data["totals"]]:
            rate = row["recognised"] / row["prompts"] if row["prompts"] else 0
            sheet.append([row["label"], row["prompts"], row["recognised"], row["retested"], round(rate, 4),
                          row["saved"]])
        sheet.column_dimensions["A"].width = 30
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- catalogue -----------------------------------------------------------------------------------------


def _item_view(item: Any, codes: list[Any]) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "kind": item.kind, "loinc": item.loinc,
            "window_days": item.window_days, "min_level": item.min_level, "needs_qc": item.needs_qc,
            "price": float(item.price), "active": item.active, "version": item.version,
            "codes": [{"system": c.system, "code": c.code, "display": c.display,
                       "organization_code": c.organization_code} for c in codes]}


async def list_items(db: AsyncSession, scope: AccessScope) -> list[dict[str, Any]]:
    scope.require(Permission.STANDARDS_READ)
    codes = await repository.codes_of_items(db)
    return [_item_view(item, codes.get(item.id, [])) for item in await repository.list_items(db)]


async def update_item(db: AsyncSession, audit: AuditSink, scope: AccessScope, code: str, changes: dict[str, Any]
                      ) -> dict[str, Any]:
    scope.require(Permission.RECOGNITION_ADMIN)
    item = await repository.get_item(db, code)
    if item is None:
        raise NotFound(f"互认项目 {code} 不存在", code="item_not_found")
    if changes.get("min_level") is not None and changes["min_level"] not in LEVEL_RANK:
        raise BadRequest(f"机构等级须为 {', '.join(LEVEL_RANK)} 之一", code="bad_level")
    new_codes = changes.pop("codes", None)
    for key, value in changes.items():
        if value is not None:
            setattr(item, key, Decimal(str(value)) if key == "price" else value)
    if new_codes is not None:
        taken = await repository.item_codes_taken(db, [(c["system"], c["code"]) for c in new_codes])
        clash = [f"{s}|{c}" for (s, c), owner in taken.items() if owner != item.id]
        if clash:
            raise BadRequest(f"代码已映射到其他项目：{', '.join(clash)}", code="code_taken")
        await repository.replace_item_codes(db, item.id, new_codes)
    item.version += 1
    await db.flush()
    forget_reference_data()  # results written from now on are projected with the edited item
    audit.record("recognition_item_update", None, code, "success", {"changed": sorted(changes)})
    codes = await repository.codes_of_items(db)
    return _item_view(item, codes.get(item.id, []))


async def list_institutions(db: AsyncSession, scope: AccessScope) -> list[dict[str, Any]]:
    scope.require(Permission.ORG_READ)
    orgs = await repository.institutions(db)
    rows = {str(r.organization_id): r for r in await repository.institution_rows(db)}
    return [{"organization_id": key, "code": org.code, "name": org.name, "level": org.level,
             "participating": org.participating, "qc_certified": org.qc_certified,
             "qc_valid_until": rows[key].qc_valid_until if key in rows else None}
            for key, org in sorted(orgs.items(), key=lambda kv: (-kv[1].rank, kv[1].code)) if key in rows]
