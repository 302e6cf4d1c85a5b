"""Index rows and the converters from a FHIR element value (of a known datatype) to rows.

A converter is chosen once per (parameter type, element datatype) when a parameter is compiled, so the hot
path does no type sniffing. Values that come from the fhirpathpy fallback carry no datatype; ``infer_datatype``
guesses it from the value's shape, and the same converters run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from jizuo.fhir.searchparams.values import (
    DATE_MAX,
    DATE_MIN,
    is_cjk,
    normalise_string,
    parse_date_range,
    parse_reference,
    to_decimal,
)

TokenRow = tuple[str, str | None, str | None, str | None]  # (param, system, code/value, display/text)
StringRow = tuple[str, str, str]  # (param, normalised, exact)
DateRow = tuple[str, datetime, datetime]  # (param, start inclusive, end exclusive), UTC
ReferenceRow = tuple[str, str | None, str | None, str]  # (param, target type, target id, reference as written)
QuantityRow = tuple[str, Decimal, str | None, str | None]  # (param, value, system, code or unit)
NumberRow = tuple[str, Decimal]
UriRow = tuple[str, str]


@dataclass(slots=True)
class IndexRows:
    """One list per search-index table, as tuples ready for a bulk insert."""

    tokens: list[TokenRow] = field(default_factory=list)
    strings: list[StringRow] = field(default_factory=list)
    dates: list[DateRow] = field(default_factory=list)
    references: list[ReferenceRow] = field(default_factory=list)
    quantities: list[QuantityRow] = field(default_factory=list)
    numbers: list[NumberRow] = field(default_factory=list)
    uris: list[UriRow] = field(default_factory=list)

    def dedupe(self) -> None:
        """Drop repeated rows (unions such as ``combo-code`` can reach one coding twice); keep order."""
        if len(self.tokens) > 1:
            self.tokens = list(dict.fromkeys(self.tokens))
        if len(self.strings) > 1:
            self.strings = list(dict.fromkeys(self.strings))
        if len(self.dates) > 1:
            self.dates = list(dict.fromkeys(self.dates))
        if len(self.references) > 1:
            self.references = list(dict.fromkeys(self.references))
        if len(self.quantities) > 1:
            self.quantities = list(dict.fromkeys(self.quantities))
        if len(self.numbers) > 1:
            self.numbers = list(dict.fromkeys(self.numbers))
        if len(self.uris) > 1:
            self.uris = list(dict.fromkeys(self.uris))


@dataclass(frozen=True, slots=True)
class Target:
    """What a converter needs to know about the parameter besides the value."""

    code: str
    targets: tuple[str, ...] = ()
    resolve_is: str | None = None  # from `.where(resolve() is X)`: keep only references to X


Converter = Callable[[Target, Any, IndexRows], None]

QUANTITY_TYPES = frozenset({"Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"})
DATE_TYPES = frozenset({"date", "dateTime", "instant"})
NUMBER_TYPES = frozenset({"decimal", "integer", "positiveInt", "unsignedInt"})
URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})
PRIMITIVE_TEXT_TYPES = frozenset({"string", "markdown", "code", "id", "uri", "url", "canonical", "oid", "uuid"})
CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


# --- token -----------------------------------------------------------------------------------------------
def token_coding(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is dict and isinstance(v.get("code"), str):  # a Coding without code matches no token search
        rows.tokens.append((t.code, v.get("system"), v.get("code"), v.get("display")))


def token_codeable_concept(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is not dict:
        return
    displays = []
    for coding in v.get("coding") or ():
        token_coding(t, coding, rows)
        if type(coding) is dict:
            displays.append(coding.get("display"))
    text = v.get("text")
    # CodeableConcept.text is searched with :text only; a row without code keeps it out of code matches.
    if isinstance(text, str) and text and text not in displays:
        rows.tokens.append((t.code, None, None, text))


def token_identifier(t: Target, v: Any, rows: IndexRows) -> None:
    # Identifier (system URI, value) and ContactPoint (phone|email|…, value) both index as (system, value).
    if type(v) is dict and isinstance(v.get("value"), str):
        rows.tokens.append((t.code, v.get("system"), v["value"], None))


def token_primitive(t: Target, v: Any, rows: IndexRows) -> None:
    if v is True or v is False:
        rows.tokens.append((t.code, None, "true" if v else "false", None))
    elif isinstance(v, str | int | Decimal | float):
        rows.tokens.append((t.code, None, str(v), None))


# --- string ----------------------------------------------------------------------------------------------
def _add_string(t: Target, v: Any, rows: IndexRows) -> None:
    if isinstance(v, str) and v.strip():
        rows.strings.append((t.code, normalise_string(v), v))


def string_primitive(t: Target, v: Any, rows: IndexRows) -> None:
    _add_string(t, v, rows)


def string_human_name(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is not dict:
        return
    family = v.get("family")
    given = [g for g in v.get("given") or () if isinstance(g, str)]
    _add_string(t, family, rows)
    for part in (*given, *(v.get("prefix") or ()), *(v.get("suffix") or ())):
        _add_string(t, part, rows)
    _add_string(t, v.get("text"), rows)
    # Chinese names are written and searched whole ("张伟"), family first, without a space.
    if isinstance(family, str) and given and is_cjk(family) and all(is_cjk(g) for g in given):
        _add_string(t, family + "".join(given), rows)


def string_address(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is not dict:
        return
    for line in v.get("line") or ():
        _add_string(t, line, rows)
    for key in ("city", "district", "state", "postalCode", "country", "text"):
        _add_string(t, v.get(key), rows)


# --- date ------------------------------------------------------------------------------------------------
def date_primitive(t: Target, v: Any, rows: IndexRows) -> None:
    if isinstance(v, str):
        span = parse_date_range(v)
        if span is not None:
            rows.dates.append((t.code, span[0], span[1]))


def date_period(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is not dict:
        return
    start, end = v.get("start"), v.get("end")
    if not isinstance(start, str) and not isinstance(end, str):
        return
    low = parse_date_range(start) if isinstance(start, str) else None
    high = parse_date_range(end) if isinstance(end, str) else None
    rows.dates.append((t.code, low[0] if low else DATE_MIN, high[1] if high else DATE_MAX))


def date_timing(t: Target, v: Any, rows: IndexRows) -> None:
    # Each event is a row of its own; repeat.boundsPeriod is the overall span. boundsDuration/boundsRange are
    # relative and not indexed.
    if type(v) is not dict:
        return
    for event in v.get("event") or ():
        date_primitive(t, event, rows)
    repeat = v.get("repeat")
    if type(repeat) is dict and "boundsPeriod" in repeat:
        date_period(t, repeat["boundsPeriod"], rows)


# --- reference -------------------------------------------------------------------------------------------
def _add_reference(t: Target, ref: str, rtype: str | None, rid: str | None, rows: IndexRows) -> None:
    if t.resolve_is is not None and rtype != t.resolve_is:
        return
    rows.references.append((t.code, rtype, rid, ref))


def reference_reference(t: Target, v: Any, rows: IndexRows) -> None:
    # A Reference with only an identifier (logical reference) names no resource we can join to: skipped;
    # the :identifier modifier is not supported by the index.
    if type(v) is not dict:
        return
    ref = v.get("reference")
    if not isinstance(ref, str) or not ref:
        return
    parsed = parse_reference(ref)
    if parsed is None:
        return  # contained resource "#id"
    rtype, rid = parsed
    if rtype is None and isinstance(v.get("type"), str):
        rtype = v["type"]  # urn:uuid with an explicit Reference.type
    _add_reference(t, ref, rtype, rid, rows)


def reference_canonical(t: Target, v: Any, rows: IndexRows) -> None:
    # A canonical URL is matched against the target's `url`, not its id: keep the id empty. The type is
    # the parameter's only target, or the one named in the URL's path when that is among the targets.
    if not isinstance(v, str) or not v or v.startswith("#"):
        return
    rtype: str | None = None
    if len(t.targets) == 1:
        rtype = t.targets[0]
    else:
        parsed = parse_reference(v.split("|", 1)[0])
        if parsed is not None and parsed[0] in t.targets:
            rtype = parsed[0]
    _add_reference(t, v, rtype, None, rows)


def reference_resource(t: Target, v: Any, rows: IndexRows) -> None:
    # Bundle.entry[0].resource (Bundle composition/message): the resource itself, not a Reference to it.
    if type(v) is dict and isinstance(v.get("resourceType"), str) and isinstance(v.get("id"), str):
        _add_reference(t, f"{v['resourceType']}/{v['id']}", v["resourceType"], v["id"], rows)


# --- quantity / number / uri -----------------------------------------------------------------------------
def quantity_quantity(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is dict:
        value = to_decimal(v.get("value"))
        if value is not None:
            rows.quantities.append((t.code, value, v.get("system"), v.get("code") or v.get("unit")))


def quantity_money(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is dict:
        value = to_decimal(v.get("value"))
        if value is not None:
            currency = v.get("currency")
            rows.quantities.append((t.code, value, CURRENCY_SYSTEM if currency else None, currency))


def quantity_range(t: Target, v: Any, rows: IndexRows) -> None:
    # A Range is indexed as its two end points (like HAPI FHIR): `eq` finds ranges starting or ending at the
    # value, `ge`/`le` work on the end points. There is no range-overlap search for quantities.
    if type(v) is dict:
        quantity_quantity(t, v.get("low"), rows)
        quantity_quantity(t, v.get("high"), rows)


def number_primitive(t: Target, v: Any, rows: IndexRows) -> None:
    value = to_decimal(v)
    if value is not None:
        rows.numbers.append((t.code, value))


def number_range(t: Target, v: Any, rows: IndexRows) -> None:
    if type(v) is dict:
        for end in (v.get("low"), v.get("high")):
            if type(end) is dict:
                number_primitive(t, end.get("value"), rows)


def uri_primitive(t: Target, v: Any, rows: IndexRows) -> None:
    if isinstance(v, str) and v:
        rows.uris.append((t.code, v))


_CONVERTERS: dict[str, dict[str, Converter]] = {
    "token": {
        "Coding": token_coding,
        "CodeableConcept": token_codeable_concept,
        "Identifier": token_identifier,
        "ContactPoint": token_identifier,
        "boolean": token_primitive,
        **{p: token_primitive for p in PRIMITIVE_TEXT_TYPES | NUMBER_TYPES},
    },
    "string": {
        "HumanName": string_human_name,
        "Address": string_address,
        **{p: string_primitive for p in PRIMITIVE_TEXT_TYPES},
    },
    "date": {
        **{p: date_primitive for p in DATE_TYPES},
        "Period": date_period,
        "Timing": date_timing,
    },
    "reference": {
        "Reference": reference_reference,
        "Resource": reference_resource,
        **{p: reference_canonical for p in URI_TYPES},
    },
    "quantity": {
        **{q: quantity_quantity for q in QUANTITY_TYPES},
        "Money": quantity_money,
        "Range": quantity_range,
    },
    "number": {**{n: number_primitive for n in NUMBER_TYPES}, "Range": number_range},
    "uri": {p: uri_primitive for p in PRIMITIVE_TEXT_TYPES},
}


def converter_for(param_type: str, datatype: str) -> Converter | None:
    """The converter for values of ``datatype`` under a parameter of ``param_type``; None: not indexed."""
    return _CONVERTERS.get(param_type, {}).get(datatype)


def infer_datatype(param_type: str, v: Any) -> str | None:
    """Best guess of an untyped value's FHIR datatype from its shape (for fallback results)."""
    if v is True or v is False:
        return "boolean"
    if isinstance(v, int | float | Decimal):
        return "decimal"
    if isinstance(v, str):
        return {"date": "dateTime", "reference": "canonical", "uri": "uri", "string": "string"}.get(param_type, "code")
    if type(v) is not dict:
        return None
    keys = v.keys()
    if "resourceType" in keys:
        return "Resource"
    if param_type == "reference":
        return "Reference"
    if "coding" in keys or (param_type == "token" and keys == {"text"}):
        return "CodeableConcept"
    if "currency" in keys:
        return "Money"
    if "low" in keys or "high" in keys:
        return "Range"
    if "start" in keys or "end" in keys:
        return "Period"
    if "event" in keys or "repeat" in keys:
        return "Timing"
    if keys & {"family", "given", "prefix", "suffix"} or (param_type == "string" and "text" in keys):
        return "HumanName" if not keys & {"line", "city", "postalCode", "country"} else "Address"
    if keys & {"line", "city", "district", "state", "postalCode", "country"}:
        return "Address"
    if "value" in keys and not isinstance(v["value"], str):
        return "Quantity"
    if "code" in keys or not keys & {"value", "use", "type", "assigner", "period", "rank"}:
        return "Coding" if keys & {"code", "system"} else None
    return "ContactPoint" if v.get("system") in CONTACT_SYSTEMS else "Identifier"
