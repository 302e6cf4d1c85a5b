"""Parsing search values: prefixes, escapes, dates with precision, numbers with implicit ranges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from jizuo.core.clock import SHANGHAI
from jizuo.fhir.errors import FhirError

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


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
    """The instant range a (partial) date covers: '2024-03' → [2024-03-01, 2024-04-01). No zone → Shanghai."""
    match = _DATE.match(value)
    if not match:
        raise FhirError(f"日期格式不正确：{value}（应为 YYYY、YYYY-MM、YYYY-MM-DD 或带时间的 ISO 8601）",
                        code="invalid_search_date")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = UTC if zone == "Z" else (datetime.strptime(zone, "%z").tzinfo if zone else SHANGHAI)
    try:
        if month is None:
            low = datetime(int(year), 1, 1, tzinfo=tz)
            high = low.replace(year=low.year + 1)
        elif day is None:
            low = datetime(int(year), int(month), 1, tzinfo=tz)
            high = low.replace(year=low.year + (low.month == 12), month=low.month % 12 + 1)
        elif hour is None:
            low = datetime(int(year), int(month), int(day), tzinfo=tz)
            high = low + timedelta(days=1)
        else:
            low = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                           int(float(fraction or 0) * 1_000_000), tzinfo=tz)
            high = low + (timedelta(seconds=1) if second is not None else timedelta(minutes=1))
    except ValueError as exc:
        raise FhirError(f"日期不存在：{value}", code="invalid_search_date") from exc
    return low.astimezone(UTC), high.astimezone(UTC)


def parse_number(value: str) -> tuple[Decimal, Decimal, Decimal]:
    """(value, low, high): the implicit range of its precision, e.g. 5.4 → [5.35, 5.45)."""
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise FhirError(f"不是合法的数值：{value}", code="invalid_search_number") from exc
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return number, number - half, number + half
