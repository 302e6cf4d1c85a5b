"""Parsing search values: prefixes, escapes, dates with precision, numbers with implicit ranges."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from jizuo.fhir.errors import FhirError
from jizuo.fhir.searchparams import parse_date_range as index_date_range

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def split_or(raw: str) -> list[str]:
    """Split on commas that are not escaped (`\\,`), and unescape `\\,` `\\|` `\\$` `\\\\`."""
    values, current, escaped = [], [], False
    for char in raw:
        if escaped:
            current.append(char if char in ",|$\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def split_pipe(value: str) -> tuple[str | None, str]:
    """`system|code` → (system, code); `|code` → ("", code); `code` → (None, code)."""
    if "|" not in value:
        return None, value
    system, _, code = value.partition("|")
    return system, code


def take_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and (value[2].isdigit() or value[2] in "-."):
        return value[:2], value[2:]
    return "eq", value


def parse_date_range(value: str) -> tuple[datetime, datetime]:
    """The instant range a (partial) search date covers — the same rule the index was written with."""
    covered = index_date_range(value)
    if covered is None:
        raise FhirError(f"日期格式不正确：{value}（应为 YYYY、YYYY-MM、YYYY-MM-DD 或带时间的 ISO 8601）",
                        code="invalid_search_date")
    return covered


def parse_number(value: str) -> tuple[Decimal, Decimal, Decimal]:
    """(value, low, high): the implicit range of its precision, e.g. 5.4 → [5.35, 5.45)."""
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise FhirError(f"不是合法的数值：{value}", code="invalid_search_number") from exc
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return number, number - half, number + half
