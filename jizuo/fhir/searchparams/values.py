"""Parsing of FHIR primitive values into search-index terms: strings, dates, references, decimals.

These functions are shared with the search side: a query value must go through the same normalisation and
date-range rules as the indexed value, or searches silently miss.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from jizuo.core.clock import SHANGHAI

# Date-only and zone-less values are taken as Asia/Shanghai: the zone of jizuo.core.clock, which the search
# side (jizuo.fhir.search.values) also uses for query dates. Both must agree, or `birthdate=1988-06-01` misses:
# zoneinfo applies China's 1986-1991 summer time (+09:00) and pre-1901 local mean time (+08:05:43).
LOCAL_TZ: tzinfo = SHANGHAI

# Open ends of a Period. One day inside datetime's range so that converting to another zone cannot overflow.
DATE_MIN = datetime(1, 1, 2, tzinfo=UTC)
DATE_MAX = datetime(9999, 12, 30, tzinfo=UTC)
# Past DATE_MAX, for the few real values beyond it (9999-12-31): a range must never end before it starts.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)

# Normalised strings are for equality/prefix matching (the store indexes them with btree): HAPI FHIR keeps
# 200 characters too. The exact value is kept whole.
NORMALISED_MAX = 200

_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE_REF_RE = re.compile(rf"^([A-Z][A-Za-z]+)/({_ID})(?:/_history/[^/]+)?$")
_ABSOLUTE_REF_RE = re.compile(rf"/([A-Z][A-Za-z]+)/({_ID})(?:/_history/[^/]+)?/?$")
_CJK_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff·•・]+$")


@lru_cache(maxsize=65536)
def normalise_string(value: str) -> str:
    """Casefold, strip accents (NFKD, also folds full-width ASCII), collapse whitespace; cap the length.

    Cached: one name part feeds several parameters (name, family, phonetic) and repeats across resources.
    """
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value)
        if decomposed != value:  # CJK text is already decomposed: skip the per-character pass
            value = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(value.split()).casefold()[:NORMALISED_MAX]


def is_cjk(value: str) -> bool:
    return bool(_CJK_RE.match(value))


def _clamp(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return DATE_MIN if moment.year < 5000 else _END_OF_TIME


_ZONES: dict[str, tzinfo] = {"Z": UTC, "+00:00": UTC, "-00:00": UTC}


def _zone(text: str) -> tzinfo:
    # Building a timezone per value costs more than the rest of the parse; there are few distinct offsets.
    tz = _ZONES.get(text)
    if tz is None:
        sign = -1 if text[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
        if len(_ZONES) < 512:
            _ZONES[text] = tz
    return tz


def _later(moment: datetime, step: timedelta) -> datetime:
    try:
        return moment + step
    except OverflowError:  # 9999-12-31: the range runs to the end of time
        return _END_OF_TIME


def parse_date_range(value: str) -> tuple[datetime, datetime] | None:
    """The UTC range [start, end) that a FHIR date/dateTime/instant covers at its precision; None if invalid.

    ``2020`` covers that whole year, ``2020-03`` that month, ``2020-03-05`` that day (all Asia/Shanghai unless
    a zone is given), ``…T10:00`` a minute, ``…T10:00:05`` a second, ``…T10:00:05.12`` 10 ms.
    """
    match = _DATE_RE.match(value)
    if match is None:
        return None
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = match.groups()
    year = int(year_s)
    if year == 0:
        return None
    tz = _zone(zone) if zone else LOCAL_TZ
    try:
        if month_s is None:
            start = datetime(year, 1, 1, tzinfo=tz)
            end = datetime(year + 1, 1, 1, tzinfo=tz) if year < 9999 else _END_OF_TIME
        elif day_s is None:
            month = int(month_s)
            start = datetime(year, month, 1, tzinfo=tz)
            if month == 12:
                end = datetime(year + 1, 1, 1, tzinfo=tz) if year < 9999 else _END_OF_TIME
            else:
                end = datetime(year, month + 1, 1, tzinfo=tz)
        elif hour_s is None:
            start = datetime(year, int(month_s), int(day_s), tzinfo=tz)
            end = _later(start, timedelta(days=1))
        else:
            second = int(second_s) if second_s else 0
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            start = datetime(year, int(month_s), int(day_s), int(hour_s), int(minute_s), second, micro, tzinfo=tz)
            if second_s is None:
                step = timedelta(minutes=1)
            elif fraction:
                step = timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
            else:
                step = timedelta(seconds=1)
            end = _later(start, step)
    except (ValueError, OverflowError):
        return None
    return _clamp(start), _clamp(end)


def parse_reference(reference: str) -> tuple[str | None, str | None] | None:
    """(type, id) of a literal reference; (None, None) for urn:uuid/urn:oid or unparseable; None if contained.

    ``Patient/1`` and ``Patient/1/_history/2`` -> ("Patient", "1"); ``http://x/fhir/Patient/1`` -> ("Patient",
    "1") (the caller keeps the full URL); ``#p1`` (a contained resource) -> None: it is not indexed.
    """
    if reference.startswith("#"):
        return None
    match = _RELATIVE_REF_RE.match(reference)
    if match is not None:
        return match.group(1), match.group(2)
    if reference.startswith(("http://", "https://")):
        match = _ABSOLUTE_REF_RE.search(reference)
        if match is not None:
            return match.group(1), match.group(2)
    return None, None


def to_decimal(value: object) -> Decimal | None:
    """JSON number (float/int/Decimal, never bool or str) -> Decimal via its text form, so 0.1 stays 0.1.

    Magnitudes beyond 1e±1000 are dropped: PostgreSQL numeric cannot hold some of them and no clinical value
    is that large.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    if not result.is_finite() or (result and abs(result.adjusted()) > 1000):
        return None
    return result
