"""The monthly data-quality report for the health commission, as an Excel workbook."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from jizuo.core.xlsx import workbook_bytes, write_table

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
    write_table(summary, f"{month} 数据质量月报（按机构）", [c for c in COLUMNS if c[0] != "dataset_code"],
                by_institution, RATES)
    write_table(book.create_sheet("机构×数据集"), f"{month} 数据质量（按机构与数据集）", COLUMNS, detail, RATES)
    write_table(book.create_sheet("每日趋势"), f"{month} 每日趋势",
                [("day", "日期")] + [c for c in COLUMNS if c[0] not in ("code", "name", "dataset_code")], by_day, RATES)
    return workbook_bytes(book)
