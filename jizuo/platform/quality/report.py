"""The monthly data-quality report for the health commission, as an Excel workbook."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

COLUMNS = [("code", "机构编码"), ("name", "机构名称"), ("dataset_code", "数据集"), ("records", "上报记录数"),
           ("duplicates", "重复"), ("held", "入隔离区"), ("still_held", "仍在隔离区"), ("completeness", "完整率"),
           ("conformity", "规范率"), ("logic", "逻辑一致率"), ("timeliness", "及时率"), ("error_rate", "差错率"),
           ("score", "综合得分")]
RATES = {"completeness", "conformity", "logic", "timeliness", "error_rate"}


def monthly_workbook(month: str, by_institution: list[dict[str, Any]], detail: list[dict[str, Any]],
                     by_day: list[dict[str, Any]]) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "机构汇总"
    _sheet(summary, f"{month} 数据质量月报（按机构）", [c for c in COLUMNS if c[0] != "dataset_code"], by_institution)
    _sheet(book.create_sheet("机构×数据集"), f"{month} 数据质量（按机构与数据集）", COLUMNS, detail)
    _sheet(book.create_sheet("每日趋势"), f"{month} 每日趋势",
           [("day", "日期")] + [c for c in COLUMNS if c[0] not in ("code", "name", "dataset_code")], by_day)
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
            if key in RATES:
                sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    for index, (_key, label) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = max(10, len(label) * 2 + 2)


def _cell(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
