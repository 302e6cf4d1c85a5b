"""Time: stored in UTC, shown in Asia/Shanghai. One place to ask for "now" so tests can reason about it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
