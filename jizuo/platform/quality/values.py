"""Reading a raw cell as the value its WS 363 data element describes.

Institutions send dates as 20240105, 2024-01-05 or 2024/1/5, date-times with or without seconds, booleans as
1/0/是/否/T/F. Each reader accepts those spellings and returns the normalised Python value, or raises
`ValueError` with a Chinese message naming the expected format. Readers are built once per field (a data set
is compiled, not interpreted per row) because the tabular path must sustain tens of thousands of rows/s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from jizuo.core.clock import SHANGHAI
from jizuo.platform.standards.spec import FORMAT_PATTERN, ElementSpec

Reader = Callable[[str], Any]

_BOOL = {"1": True, "0": False, "t": True, "f": False, "true": True, "false": False, "是": True, "否": False,
         "y": True, "n": False}
_DATE_SEP = re.compile(r"[-/.年月日]")


def _read_date(text: str) -> date:
    if len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    parts = [p for p in _DATE_SEP.split(text) if p]
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    raise ValueError


def _read_datetime(text: str) -> datetime:
    if len(text) >= 14 and text[:8].isdigit() and text.replace("T", "").replace(" ", "")[:14].isdigit():
        compact = text.replace("T", "").replace(" ", "")
        moment = datetime(int(compact[:4]), int(compact[4:6]), int(compact[6:8]), int(compact[8:10]),
                          int(compact[10:12]), int(compact[12:14]))
    else:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _read_time(text: str) -> time:
    if len(text) == 6 and text.isdigit():
        return time(int(text[:2]), int(text[2:4]), int(text[4:6]))
    return time.fromisoformat(text)


def _read_bool(text: str) -> bool:
    try:
        return _BOOL[text.lower()]
    except KeyError:
        raise ValueError from None


def _number_reader(max_digits: int | None, exact: bool, scale: int | None) -> Reader:
    """N formats: digits counted without sign and point; `N1` exactly one digit, `N..3` up to three, `N..5,2`
    up to five with at most two decimals. Without a scale, decimals are tolerated (lab values arrive as 5.60
    against an `N..4` element more often than not) and only the integer part is counted."""
    def read(text: str) -> float:
        value = float(text)  # accepts "12", "12.5", "-3"; rejects "12a"
        integer, _, fraction = text.lstrip("+-").partition(".")
        if scale is not None and len(fraction) > scale:
            raise ValueError
        counted = len(integer) + (len(fraction) if scale is not None else 0)
        if max_digits is not None and (counted != max_digits if exact else counted > max_digits):
            raise ValueError
        return value
    return read


def _text_reader(min_len: int | None, max_len: int | None, numeric: bool) -> Reader:
    def read(text: str) -> str:
        if numeric and not text.isdigit():
            raise ValueError
        n = len(text)
        if (max_len is not None and n > max_len) or (min_len is not None and n < min_len):
            raise ValueError
        return text
    return read


def format_description(fmt: str) -> str:
    """How a format reads in Chinese, for error messages (AN..18 → 最多18位字母数字)."""
    m = FORMAT_PATTERN.match(fmt)
    if not m:
        return fmt
    kind, ranged, low, high = m["kind"], m["range"], m["min"], m["max"]
    names = {"A": "字符", "AN": "字母数字", "N": "数字", "D": "日期(YYYYMMDD)", "DT": "日期时间(YYYYMMDDThhmmss)",
             "T": "时间(hhmmss)", "BY": "二进制"}
    name = names[kind]
    if kind in ("D", "DT", "T", "BY"):
        return name
    if high:
        return f"{low}至{high}位{name}"
    if ranged:
        return f"最多{low}位{name}" + (f"，{m['scale']}位小数" if m["scale"] else "")
    return f"{low}位{name}" + (f"，{m['scale']}位小数" if m["scale"] else "")


def reader_for(element: ElementSpec) -> Reader:
    """The reader of one element's raw text, by data type and representation format."""
    m = FORMAT_PATTERN.match(element.format)
    assert m is not None  # ElementSpec validates the format
    low = int(m["min"]) if m["min"] else None
    high = int(m["max"]) if m["max"] else None
    ranged = bool(m["range"])
    match element.type:
        case "D":
            return _read_date
        case "DT":
            return _read_datetime
        case "T":
            return _read_time
        case "L":
            return _read_bool
        case "N":
            if m["kind"] != "N":  # a numeric element with a text format (rare): treat as text
                return _text_reader(None, low if ranged else high or low, numeric=False)
            scale = int(m["scale"]) if m["scale"] else None
            return _number_reader(high or low, exact=not ranged and high is None and scale is None, scale=scale)
        case _:
            if ranged:
                min_len, max_len = (low, high) if high else (None, low)
            else:
                min_len, max_len = (low, high) if high else (low, low)
            return _text_reader(min_len, max_len, numeric=m["kind"] == "N")
