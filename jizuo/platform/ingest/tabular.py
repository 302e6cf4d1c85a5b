"""Reading an uploaded data-set file (CSV in UTF-8 or GB18030, or XLSX) into rows of text cells.

Chinese HIS exports are often GB18030 (Excel's "CSV" on a zh-CN Windows); a UTF-8 BOM is common too. The
encoding is decided by trying UTF-8 first: GB18030 bytes of Chinese text are almost never valid UTF-8, while
every byte string decodes as GB18030, so the order matters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from jizuo.core.errors import BadRequest


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    encoding: str


def decode_text(payload: bytes) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return payload.decode(encoding), encoding.removesuffix("-sig")  # BOM or not, it is UTF-8
        except UnicodeDecodeError:
            continue
    raise BadRequest("文件编码无法识别：请使用 UTF-8 或 GB18030 编码", code="bad_encoding")


def read_csv(payload: bytes) -> Table:
    text, encoding = decode_text(payload)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise BadRequest("文件为空：至少需要表头一行", code="empty_file") from None
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    return Table([h.strip() for h in headers], rows, encoding)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(payload: bytes) -> Table:
    from openpyxl import load_workbook  # only the XLSX path pays for importing it

    try:
        workbook = load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise BadRequest(f"无法读取 Excel 文件：{type(exc).__name__}", code="bad_xlsx") from None
    sheet = workbook.worksheets[0]
    lines: Iterator[tuple[object, ...]] = sheet.iter_rows(values_only=True)
    try:
        headers = [_cell(h).strip() for h in next(lines)]
    except StopIteration:
        raise BadRequest("工作表为空：至少需要表头一行", code="empty_file") from None
    rows = [[_cell(c) for c in line] for line in lines if any(c not in (None, "") for c in line)]
    workbook.close()
    return Table(headers, rows, "xlsx")


def read_table(payload: bytes, filename: str | None, content_type: str | None) -> Table:
    name = (filename or "").lower()
    if name.endswith(".xlsx") or (content_type or "").endswith("spreadsheetml.sheet") or payload[:2] == b"PK":
        return read_xlsx(payload)
    return read_csv(payload)
