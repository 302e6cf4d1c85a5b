"""The chronic-care indicators as an Excel workbook: 慢病管理指标 (管理率, 规范管理率, 控制率, 随访完成率) per team,
centre or district; 签约指标 (签约率, 续约率, 组合内就诊率); and, for callers who may see personal data, the
overdue follow-up list. The layout follows the data-quality monthly report (jizuo/platform/quality/report.py:
title row, blue header, percentages formatted) — its helper is private to that report and hard-codes its rate
columns, so the few lines are repeated here rather than shared."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from jizuo.apps.chronic import rules

CHRONIC_COLUMNS = [("name", "分组"), ("disease_label", "病种"), ("known_patients", "已知患者"), ("managed", "管理人数"),
                   ("management_rate", "管理率"), ("standardized", "规范管理人数"),
                   ("standardized_rate", "规范管理率"), ("controlled", "控制人数"), ("control_rate", "控制率"),
                   ("followups_due", "应随访"), ("followups_done", "已随访"), ("followup_completion", "随访完成率")]
SIGNING_COLUMNS = [("name", "分组"), ("population", "常住居民"), ("signed", "签约人数"), ("signing_rate", "签约率"),
                   ("elderly_signing_rate", "老年人签约率"), ("hypertension_signing_rate", "高血压签约率"),
                   ("diabetes_signing_rate", "糖尿病签约率"), ("due_for_renewal", "到期"), ("renewed", "已续约"),
                   ("renewal_rate", "续约率"), ("encounters", "就诊人次"), ("encounters_inside", "组合内就诊"),
                   ("combination_visit_rate", "组合内就诊率")]
OVERDUE_COLUMNS = [("resident_name", "居民"), ("disease_label", "病种"), ("due_on", "应随访日期"),
                   ("days_overdue", "逾期天数")]
LEVELS = {"team": "团队", "centre": "社区卫生服务中心", "district": "全区"}


def workbook(year: int, level: str, chronic: list[dict[str, Any]], signing: list[dict[str, Any]],
             overdue: list[dict[str, Any]] | None) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "慢病管理指标"
    label = LEVELS.get(level, level)
    _sheet(first, f"{year} 年慢病管理指标（按{label}）", CHRONIC_COLUMNS,
           [{**r, "disease_label": rules.MANAGED.get(r["disease"], r["disease"])} for r in chronic])
    _sheet(book.create_sheet("签约指标"), f"{year} 年家庭医生签约指标（按{label}）", SIGNING_COLUMNS, signing)
    if overdue is not None:
        _sheet(book.create_sheet("逾期未随访名单"), "逾期未随访名单", OVERDUE_COLUMNS,
               [{**r, "disease_label": rules.MANAGED.get(r["disease"], r["disease"])} for r in overdue])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet: Any, title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([label for _key, label in columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F6FB2")
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        sheet.append([_cell(row.get(key)) for key, _label in columns])
        for index, (key, _label) in enumerate(columns, start=1):
            if key.endswith("rate") or key == "followup_completion":
                sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    for index, (_key, label) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = max(10, len(label) * 2 + 2)


def _cell(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
