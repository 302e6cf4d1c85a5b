"""`_summary` and `_elements`: return less of each resource, marked SUBSETTED as the spec asks."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jizuo.fhir.errors import FhirError
from jizuo.fhir.validation import model_class

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
Shape = Callable[[dict[str, Any]], dict[str, Any]]


@lru_cache(maxsize=256)
def _fields(resource_type: str, flag: str) -> frozenset[str]:
    model = model_class(resource_type)
    if model is None:
        return frozenset()
    names = set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if flag == "summary" and extra.get("summary_element_property"):
            names.add(field.alias or name)
        if flag == "required" and field.is_required():
            names.add(field.alias or name)
    return frozenset(names)


def _subsetted(resource: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in resource.items() if k in keep or k in ("resourceType", "id", "meta")}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


def shaper(summary: str | None, elements: str | None) -> Shape:
    if elements:
        wanted = {e.strip() for e in elements.split(",") if e.strip()}
        return lambda r: _subsetted(r, wanted)
    match summary:
        case None | "false" | "count":
            return lambda r: r
        case "true":
            return lambda r: _subsetted(r, set(_fields(r["resourceType"], "summary")))
        case "text":
            return lambda r: _subsetted(r, {"text", *_fields(r["resourceType"], "required")})
        case "data":
            return lambda r: _subsetted(r, set(r) - {"text"})
    raise FhirError(f"_summary 只能是 true、text、data、count、false：{summary}", code="invalid_summary")
