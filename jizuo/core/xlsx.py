"""Report tables in Excel workbooks: one layout for every report the district receives (a title row, a blue
header row, percentages formatted as such, columns wide enough for their Chinese labels)."""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

Columns = list[tuple[str, str]]  # (row key, header label)


def write_table(sheet: Any, title: str, columns: Columns, rows: list[dict[str, Any]],
                percent: Collection[str] = ()) -> None:
    """`percent`: the keys whose values are fractions, shown as 12.34 %."""
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
            if key in percent:
                sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    for index, (_key, label) in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = max(10, len(label) * 2 + 2)


def workbook_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
