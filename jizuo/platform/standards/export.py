"""The catalogue as an Excel workbook (what a district hands to its vendors): one sheet per part.

Sheets: 数据集 (one row per published data set), 数据集字段, 数据元, 值域 (one row per code), 质控规则.
Written with openpyxl's write-only mode, which streams rows instead of building cell objects.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from jizuo.platform.standards.spec import CatalogueSpec, rule_fields

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
SHEETS = ("数据集", "数据集字段", "数据元", "值域", "质控规则")


def _sheet(book: Workbook, title: str, headers: list[str], widths: list[int],
           rows: Iterable[Iterable[Any]]) -> None:
    sheet: WriteOnlyWorksheet = book.create_sheet(title)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))


def catalogue_workbook(catalogue: CatalogueSpec, check_counts: dict[str, int]) -> bytes:
    book = Workbook(write_only=True)
    data_sets = sorted(catalogue.data_sets.values(), key=lambda d: (d.category, d.code))
    elements = catalogue.elements
    domains = catalogue.value_domains
    _sheet(book, "数据集", ["数据集编码", "名称", "版本", "类别", "依据标准", "FHIR 资源", "主键字段", "事件时间字段",
                            "机构字段", "字段数", "规则数", "质控检查数", "说明"],
           [14, 18, 8, 14, 40, 18, 36, 16, 16, 8, 8, 10, 60],
           ([d.code, d.name, d.version, d.category, d.standard, d.resource, ", ".join(d.key), d.event_field,
             d.institution_field, len(d.fields), len(d.rules), check_counts.get(d.code), d.description]
            for d in data_sets))
    _sheet(book, "数据集字段", ["数据集编码", "数据集名称", "序号", "字段名", "数据元标识", "数据元名称", "列标题",
                                "数据类型", "表示格式", "必填", "值域", "单位", "FHIR 路径", "标识符 system", "引用"],
           [14, 16, 6, 20, 16, 22, 20, 8, 10, 6, 22, 10, 56, 44, 14],
           ([d.code, d.name, position, f.name, f.element, elements[f.element].name if f.element in elements else "",
             f.label, elements[f.element].type if f.element in elements else "",
             elements[f.element].format if f.element in elements else "", "是" if f.required else "否",
             elements[f.element].value_domain if f.element in elements else None,
             elements[f.element].unit if f.element in elements else None, f.fhir, f.fhir_system, f.reference]
            for d in data_sets for position, f in enumerate(d.fields, start=1)))
    _sheet(book, "数据元", ["数据元标识", "名称", "定义", "数据类型", "表示格式", "值域", "单位", "最小值", "最大值"],
           [16, 24, 70, 8, 10, 22, 10, 10, 10],
           ([e.id, e.name, e.definition, e.type, e.format, e.value_domain, e.unit, e.min, e.max]
            for e in sorted(elements.values(), key=lambda e: e.id)))
    _sheet(book, "值域", ["值域代码", "值域名称", "依据标准", "代码系统 (system)", "代码", "含义", "FHIR 映射"],
           [20, 24, 40, 50, 12, 36, 12],
           ([v.code, v.name, v.standard, v.system, c.code, c.display, v.fhir_map.get(c.code)]
            for v in sorted(domains.values(), key=lambda v: v.code) for c in v.values))
    _sheet(book, "质控规则", ["数据集编码", "数据集名称", "规则编号", "类型", "质量维度", "级别", "涉及字段",
                              "提示信息", "参数"],
           [14, 16, 30, 14, 12, 8, 36, 50, 60],
           ([d.code, d.name, r.id, r.type, r.dimension, "错误" if r.severity == "error" else "警告",
             ", ".join(rule_fields(r)), r.message, json.dumps(r.params, ensure_ascii=False)]
            for d in data_sets for r in d.rules))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
